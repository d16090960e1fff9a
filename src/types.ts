// Public types of the async I/O operator. They hold no logic.
import type { CheckpointBarrier } from "./checkpoint_barrier.ts";
import type { ConcurrencyLimit } from "./concurrency_limit.ts";

/**
 * The per-call context that the function form ({@linkcode Mapper}) receives:
 * a plain object whose own properties are `signal` and `attempt`.
 *
 * @example Passing the signal on to `fetch`
 * ```ts
 * import type { CallContext } from "@async-io/async-io";
 *
 * async function lookup(id: string, { signal, attempt }: CallContext) {
 *   const response = await fetch(`http://127.0.0.1:8080/users/${id}`, { signal });
 *   return { id, attempt, user: await response.json() };
 * }
 * ```
 */
export interface CallContext {
  /**
   * Aborts when this attempt must stop: on timeout (a `DOMException` named
   * `"TimeoutError"`), on cancel (the cancel reason) and when another element
   * fails (that element's error). When the stream has no `timeout`,
   * `attemptTimeout` or `retry`, calls started together may share one signal,
   * which then aborts only when the whole stream stops.
   */
  readonly signal: AbortSignal;
  /** The number of this attempt, counted from 1. */
  readonly attempt: number;
}

/**
 * The handle through which the object form of an async function hands back
 * its results, as in Flink's `ResultFuture`. The first completion wins:
 * every later call is ignored, without a throw and without duplicate output.
 *
 * @typeParam O The type of the outputs.
 *
 * @example Completing from a callback-style client
 * ```ts
 * import type { ResultFuture } from "@async-io/async-io";
 *
 * function answer(result: ResultFuture<string>, found: string | null) {
 *   // `[]` emits nothing but frees the slot.
 *   result.complete(found === null ? [] : [found]);
 * }
 * ```
 */
export interface ResultFuture<O> extends CallContext {
  /**
   * Completes the element with zero or more outputs, which are emitted
   * together and in the order given. A value that is not iterable fails the
   * element with a `TypeError`.
   */
  complete(results: Iterable<O>): void;
  /** Completes the element with an error, which fails the stream. */
  completeExceptionally(error: unknown): void;
}

/**
 * Flink's `AsyncFunction` shape: zero or more outputs per input, delivered
 * through a {@linkcode ResultFuture}.
 *
 * @typeParam I The type of the inputs.
 * @typeParam O The type of the outputs.
 *
 * @example A lookup that may find nothing
 * ```ts
 * import type { AsyncFunction } from "@async-io/async-io";
 *
 * const table = new Map([["a", 1]]);
 * const lookup: AsyncFunction<string, [string, number]> = {
 *   asyncInvoke(key, result) {
 *     const value = table.get(key);
 *     result.complete(value === undefined ? [] : [[key, value]]);
 *   },
 *   timeout(key, result) {
 *     result.complete([[key, -1]]);
 *   },
 * };
 * ```
 */
export interface AsyncFunction<I, O> {
  /**
   * Starts the call for one input. A synchronous throw or a rejected
   * returned promise counts as `completeExceptionally`.
   */
  asyncInvoke(input: I, result: ResultFuture<O>): void | Promise<void>;
  /**
   * Called when the element's `timeout` budget runs out, after its signal
   * aborted. It may complete the element with a fallback, synchronously or
   * before a promise it returns settles; otherwise the stream errors with a
   * `TimeoutError`.
   */
  timeout?(input: I, result: ResultFuture<O>): void | Promise<void>;
  /** Awaited once, before the first call. */
  open?(): void | Promise<void>;
  /** Called exactly once: on end of input, on error or on cancel. */
  close?(): void | Promise<void>;
}

/**
 * The function form: one output per input, returned or awaited. A throw or a
 * rejection counts as `completeExceptionally`. Its context is a plain object
 * whose own properties are `signal` and `attempt`.
 *
 * @typeParam I The type of the inputs.
 * @typeParam O The type of the outputs.
 *
 * @example
 * ```ts
 * import type { Mapper } from "@async-io/async-io";
 *
 * const double: Mapper<number, number> = async (n) => n * 2;
 * ```
 */
