// The Vegas limit of Netflix's concurrency-limits, re-derived for windowed
// samples.
import {
  BoundedLimit,
  numberIn,
  optionsOf,
  rangeError,
} from "./_bounded_limit.ts";
import type {
  ConcurrencyLimit,
  ConcurrencySample,
  LimitBounds,
} from "./concurrency_limit.ts";

/**
 * The options of {@linkcode vegas}.
 *
 * @example
 * ```ts
 * import type { VegasOptions } from "@async-io/async-io";
 *
 * const options: VegasOptions = { alpha: 2, beta: 4 };
 * ```
 */
export interface VegasOptions extends LimitBounds {
  /**
   * Below this estimated queue (calls waiting at the backend) the limit
   * grows.
   *
   * @default {max(3, limit / 10), at most a given beta}
   */
  alpha?: number;
  /**
   * Above this estimated queue the limit shrinks.
   *
   * @default {max(6, limit / 5), at least a given alpha}
   */
  beta?: number;
}

/** The log10 step of Netflix's Vegas: 1 below 100, 2 below 1000, then √limit. */
function log10Step(limit: number): number {
  const whole = Math.floor(limit);
  return whole < 1000
    ? Math.max(1, Math.floor(Math.log10(whole)))
    : Math.floor(Math.sqrt(whole));
}

class VegasLimit extends BoundedLimit {
  readonly #alpha: number | undefined;
  readonly #beta: number | undefined;
  /** The lowest window latency seen since the last probe: no queue. */
  #rttNoLoad = 0;
  #windowsSinceProbe = 0;
  #probeJitter = 0.5 + Math.random() / 2;

  constructor(options: VegasOptions) {
    super("vegas", options, 1);
    const positive = (n: number) => n > 0 && n < Infinity;
    const { alpha, beta } = options; // each read once
    this.#alpha = alpha === undefined ? undefined : numberIn(
      "vegas",
      "alpha",
      alpha,
      0,
      positive,
      "a positive finite number",
    );
    this.#beta = beta === undefined ? undefined : numberIn(
      "vegas",
      "beta",
      beta,
      0,
      positive,
      "a positive finite number",
    );
    if (
      this.#alpha !== undefined && this.#beta !== undefined &&
      this.#beta < this.#alpha
    ) {
      throw rangeError(
        "vegas",
        `beta must be at least alpha (${this.#alpha})`,
        this.#beta,
      );
    }
  }

  update({ rtt, inFlight, dropped }: ConcurrencySample): void {
    const valid = rtt > 0 && rtt < Infinity;
    // A dropped call's latency is its own (a fast 503, a timeout), not the
    // backend's service time: such a window shrinks the limit and teaches
    // no no-load latency, which fast failures would set far too low.
    if (dropped > 0) {
      this.#windowsSinceProbe++;
      const known = valid && this.#rttNoLoad > 0 && rtt > this.#rttNoLoad;
      return this.#shrink(known ? this.#queue(rtt) : 0);
    }
    if (!valid) return;
    // Re-learn the no-load latency now and then, in case the backend's
    // own latency rose for good.
    if (
      ++this.#windowsSinceProbe >= this.#probeJitter * 30 * this.estimate
    ) {
      this.#probeJitter = 0.5 + Math.random() / 2;
      this.#windowsSinceProbe = 0;
      this.#rttNoLoad = rtt;
      return;
    }
    if (this.#rttNoLoad === 0 || rtt < this.#rttNoLoad) {
      this.#rttNoLoad = rtt;
      return;
    }
    const limit = this.limit;
    const step = log10Step(limit);
    const queue = this.#queue(rtt);
    const [alpha, beta] = this.#thresholds(limit);
    // One window stands for many per-call steps: shrink the queue back to
    // beta at once, and grow by alpha (beta with no queue at all), where
    // Netflix steps by log10(limit) per call.
    let next: number;
    if (queue > beta) {
      return this.#shrink(queue);
    } else if (!(inFlight * 2 >= limit)) { // NaN too
      return;
    } else if (queue <= step) {
      next = this.estimate + beta;
    } else if (queue < alpha) {
      next = this.estimate + Math.max(step, alpha);
    } else {
      return;
    }
    this.estimate = this.clamp(next);
  }

  /**
   * Little's law: what is in flight beyond what the backend serves without
   * queueing.
   */
  #queue(rtt: number): number {
    return Math.ceil(this.estimate * (1 - this.#rttNoLoad / rtt));
  }

  /** alpha and beta at `limit`: a default never crosses a given one. */
  #thresholds(limit: number): [alpha: number, beta: number] {
    const alpha = this.#alpha ??
      Math.min(Math.max(3, limit / 10), this.#beta ?? Infinity);
    return [alpha, this.#beta ?? Math.max(6, limit / 5, alpha)];
  }

  /** Shrinks the queue back to beta, by at least the log10 step. */
  #shrink(queue: number): void {
    const limit = this.limit;
    const excess = queue - this.#thresholds(limit)[1];
    this.estimate = this.clamp(
      this.estimate - Math.max(log10Step(limit), excess),
    );
  }
}

/**
 * A latency-based limit after TCP Vegas. It takes the lowest window
 * latency as the latency without queueing, estimates how many calls wait at
 * the backend as `limit × (1 − rttNoLoad / rtt)`, and grows while that
 * queue is below `alpha`, by `beta` at once when there is no queue at all,
 * and shrinks when it is above `beta` or calls were dropped. A window with
 * drops never sets the no-load latency: fast failures would make every
 * later latency look like a queue. It suits a backend whose latency is
 * steady until it queues.
 *
 * Defaults from Netflix's `VegasLimit`: initial 20, min 1, alpha
 * max(3, 10% of the limit) and beta max(6, 20% of the limit) as its
 * documentation gives them, a new no-load latency probed every 15 to 30 ×
 * limit windows. Netflix steps by log10(limit) per call; a window stands
 * for many calls, so here one window grows the limit by alpha (by beta when
 * there is no queue at all) and shrinks it by the excess queue above beta,
 * each by at least that step. Its code uses 3·log10(limit) and
 * 6·log10(limit), which a window's mean latency cannot resolve beyond about
 * 70 calls: the noise alone looks like a queue of 3.
 *
 * @param options The bounds and the queue thresholds.
 * @returns A fresh limit, to give to one stream.
 * @throws {RangeError} If a bound, `alpha` or `beta` is out of range.
 * @throws {TypeError} If `options` is not an object, or a bound, `alpha` or
 * `beta` is not a number.
 *
 * @example
 * ```ts
 * import { AsyncIOTransformStream, vegas } from "@async-io/async-io";
 *
 * const stream = new AsyncIOTransformStream(
 *   (id: number) => fetch(`http://127.0.0.1:8080/users/${id}`).then((r) => r.json()),
 *   { order: "unordered", capacity: 200, concurrency: vegas() },
 * );
 * ```
 */
export function vegas(options?: VegasOptions): ConcurrencyLimit {
  return new VegasLimit(optionsOf<VegasOptions>("vegas", options));
}
