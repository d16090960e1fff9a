// Adaptive concurrency limits: the public interface and the three built-in
// algorithms of Netflix's concurrency-limits (AIMD, Vegas, Gradient2),
// re-derived for windowed samples.
import { describe } from "./_describe.ts";

/**
 * What the stream tells a {@linkcode ConcurrencyLimit} about one window of
 * calls. A window closes once it spans at least one second and holds at
 * least ten calls, whichever takes longer; each attempt of a retried input
 * counts as one call.
 *
 * @example A sample of a calm window
 * ```ts
 * import type { ConcurrencySample } from "@async-io/async-io";
 *
 * const sample: ConcurrencySample = {
 *   rtt: 42.5,
 *   inFlight: 18,
 *   calls: 410,
 *   dropped: 0,
 *   timedOut: 0,
 * };
 * ```
 */
export interface ConcurrencySample {
  /** The mean time of the window's calls in milliseconds, drops included. */
  readonly rtt: number;
  /**
   * The most calls that were in flight when one of the window's calls
   * started, that call included.
   */
  readonly inFlight: number;
  /** How many calls ended in the window. */
  readonly calls: number;
  /**
   * How many of them were dropped: they timed out (`timeout`,
   * `attemptTimeout`, or a `TimeoutError`), or failed with an error that the
   * retry predicate retries.
   */
  readonly dropped: number;
  /** How many of the dropped calls timed out. */
  readonly timedOut: number;
}

/**
 * Decides how many calls a stream may have in flight, from what it observes.
 * Pass one as the `concurrency` option of `AsyncIOTransformStream`; the
 * built-ins are {@linkcode aimd}, {@linkcode vegas} and {@linkcode gradient2}.
 *
 * The stream reads `limit` once at construction and after each
 * {@linkcode ConcurrencyLimit.update}. It rounds the value down and keeps
 * it within 1 and its `capacity`, and it does not raise it after a window
 * whose `inFlight` was below half the limit: an under-used limit says
 * nothing about the backend. Lowering it never aborts running calls; new
 * calls wait until fewer than `limit` are in flight.
 *
 * A limit holds state: give each stream its own.
 *
 * @example A limit that halves on any drop and otherwise grows by one
 * ```ts
 * import type { ConcurrencyLimit, ConcurrencySample } from "@async-io/async-io";
 * import assert from "node:assert/strict";
 *
 * class Halving implements ConcurrencyLimit {
 *   limit = 10;
 *   update(sample: ConcurrencySample): void {
 *     this.limit = sample.dropped > 0 ? Math.max(1, this.limit / 2) : this.limit + 1;
 *   }
 * }
 * const halving = new Halving();
 * halving.update({ rtt: 30, inFlight: 10, calls: 300, dropped: 2, timedOut: 2 });
 * assert.equal(halving.limit, 5);
 * ```
 */
export interface ConcurrencyLimit {
  /** The most calls that may be in flight now. */
  readonly limit: number;
  /** Takes the sample of one closed window. A throw fails the stream. */
  update(sample: ConcurrencySample): void;
  /**
   * Optional: called by the stream's constructor with its `capacity`, before
   * any sample. The built-ins take it as `max` when none was given, and
   * throw a `RangeError` when the given `max` exceeds it.
   */
  bind?(capacity: number): void;
}

/** The bounds that every built-in limit takes. */
export interface LimitBounds {
  /**
   * The limit before the first window closes.
   *
   * @default {20}
   */
  initial?: number;
  /**
   * The lowest limit.
   *
   * @default {1 for vegas(), 20 for aimd() and gradient2(), at most max}
   */
  min?: number;
  /**
   * The highest limit; it may not exceed the stream's `capacity`.
   *
   * @default {the stream's capacity}
   */
  max?: number;
}

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
   * @default {max(3, limit / 10)}
   */
  alpha?: number;
  /**
   * Above this estimated queue the limit shrinks.
   *
   * @default {max(6, limit / 5)}
   */
  beta?: number;
}

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
   * how fast the limit grows while latency stays low.
   *
   * @default {4}
   */
  queueSize?: number;
}