export type Mapper<I, O> = (
  input: I,
  context: CallContext,
) => O | PromiseLike<O>;

/**
 * The batch function form: one call for a batch of inputs. It returns, or
 * resolves to, an array with one output per input, position by position;
 * an array of another length fails every input of the batch with a
 * `TypeError`. A throw or a rejection fails every input of the batch.
 * The context's `attempt` is the highest attempt number among the inputs.
 *
 * @typeParam I The type of the inputs.
 * @typeParam O The type of the outputs.
 *
 * @example
 * ```ts
 * import type { BatchMapper } from "@async-io/async-io";
 *
 * const squares: BatchMapper<number, number> = async (ns) => ns.map((n) => n * n);
 * ```
 */
export type BatchMapper<I, O> = (
  inputs: I[],
  context: CallContext,
) => readonly O[] | PromiseLike<readonly O[]>;

/**
 * The batch object form, after Flink's `AsyncBatchFunction`: one call for a
 * batch of inputs, with one {@linkcode ResultFuture} per input, position by
 * position. Each input completes on its own, with zero or more outputs or an
 * error; the futures share the call's signal.
 *
 * @typeParam I The type of the inputs.
 * @typeParam O The type of the outputs.
 *
 * @example A bulk lookup where a missing key gives no output
 * ```ts
 * import type { AsyncBatchFunction } from "@async-io/async-io";
 *
 * const table = new Map([["a", 1], ["b", 2]]);
 * const lookup: AsyncBatchFunction<string, number> = {
 *   asyncInvokeBatch(keys, futures) {
 *     keys.forEach((key, i) => {
 *       const value = table.get(key);
 *       futures[i]!.complete(value === undefined ? [] : [value]);
 *     });
 *   },
 * };
 * ```
 */
export interface AsyncBatchFunction<I, O> {
  /**
   * Starts one call for `inputs`. A synchronous throw or a rejected returned
   * promise fails each input whose future is not complete yet.
   */
  asyncInvokeBatch(
    inputs: I[],
    futures: ResultFuture<O>[],
  ): void | Promise<void>;
  /**
   * Called for one input whose `timeout` budget ran out; the other inputs of
   * its batch are not affected. As `AsyncFunction.timeout`.
   */
  timeout?(input: I, result: ResultFuture<O>): void | Promise<void>;
  /** Awaited once, before the first call. */
  open?(): void | Promise<void>;
  /** Called exactly once: on end of input, on error or on cancel. */
  close?(): void | Promise<void>;
}

/**
 * Batching: many inputs per call. Each input stays its own element for
 * ordering, `capacity`, snapshots, `timeout` and retries; a batch is one
 * call for `concurrency` and `rateLimit`.
 *
 * A batch closes when it holds `maxSize` inputs, `maxWait` ms after its
 * first input, at a `Watermark`, at end of input, and when the stream is at
 * capacity with no call in flight (nothing else could make room).
 *
 * @example Up to 50 keys per call, waiting at most 5 ms to fill a batch
 * ```ts
 * import type { BatchOptions } from "@async-io/async-io";
 *
 * const batch: BatchOptions = { maxSize: 50, maxWait: 5 };
 * ```
 */
export interface BatchOptions {
  /** The most inputs per call: a positive integer, at most `capacity`. */
  maxSize: number;
  /**
   * How long a batch waits for more inputs after its first one, in ms: a
   * non-negative number. `0` closes it on the next macrotask, with the inputs
   * that arrived meanwhile; `Infinity` waits for `maxSize` or another reason
   * to close.
   */
  maxWait: number;
}

/**
 * How results leave the stream.
 *
 * - `"ordered"`: in input order.
 * - `"unordered"`: as soon as each call completes.
 * - `"key-ordered"`: one call in flight per key (`options.key`); each key's
 *   outputs stay in input order, and different keys overtake each other.
 *
 * @example
 * ```ts
 * import type { OutputOrder } from "@async-io/async-io";
 *
 * const order: OutputOrder = "unordered";
 * ```
 */
export type OutputOrder = "ordered" | "unordered" | "key-ordered";

