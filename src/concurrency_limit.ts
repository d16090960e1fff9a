// Adaptive concurrency limits: the interface that the stream drives, and the
// bounds that the built-ins (aimd.ts, vegas.ts, gradient2.ts) share.

/**
 * What the stream tells a {@linkcode ConcurrencyLimit} about one window of
 * calls. A window closes once it spans at least one second and holds at
 * least ten samples, whichever takes longer. Each attempt is a sample, the
 * retries of an input included; with `batch`, each input of a batch call is
 * one, timed from the call's start to its own result, so one call of ten
 * inputs is ten samples.
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
  /** How many samples the window holds: attempts, or with `batch` inputs. */
  readonly calls: number;
  /**
   * How many of them were dropped: they timed out (`timeout`,
   * `attemptTimeout`, or a `TimeoutError`), or failed with an error that the
   * retry predicate retries while attempts are left.
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
   * throw a `RangeError` when the given `max`, `min` or `initial` exceeds
   * it, or when it is not a positive integer (a `TypeError` for what is not
   * a number).
   */
  bind?(capacity: number): void;
}

/** The bounds that every built-in limit takes. */
export interface LimitBounds {
  /**
   * The limit before the first window closes.
   *
   * @default {20, kept within min and max}
   */
  initial?: number;
  /**
   * The lowest limit.
   *
   * @default {1 for vegas(), 20 for aimd() and gradient2(), at most initial and half of max}
   */
  min?: number;
  /**
   * The highest limit; it may not exceed the stream's `capacity`.
   *
   * @default {the stream's capacity}
   */
  max?: number;
}
