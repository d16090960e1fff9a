// The objects and shapes through which the async function is called: the
// function form, Flink's object form, and what each receives.

/**
 * The per-call context that the function form ({@linkcode Mapper}) receives:
 * a frozen plain object whose own properties are `signal` and `attempt`.
 * Calls that share a signal (see `signal`) may share one context object too.
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
   * fails (that element's error). When the stream has no `attemptTimeout` or
   * `retry`, calls that always abort together (on a stop, or on one shared
   * deadline) may share one signal object. A call that has already ended may
   * so see its signal abort later, when the stream stops; nothing waits for
   * its result any more.
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
   * together and in the order given. A value that is not iterable, or a
   * string (a primitive or a `String` object), fails the element with a
   * `TypeError`: wrap a single output, `complete([value])`.
   */
  complete(results: Iterable<O>): void;
  /** Completes the element with an error, which fails the stream. */
  completeExceptionally(error: unknown): void;
}

/**
 * Flink's `AsyncFunction` shape: zero or more outputs per input, delivered
 * through a {@linkcode ResultFuture}. Its methods are read once, when the
 * stream (or `mapAsync`, or `redisWorker`) is constructed, as a
 * `TransformStream` reads its transformer's, and called on the object:
 * replacing or deleting one later changes nothing.
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
