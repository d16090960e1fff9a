// The counters behind `stats`.

/**
 * Counters of a stream's work so far, read through `stream.stats`.
 *
 * @example
 * ```ts
 * import { AsyncIOTransformStream } from "@async-io/async-io";
 *
 * const stream = new AsyncIOTransformStream((n: number) => n);
 * const { inFlight, emitted, timedOut, failedAttempts } = stream.stats;
 * ```
 */
export interface AsyncIOStats {
  /**
   * Records accepted from the writable side, and the records of `restore`
   * (all of them from the start, as snapshots hold them).
   */
  readonly accepted: number;
  /**
   * Records accepted and not yet emitted: those that hold capacity, results
   * held back for a full readable side, and restored ones still waiting for
   * room. They are the records of `snapshot()`.
   */
  readonly pending: number;
  /**
   * Records whose call has started and not yet completed. Without `batch`
   * this is the number of calls in flight; with it, one call carries many.
   */
  readonly inFlight: number;
  /** Records whose results have been emitted. */
  readonly emitted: number;
  /** Output values emitted (one record may give zero or more). */
  readonly outputs: number;
  /** Records whose total `timeout` ran out. */
  readonly timedOut: number;
  /** Attempts that failed: a throw, `completeExceptionally` or `attemptTimeout`. */
  readonly failedAttempts: number;
  /**
   * Inputs that failed for good and reached `onError`: after their retries,
   * or when their timeout ran out with no fallback.
   */
  readonly failed: number;
  /** Attempts that were retries (attempt 2 and later). */
  readonly retries: number;
  /** Calls that had to wait for the rate limit before they started. */
  readonly rateLimited: number;
  /** Batch calls started, retries included; 0 without `batch`. */
  readonly batches: number;
  /**
   * Inputs sent in batch calls, a retried input once per call: the mean
   * batch size is `batchedInputs / batches`.
   */
  readonly batchedInputs: number;
  /**
   * The most calls allowed in flight now: the fixed `concurrency`, or where
   * an adaptive limit stands.
   */
  readonly concurrency: number;
}
