// The AIMD limit of Netflix's concurrency-limits, for windowed samples.
import { describe } from "./_describe.ts";
import { BoundedLimit, numberIn, optionsOf } from "./_bounded_limit.ts";
import type {
  ConcurrencyLimit,
  ConcurrencySample,
  LimitBounds,
} from "./concurrency_limit.ts";

/**
 * The options of {@linkcode aimd}.
 *
 * @example
 * ```ts
 * import type { AimdOptions } from "@async-io/async-io";
 *
 * const options: AimdOptions = { initial: 10, backoffRatio: 0.75 };
 * ```
 */
export interface AimdOptions extends LimitBounds {
  /**
   * The factor applied to the limit after a window with a drop, in
   * [0.5, 1).
   *
   * @default {0.9}
   */
  backoffRatio?: number;
  /**
   * Whether timeouts count as drops. With `false` only retryable errors
   * (say HTTP 429 or 503) make the limit back off.
   *
   * @default {true}
   */
  timeoutIsDrop?: boolean;
}

class AimdLimit extends BoundedLimit {
  readonly #backoffRatio: number;
  readonly #timeoutIsDrop: boolean;

  constructor(options: AimdOptions) {
    super("aimd", options, 20);
    this.#backoffRatio = numberIn(
      "aimd",
      "backoffRatio",
      options.backoffRatio,
      0.9,
      (n) => n >= 0.5 && n < 1,
      "a number from 0.5 up to but not including 1",
    );
    const given = options.timeoutIsDrop; // read once
    const timeoutIsDrop = given === undefined ? true : given;
    if (typeof timeoutIsDrop !== "boolean") {
      throw new TypeError(
        `Cannot create the aimd limit as timeoutIsDrop must be a boolean: current value is ${
          describe(timeoutIsDrop)
        }`,
      );
    }
    this.#timeoutIsDrop = timeoutIsDrop;
  }

  update(sample: ConcurrencySample): void {
    const limit = this.limit;
    const drops = this.#timeoutIsDrop
      ? sample.dropped
      : sample.dropped - sample.timedOut;
    if (drops > 0) {
      this.estimate = this.clamp(Math.floor(limit * this.#backoffRatio));
    } else if (sample.inFlight * 2 >= limit) {
      this.estimate = this.clamp(limit + 1);
    }
  }
}

/**
 * A loss-based limit: additive increase, multiplicative decrease. After a
 * window with a drop the limit is multiplied by `backoffRatio`; after a
 * window without one, whose calls used at least half the limit, it grows by
 * one. It ignores latency, so use it for a backend that says it is
 * overloaded with errors (HTTP 429, 503) rather than by slowing down.
 *
 * Defaults as in Netflix's `AIMDLimit`: initial 20, min 20 (or a lower
 * given initial), backoffRatio 0.9; `max` is the stream's capacity. The
 * default min is at most half of max, so that under a small capacity the
 * limit can still move.
 *
 * @param options The bounds and the back-off.
 * @returns A fresh limit, to give to one stream.
 * @throws {RangeError} If a bound or `backoffRatio` is out of range.
 * @throws {TypeError} If `options` is not an object, a bound or
 * `backoffRatio` is not a number, or `timeoutIsDrop` not a boolean.
 *
 * @example Backing off on HTTP 429s only
 * ```ts
 * import { AsyncIOTransformStream, aimd } from "@async-io/async-io";
 *
 * class TooManyRequests extends Error {}
 * const stream = new AsyncIOTransformStream(
 *   async (id: number, { signal }) => {
 *     const response = await fetch(`http://127.0.0.1:8080/users/${id}`, { signal });
 *     if (response.status === 429) throw new TooManyRequests();
 *     return await response.json();
 *   },
 *   {
 *     capacity: 200,
 *     concurrency: aimd({ min: 1, timeoutIsDrop: false }),
 *     // Only a retried error is a drop: retry the 429s, and only them.
 *     retry: {
 *       maxAttempts: 5,
 *       delay: 100,
 *       multiplier: 2,
 *       retryOnError: (error) => error instanceof TooManyRequests,
 *     },
 *   },
 * );
 * ```
 */
export function aimd(options?: AimdOptions): ConcurrencyLimit {
  return new AimdLimit(optionsOf<AimdOptions>("aimd", options));
}
