// The Gradient2 limit of Netflix's concurrency-limits, for windowed samples.
import {
  BoundedLimit,
  numberIn,
  optionalInteger,
  optionsOf,
} from "./_bounded_limit.ts";
import type {
  ConcurrencyLimit,
  ConcurrencySample,
  LimitBounds,
} from "./concurrency_limit.ts";

/**
 * The options of {@linkcode gradient2}.
 *
 * @example
 * ```ts
 * import type { Gradient2Options } from "@async-io/async-io";
 *
 * const options: Gradient2Options = { rttTolerance: 2, queueSize: 8 };
 * ```
 */
export interface Gradient2Options extends LimitBounds {
  /**
   * How much of each new estimate is taken, in (0, 1]; the rest is the
   * current limit.
   *
   * @default {0.2}
   */
  smoothing?: number;
  /**
   * How many times the long-term latency the current one may reach before
   * the limit shrinks; at least 1.
   *
   * @default {1.5}
   */
  rttTolerance?: number;
  /**
   * The number of windows over which the long-term latency is averaged
   * (exponentially).
   *
   * @default {600}
   */
  longWindow?: number;
  /**
   * How many calls the estimate adds on top of the measured need, which is
   * how fast the limit grows while latency stays low. Latency does not take
   * the limit below twice this.
   *
   * @default {4}
   */
  queueSize?: number;
}

class Gradient2Limit extends BoundedLimit {
  readonly #smoothing: number;
  readonly #rttTolerance: number;
  readonly #longWindow: number;
  readonly #queueSize: number;
  /** The long-term latency: the mean of the first 10 windows, then an EMA. */
  #longRtt = 0;
  #warmupSum = 0;
  #warmup = 0;

  constructor(options: Gradient2Options) {
    super("gradient2", options, 20);
    this.#smoothing = numberIn(
      "gradient2",
      "smoothing",
      options.smoothing,
      0.2,
      (n) => n > 0 && n <= 1,
      "a number above 0 and at most 1",
    );
    this.#rttTolerance = numberIn(
      "gradient2",
      "rttTolerance",
      options.rttTolerance,
      1.5,
      (n) => n >= 1 && n < Infinity,
      "a finite number of at least 1",
    );
    this.#longWindow = optionalInteger(
      "gradient2",
      "longWindow",
      options.longWindow,
    ) ?? 600;
    this.#queueSize = numberIn(
      "gradient2",
      "queueSize",
      options.queueSize,
      4,
      (n) => n >= 0 && n < Infinity,
      "a non-negative finite number",
    );
  }

  update({ rtt, inFlight }: ConcurrencySample): void {
    // An infinite latency would stay in the long-term average for good.
    if (!(rtt > 0 && rtt < Infinity)) return;
    const longRtt = this.#addLong(rtt);
    // After a long overload the long-term latency lags far above the
    // current one: pull it down faster than the average would.
    if (longRtt / rtt > 2) this.#longRtt *= 0.95;
    if (!(inFlight >= this.estimate / 2)) return; // NaN too
    const gradient = Math.max(
      0.5,
      Math.min(1, this.#rttTolerance * longRtt / rtt),
    );
    const estimate = this.estimate;
    const next = estimate * gradient + this.#queueSize;
    this.estimate = this.clamp(
      estimate * (1 - this.#smoothing) + next * this.#smoothing,
    );
  }

  #addLong(rtt: number): number {
    if (this.#warmup < 10) {
      // As in Netflix's ExpAvgMeasurement: the warm-up mean overrides a decay.
      this.#warmupSum += rtt;
      this.#longRtt = this.#warmupSum / ++this.#warmup;
    } else {
      const factor = 2 / (this.#longWindow + 1);
      this.#longRtt = this.#longRtt * (1 - factor) + rtt * factor;
    }
    return this.#longRtt;
  }
}

/**
 * A latency-based limit that compares each window's mean latency with a
 * long-term average. The gradient `rttTolerance × longRtt / rtt`, kept
 * within [0.5, 1], scales the limit, `queueSize` is added, and the result is
 * blended in by `smoothing`: the limit grows by `smoothing × queueSize` per
 * window while latency stays within the tolerance, and shrinks in
 * proportion once it does not. The gradient takes at most half the limit
 * off and `queueSize` is added back, so latency does not take the limit
 * below 2 × `queueSize` (8 by default), whatever `min`; a lower `min` needs
 * a lower `queueSize`. Like Netflix's, it does not count drops: only
 * their latency, in the window's mean, moves it. It tolerates noisy, bursty
 * latencies.
 *
 * Defaults as in Netflix's `Gradient2Limit`: initial 20, min 20 (or a
 * lower given initial), smoothing 0.2, rttTolerance 1.5, longWindow 600,
 * queueSize 4. The default min is at most half of max, so that under a
 * small capacity the limit can still move.
 *
 * @param options The bounds and the tuning of the gradient.
 * @returns A fresh limit, to give to one stream.
 * @throws {RangeError} If a bound or a tuning value is out of range.
 * @throws {TypeError} If `options` is not an object, or a bound or a tuning
 * value is not a number.
 *
 * @example
 * ```ts
 * import { AsyncIOTransformStream, gradient2 } from "@async-io/async-io";
 *
 * const stream = new AsyncIOTransformStream(
 *   (id: number) => fetch(`http://127.0.0.1:8080/users/${id}`).then((r) => r.json()),
 *   { order: "unordered", capacity: 200, concurrency: gradient2({ min: 4, queueSize: 2 }) },
 * );
 * ```
 */
export function gradient2(options?: Gradient2Options): ConcurrencyLimit {
  return new Gradient2Limit(optionsOf<Gradient2Options>("gradient2", options));
}