function rangeError(name: string, what: string, value: unknown): RangeError {
  return new RangeError(
    `Cannot create the ${name} limit as ${what}: current value is ${
      describe(value)
    }`,
  );
}

function optionsOf<T extends object>(name: string, options: unknown): T {
  if (options === undefined) return {} as T;
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot create the ${name} limit as options must be an object: current value is ${
        describe(options)
      }`,
    );
  }
  return options as T;
}

function optionalInteger(
  name: string,
  field: string,
  value: unknown,
): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw rangeError(name, `${field} must be a positive integer`, value);
  }
  return value;
}

function numberIn(
  name: string,
  field: string,
  value: unknown,
  fallback: number,
  accepts: (n: number) => boolean,
  range: string,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !accepts(value)) {
    throw rangeError(name, `${field} must be ${range}`, value);
  }
  return value;
}

/** The log10 step of Netflix's Vegas: 1 below 100, 2 below 1000, then √limit. */
function log10Step(limit: number): number {
  const whole = Math.floor(limit);
  return whole < 1000
    ? Math.max(1, Math.floor(Math.log10(whole)))
    : Math.floor(Math.sqrt(whole));
}

/**
 * The bounds shared by the built-ins. `max` is known only once the stream
 * binds its capacity, so the defaults of `min` and `initial`, which must
 * not exceed it, are settled then.
 */
abstract class BoundedLimit implements ConcurrencyLimit {
  readonly #name: string;
  readonly #initial: number | undefined;
  readonly #defaultMin: number;
  readonly #givenMin: number | undefined;
  readonly #givenMax: number | undefined;
  protected min: number;
  protected max: number;
  /** The estimate, kept fractional as the published algorithms do. */
  protected estimate: number;

  constructor(name: string, bounds: LimitBounds, defaultMin: number) {
    this.#name = name;
    const initial = optionalInteger(name, "initial", bounds.initial);
    const min = optionalInteger(name, "min", bounds.min);
    const max = optionalInteger(name, "max", bounds.max);
    if (min !== undefined && max !== undefined && min > max) {
      throw rangeError(name, `min must not exceed max (${max})`, min);
    }
    if (initial !== undefined) {
      if (min !== undefined && initial < min) {
        throw rangeError(
          name,
          `initial must be at least min (${min})`,
          initial,
        );
      }
      if (max !== undefined && initial > max) {
        throw rangeError(name, `initial must not exceed max (${max})`, initial);
      }
    }
    this.#initial = initial;
    this.#defaultMin = defaultMin;
    this.#givenMin = min;
    this.#givenMax = max;
    this.max = max ?? Infinity;
    this.min = min ?? Math.min(defaultMin, this.max);
    this.estimate = this.#clamp(initial ?? 20);
  }

  get limit(): number {
    return Math.floor(this.estimate);
  }

  bind(capacity: number): void {
    const given = {
      max: this.#givenMax,
      min: this.#givenMin,
      initial: this.#initial,
    };
    for (const [field, value] of Object.entries(given)) {
      if (value !== undefined && value > capacity) {
        throw new RangeError(
          `Cannot bind the ${this.#name} limit to capacity ${capacity} as ${field} must not exceed it: current value is ${value}`,
        );
      }
    }
    // Bound twice (by two streams), it keeps within the smaller capacity.
    this.max = Math.min(given.max ?? capacity, this.max, capacity);
    this.min = this.#givenMin ?? Math.min(this.#defaultMin, this.max);
    this.estimate = this.#clamp(this.estimate);
  }

  abstract update(sample: ConcurrencySample): void;

  protected clamp(value: number): number {
    return this.#clamp(value);
  }

  #clamp(value: number): number {
    return Math.max(this.min, Math.min(this.max, value));
  }
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
    const timeoutIsDrop = options.timeoutIsDrop ?? true;
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
    this.#alpha = options.alpha === undefined ? undefined : numberIn(
      "vegas",
      "alpha",
      options.alpha,
      0,
      positive,
      "a positive finite number",
    );
    this.#beta = options.beta === undefined ? undefined : numberIn(
      "vegas",
      "beta",
      options.beta,
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
    if (!(rtt > 0)) return;
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
    // Little's law: what is in flight beyond what the backend serves
    // without queueing.
    const queue = Math.ceil(this.estimate * (1 - this.#rttNoLoad / rtt));
    const alpha = this.#alpha ?? Math.max(3, limit / 10);
    const beta = this.#beta ?? Math.max(6, limit / 5);
    // One window stands for many per-call steps: shrink the queue back to
    // beta at once, and grow by alpha (beta with no queue at all), where
    // Netflix steps by log10(limit) per call.
    let next: number;
    if (dropped > 0 || queue > beta) {
      next = this.estimate - Math.max(step, queue - beta);
    } else if (inFlight * 2 < limit) {
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
    if (!(rtt > 0)) return;
    const longRtt = this.#addLong(rtt);
    // After a long overload the long-term latency lags far above the
    // current one: pull it down faster than the average would.
    if (longRtt / rtt > 2) this.#longRtt *= 0.95;
    if (inFlight < this.estimate / 2) return;
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
 * A loss-based limit: additive increase, multiplicative decrease. After a
 * window with a drop the limit is multiplied by `backoffRatio`; after a
 * window without one, whose calls used at least half the limit, it grows by
 * one. It ignores latency, so use it for a backend that says it is
 * overloaded with errors (HTTP 429, 503) rather than by slowing down.
 *
 * Defaults as in Netflix's `AIMDLimit`: initial 20, min 20, backoffRatio
 * 0.9; `max` is the stream's capacity.
 *
 * @param options The bounds and the back-off.
 * @returns A fresh limit, to give to one stream.
 * @throws {RangeError} If a bound or `backoffRatio` is out of range.
 * @throws {TypeError} If `options` is not an object or `timeoutIsDrop` not a boolean.
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
 *     retry: { maxAttempts: 5, delay: 100, multiplier: 2 },
 *   },
 * );
 * ```
 */
export function aimd(options?: AimdOptions): ConcurrencyLimit {
  return new AimdLimit(optionsOf<AimdOptions>("aimd", options));
}

/**
 * A latency-based limit after TCP Vegas. It takes the lowest window
 * latency as the latency without queueing, estimates how many calls wait at
 * the backend as `limit × (1 − rttNoLoad / rtt)`, and grows while that
 * queue is below `alpha`, by `beta` at once when there is no queue at all,
 * and shrinks when it is above `beta` or calls were dropped. It suits a
 * backend whose latency is steady until it queues.
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
 * @throws {TypeError} If `options` is not an object.
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

/**
 * A latency-based limit that compares each window's mean latency with a
 * long-term average. The gradient `rttTolerance × longRtt / rtt`, kept
 * within [0.5, 1], scales the limit, `queueSize` is added, and the result is
 * blended in by `smoothing`: the limit grows by `smoothing × queueSize` per
 * window while latency stays within the tolerance, and shrinks in
 * proportion once it does not. It tolerates noisy, bursty latencies.
 *
 * Defaults as in Netflix's `Gradient2Limit`: initial 20, min 20, smoothing
 * 0.2, rttTolerance 1.5, longWindow 600, queueSize 4.
 *
 * @param options The bounds and the tuning of the gradient.
 * @returns A fresh limit, to give to one stream.
 * @throws {RangeError} If a bound or a tuning value is out of range.
 * @throws {TypeError} If `options` is not an object.
 *
 * @example
 * ```ts
 * import { AsyncIOTransformStream, gradient2 } from "@async-io/async-io";
 *
 * const stream = new AsyncIOTransformStream(
 *   (id: number) => fetch(`http://127.0.0.1:8080/users/${id}`).then((r) => r.json()),
 *   { order: "unordered", capacity: 200, concurrency: gradient2({ min: 5 }) },
 * );
 * ```
 */
export function gradient2(options?: Gradient2Options): ConcurrencyLimit {
  return new Gradient2Limit(optionsOf<Gradient2Options>("gradient2", options));
}