/**
 * Retries with exponential backoff. The delay before attempt n+1 is
 * `min(delay * multiplier ** (n - 1), maxDelay)`, of which the fraction
 * `jitter` is randomised.
 *
 * @typeParam I The type of the inputs.
 * @typeParam O The type of the outputs.
 *
 * @example Three calls at most, 100 ms then 200 ms apart
 * ```ts
 * import type { RetryOptions } from "@async-io/async-io";
 *
 * const retry: RetryOptions<string, string> = {
 *   maxAttempts: 3,
 *   delay: 100,
 *   multiplier: 2,
 *   retryOnResult: (results) => results.length === 0,
 * };
 * ```
 */
export interface RetryOptions<I, O> {
  /**
   * The most calls per element, the first one included (Flink's
   * `maxAttempts` of N means N + 1 calls; here it means N).
   */
  maxAttempts: number;
  /**
   * The delay before the second attempt, in milliseconds.
   *
   * @default {0}
   */
  delay?: number;
  /**
   * The factor by which each further delay grows.
   *
   * @default {1}
   */
  multiplier?: number;
  /**
   * The longest delay, in milliseconds.
   *
   * @default {Infinity}
   */
  maxDelay?: number;
  /**
   * The fraction of each delay, in [0, 1], that is randomised: a delay `d`
   * becomes a uniform draw from `[d * (1 - jitter), d]`.
   *
   * @default {0}
   */
  jitter?: number;
  /**
   * Whether a failed attempt is retried. By default every error is retried
   * except the stream's own cancel reason and total-timeout error.
   */
  retryOnError?: (error: unknown, input: I) => boolean;
  /**
   * Whether a completed attempt is retried, for example on an empty result.
   * By default no result is retried.
   */
  retryOnResult?: (results: readonly O[], input: I) => boolean;
}

/**
 * No more than `limit` calls, retries included, start in any window of
 * `interval` milliseconds.
 *
 * @example Ten calls per second
 * ```ts
 * import type { RateLimitOptions } from "@async-io/async-io";
 *
 * const rateLimit: RateLimitOptions = { limit: 10, interval: 1_000 };
 * ```
 */
export interface RateLimitOptions {
  /** The most calls that start in one window. */
  limit: number;
  /** The window, in milliseconds. */
  interval: number;
}

/**
 * One entry of an {@linkcode AsyncIOState}: an input that was accepted but
 * not emitted, or a watermark among them.
 *
 * @typeParam I The type of the inputs.
 *
 * @example
 * ```ts
 * import type { AsyncIOStateEntry } from "@async-io/async-io";
 *
 * const entries: AsyncIOStateEntry<string>[] = [
 *   { kind: "record", input: "a" },
 *   { kind: "watermark", timestamp: 10 },
 * ];
 * ```
 */
export type AsyncIOStateEntry<I> =
  | { readonly kind: "record"; readonly input: I }
  | { readonly kind: "watermark"; readonly timestamp: number };

/**
 * The inputs that a stream had accepted but not yet emitted, in input order,
 * as plain data. It round-trips through `JSON.stringify` and `structuredClone`
 * whenever the inputs do.
 *
 * @typeParam I The type of the inputs.
 *
 * @example Persisting and restoring a snapshot
 * ```ts
 * import { AsyncIOTransformStream, type AsyncIOState } from "@async-io/async-io";
 *
 * const saved = JSON.stringify(new AsyncIOTransformStream((n: number) => n).snapshot());
 * const state = JSON.parse(saved) as AsyncIOState<number>;
 * const resumed = new AsyncIOTransformStream((n: number) => n, { restore: state });
 * ```
 */
export interface AsyncIOState<I> {
  /** The format version; this library writes and reads version 1. */
  readonly version: 1;
  /** The pending inputs and watermarks, in input order. */
  readonly entries: readonly AsyncIOStateEntry<I>[];
}

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
  /** Records accepted from the writable side, restored ones included. */
  readonly accepted: number;
  /** Records accepted and not yet emitted (they hold capacity). */
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

