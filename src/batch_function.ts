// The shapes of a batched async function, and the batch option.
import type { CallContext, ResultFuture } from "./call_context.ts";

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
 * error; the futures share the call's signal. Its methods are read once, at
 * construction, and called on the object, as `AsyncFunction`'s are.
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
 * capacity with no call in flight (nothing else could make room). A closed
 * batch that waits to start, for a call slot or a rate-limit token, still
 * takes the inputs that come meanwhile, up to `maxSize`.
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
