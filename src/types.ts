// The options of AsyncIOTransformStream and mapAsync. Public types only:
// they hold no logic.
import type { AsyncIOState } from "./async_io_state.ts";
import type { BatchOptions } from "./batch_function.ts";
import type { ResultFuture } from "./call_context.ts";
import type { CheckpointBarrier } from "./checkpoint_barrier.ts";
import type { ConcurrencyLimit } from "./concurrency_limit.ts";
import type { ErrorHandler } from "./error_policy.ts";
import type {
  OutputOrder,
  RateLimitOptions,
  RetryOptions,
} from "./policy_options.ts";

/**
 * The options of `AsyncIOTransformStream`. Each one, nested ones included, is
 * read once with a plain get, so an inherited one counts and a getter runs
 * once. A numeric option that is not a number at all, or a required one left
 * out, is a `TypeError`; a number out of range is a `RangeError`.
 *
 * @typeParam I The type of the inputs.
 * @typeParam O The type of the outputs.
 * @typeParam M The marker chunks that pass through (`Watermark`,
 * `CheckpointBarrier`); `never` when none are used.
 * @typeParam E `"settle"` to allow `onError: "settle"`, whose stream emits
 * `Settled` records; `"fail"` otherwise (handlers are allowed either way).
 *
 * @example
 * ```ts
 * import type { AsyncIOOptions } from "@async-io/async-io";
 *
 * const options: AsyncIOOptions<string, string> = {
 *   order: "unordered",
 *   capacity: 50,
 *   timeout: 2_000,
 *   retry: { maxAttempts: 3, delay: 100, multiplier: 2 },
 * };
 * ```
 */
export interface AsyncIOOptions<
  I,
  O,
  M = never,
  E extends "fail" | "settle" = "fail",
> {
  /**
   * The order in which results leave the stream.
   *
   * @default {"ordered"}
   */
  order?: OutputOrder;
  /**
   * The most inputs that may be accepted but not yet emitted, watermarks
   * included: completed results that wait for their turn, or for room on a
   * full readable side, count. At capacity the stream accepts no more input,
   * so the source is backpressured. It also bounds the calls in flight.
   *
   * @default {100}
   */
  capacity?: number;
  /**
   * The most calls in flight at once. Below `capacity`, the rest of the
   * capacity holds completed results waiting for their turn (ordered mode),
   * so a slow call at the head does not stop new calls from starting, as
   * with `Readable.map`'s `concurrency` or p-map's `concurrency` and
   * `backpressure`. With `batch`, it counts batch calls, not inputs.
   *
   * A {@linkcode ConcurrencyLimit} (`aimd()`, `vegas()`, `gradient2()` or
   * your own) finds the number as it goes, from each attempt's latency and
   * drops, and keeps it within `capacity`. `stream.setConcurrency(n)` fixes
   * it at run time.
   *
   * @default {capacity}
   */
  concurrency?: number | ConcurrencyLimit;
  /**
   * The total time budget of one input in milliseconds, from its first call
   * and over all its attempts. When it runs out the call's signal aborts with
   * a `TimeoutError`, then the timeout handler runs.
   *
   * @default {Infinity}
   */
  timeout?: number;
  /**
   * The time budget of one attempt in milliseconds. When it runs out that
   * attempt's signal aborts with a `TimeoutError` and the attempt counts as
   * failed, so it may be retried.
   *
   * @default {Infinity}
   */
  attemptTimeout?: number;
  /**
   * The timeout handler for the function form (the object form uses its own
   * `timeout` method), called when `timeout` runs out: without a `timeout`
   * it is a `TypeError`. It may complete the element with a fallback.
   */
  onTimeout?: (input: I, result: ResultFuture<O>) => void | Promise<void>;
  /**
   * What happens to an input that failed for good: after its retries, or
   * when its `timeout` ran out with no fallback. A stop (cancel, abort, a
   * signal) is never routed here. A recovered, settled or dropped input
   * counts as emitted: it leaves `snapshot()`.
   *
   * @default {"fail"}
   */
  onError?: E | ErrorHandler<I, O>;
  /** Retries failed or unwanted attempts. By default nothing is retried. */
  retry?: RetryOptions<I, O>;
  /**
   * The key of an input; required by `order: "key-ordered"`, and unused by
   * the other orders (an `"unordered"` stream with a `key` does not keep
   * each key's order).
   */
  key?: (input: I) => unknown;
  /** Limits how often calls start. By default there is no limit. */
  rateLimit?: RateLimitOptions;
  /** Aborting it cancels the stream with the signal's reason. */
  signal?: AbortSignal;
  /**
   * A snapshot to resume from: its inputs are called before any new input
   * (of their key, in `"key-ordered"` mode).
   */
  restore?: AsyncIOState<I>;
  /**
   * Called with the snapshot taken at each `CheckpointBarrier`, whose entries
   * hold the inputs themselves: serialize or copy it before keeping it if
   * `fn` changes its input. If it returns a promise, no further input is
   * accepted until it settles; the barrier goes downstream at once.
   */
  onCheckpoint?: (
    state: AsyncIOState<I>,
    barrier: CheckpointBarrier,
  ) => void | Promise<void>;
  /**
   * The queuing strategy of the writable side.
   *
   * @default {{ highWaterMark: 1 }}
   */
  writableStrategy?: QueuingStrategy<I | M>;
  /**
   * The queuing strategy of the readable side. While it is full, results
   * wait in the stream, unemitted (in `snapshot()`, and taking capacity),
   * and no input is accepted: it holds at most its `highWaterMark`, plus the
   * rest of one input's outputs, which leave together.
   *
   * @default {{ highWaterMark: 1 }}
   */
  readableStrategy?: QueuingStrategy<O | M>;
}

/**
 * The options of a batching `AsyncIOTransformStream`: those of
 * {@linkcode AsyncIOOptions}, with `batch` set.
 *
 * @typeParam I The type of the inputs.
 * @typeParam O The type of the outputs.
 * @typeParam M The marker chunks that pass through.
 * @typeParam E The error policy, as in {@linkcode AsyncIOOptions}.
 *
 * @example
 * ```ts
 * import type { AsyncIOBatchOptions } from "@async-io/async-io";
 *
 * const options: AsyncIOBatchOptions<string, string> = {
 *   batch: { maxSize: 100, maxWait: 10 },
 *   concurrency: 4,
 *   capacity: 1_000,
 * };
 * ```
 */
export interface AsyncIOBatchOptions<
  I,
  O,
  M = never,
  E extends "fail" | "settle" = "fail",
> extends AsyncIOOptions<I, O, M, E> {
  /**
   * Sends many inputs per call: `fn` is then a `BatchMapper` or an
   * `AsyncBatchFunction`.
   */
  batch: BatchOptions;
}