/**
 * What an input that failed for good yields under `onError: "settle"`: one
 * record per input, in the stream's order. In the object form each output
 * of a fulfilled input is wrapped on its own.
 *
 * @typeParam I The type of the inputs.
 * @typeParam O The type of the outputs.
 *
 * @example
 * ```ts
 * import type { Settled } from "@async-io/async-io";
 *
 * const results: Settled<string, number>[] = [
 *   { status: "fulfilled", input: "a", value: 1 },
 *   { status: "rejected", input: "b", reason: new Error("404") },
 * ];
 * ```
 */
export type Settled<I, O> =
  | { readonly status: "fulfilled"; readonly input: I; readonly value: O }
  | {
    readonly status: "rejected";
    readonly input: I;
    readonly reason: unknown;
  };

/**
 * Recovers an input that failed for good: its outputs replace the failed
 * input's. Returning nothing drops the input on purpose; throwing (or
 * rejecting) fails the stream with that error. The context's signal aborts
 * if the stream stops meanwhile, and `attempt` is the number of attempts
 * made.
 *
 * @typeParam I The type of the inputs.
 * @typeParam O The type of the outputs.
 *
 * @example A fallback value, or a dead letter
 * ```ts
 * import type { ErrorHandler } from "@async-io/async-io";
 *
 * const deadLetters: unknown[] = [];
 * const onError: ErrorHandler<string, string> = (error, input) => {
 *   if (error instanceof TypeError) return [`${input}: unknown`];
 *   deadLetters.push({ input, error }); // and the input is dropped
 *   return undefined;
 * };
 * ```
 */
export type ErrorHandler<I, O> = (
  error: unknown,
  input: I,
  context: CallContext,
) => Iterable<O> | void | PromiseLike<Iterable<O> | void>;

/**
 * What happens to an input that failed for good, after its retries (or on a
 * timeout without a fallback): `"fail"` errors the stream, `"settle"` wraps
 * every input's result in a {@linkcode Settled} record, and an
 * {@linkcode ErrorHandler} recovers or drops it.
 *
 * @typeParam I The type of the inputs.
 * @typeParam O The type of the outputs.
 *
 * @example
 * ```ts
 * import type { ErrorPolicy } from "@async-io/async-io";
 *
 * const skip: ErrorPolicy<string, string> = () => {};
 * ```
 */
export type ErrorPolicy<I, O> = "fail" | "settle" | ErrorHandler<I, O>;

/**
 * The chunks an async I/O stream emits for an error policy `E`: the outputs,
 * or {@linkcode Settled} records under `"settle"`.
 *
 * @typeParam I The type of the inputs.
 * @typeParam O The type of the outputs.
 * @typeParam E The error policy.
 *
 * @example
 * ```ts
 * import type { Emitted } from "@async-io/async-io";
 *
 * const plain: Emitted<string, number, "fail"> = 1;
 * const settled: Emitted<string, number, "settle"> = {
 *   status: "fulfilled",
 *   input: "a",
 *   value: 1,
 * };
 * ```
 */
export type Emitted<I, O, E> = [E] extends ["settle"] ? Settled<I, O> : O;

/**
 * The options of `AsyncIOTransformStream`.
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
   * included. At capacity the stream accepts no more input, so the source is
   * backpressured. It also bounds the calls in flight.
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
   * `timeout` method). It may complete the element with a fallback.
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
  /** The key of an input; required by `order: "key-ordered"`. */
  key?: (input: I) => unknown;
  /** Limits how often calls start. By default there is no limit. */
  rateLimit?: RateLimitOptions;
  /** Aborting it cancels the stream with the signal's reason. */
  signal?: AbortSignal;
  /** A snapshot to resume from: its inputs are called before any new input. */
  restore?: AsyncIOState<I>;
  /**
   * Called with the snapshot taken at each `CheckpointBarrier`. If it returns
   * a promise, no further input is accepted until it settles.
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
   * The queuing strategy of the readable side. Results are held to it only
   * loosely: every result that is ready is enqueued, and while the readable
   * side is full no more input is accepted.
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
   * Sends many inputs per call: `fn` is then a {@linkcode BatchMapper} or
   * an {@linkcode AsyncBatchFunction}.
   */
  batch: BatchOptions;
}
