import { AsyncIOTransformStream } from "./async_io_transform_stream.ts";
import type { CheckpointBarrier } from "./checkpoint_barrier.ts";
import type { AsyncBatchFunction, BatchMapper } from "./batch_function.ts";
import type { AsyncFunction, CallContext, Mapper } from "./call_context.ts";
import type { AsyncIOBatchOptions, AsyncIOOptions } from "./types.ts";
import type { Watermark } from "./watermark.ts";

/**
 * {@linkcode orderedWait} with batching: `fn` gets many inputs per call, as with
 * `AsyncIOTransformStream`'s `batch` option; the results come out
 * in input order.
 *
 * @typeParam I The type of the inputs.
 * @typeParam O The type of the outputs.
 * @typeParam M The marker chunks that pass through.
 * @typeParam E The error policy.
 * @param fn The function called for each batch ({@linkcode BatchMapper}), or
 * an {@linkcode AsyncBatchFunction} object.
 * @param options The options, with `batch` and without `order`.
 * @returns The stream.
 * @throws {RangeError} If a number is out of range, as the constructor does.
 * @throws {TypeError} If an option has the wrong shape, as the constructor
 * does: a numeric option that is not a number at all, or a required one left
 * out, included.
 *
 * @example Up to 50 keys per lookup
 * ```ts
 * import { orderedWait } from "@async-io/async-io";
 * import assert from "node:assert/strict";
 *
 * const lookup = (ids: number[]) => Promise.resolve(ids.map((id) => id * 10));
 * const outputStream = ReadableStream.from([1, 2, 3]).pipeThrough(
 *   orderedWait(lookup, { batch: { maxSize: 50, maxWait: 5 } }),
 * );
 * const output = [];
 * for await (const chunk of outputStream) output.push(chunk);
 * assert.deepEqual(output, [10, 20, 30]);
 * ```
 */
export function orderedWait<
  I,
  O,
  M extends Watermark | CheckpointBarrier = never,
  E extends "fail" | "settle" = "fail",
>(
  // As the stream's constructor: `PromiseLike<any>` keeps a per-input
  // function's promise from taking this overload's array type as its
  // contextual type.
  fn:
    | BatchMapper<I, O>
    // deno-lint-ignore no-explicit-any
    | ((inputs: I[], context: CallContext) => PromiseLike<any>)
    | AsyncBatchFunction<I, O>,
  options: Omit<AsyncIOBatchOptions<I, O, M, E>, "order">,
): AsyncIOTransformStream<I, O, M, E>;
/**
 * Flink's `AsyncDataStream.orderedWait`: an {@linkcode AsyncIOTransformStream}
 * that emits results in input order.
 *
 * @typeParam I The type of the inputs.
 * @typeParam O The type of the outputs.
 * @typeParam M The marker chunks that pass through.
 * @typeParam E The error policy.
 * @param fn The function called for each input, or an `AsyncFunction` object.
 * @param options The options, without `order`.
 * @returns The stream.
 * @throws {RangeError} If a number is out of range, as the constructor does.
 * @throws {TypeError} If an option has the wrong shape, as the constructor
 * does: a numeric option that is not a number at all, or a required one left
 * out, included.
 *
 * @example
 * ```ts
 * import { orderedWait } from "@async-io/async-io";
 * import assert from "node:assert/strict";
 *
 * const outputStream = ReadableStream.from([3, 2, 1]).pipeThrough(
 *   orderedWait((n: number) => new Promise<number>((r) => setTimeout(() => r(n), n))),
 * );
 * const output = [];
 * for await (const chunk of outputStream) output.push(chunk);
 * assert.deepEqual(output, [3, 2, 1]);
 * ```
 */
export function orderedWait<
  I,
  O,
  M extends Watermark | CheckpointBarrier = never,
  E extends "fail" | "settle" = "fail",
>(
  fn: Mapper<I, O> | AsyncFunction<I, O>,
  options?: Omit<AsyncIOOptions<I, O, M, E>, "order">,
): AsyncIOTransformStream<I, O, M, E>;
export function orderedWait<
  I,
  O,
  M extends Watermark | CheckpointBarrier = never,
  E extends "fail" | "settle" = "fail",
>(
  fn: WaitFn<I, O>,
  options?:
    | Omit<AsyncIOOptions<I, O, M, E>, "order">
    | Omit<AsyncIOBatchOptions<I, O, M, E>, "order">,
): AsyncIOTransformStream<I, O, M, E> {
  return waitStream(fn, options, "ordered");
}

/**
 * {@linkcode unorderedWait} with batching: `fn` gets many inputs per call, as with
 * `AsyncIOTransformStream`'s `batch` option; each input's results come out
 * as soon as they are complete (in the object form, before the rest of its
 * batch).
 *
 * @typeParam I The type of the inputs.
 * @typeParam O The type of the outputs.
 * @typeParam M The marker chunks that pass through.
 * @typeParam E The error policy.
 * @param fn The function called for each batch ({@linkcode BatchMapper}), or
 * an {@linkcode AsyncBatchFunction} object.
 * @param options The options, with `batch` and without `order`.
 * @returns The stream.
 * @throws {RangeError} If a number is out of range, as the constructor does.
 * @throws {TypeError} If an option has the wrong shape, as the constructor
 * does: a numeric option that is not a number at all, or a required one left
 * out, included.
 *
 * @example Up to 50 keys per lookup
 * ```ts
 * import { unorderedWait } from "@async-io/async-io";
 * import assert from "node:assert/strict";
 *
 * const lookup = (ids: number[]) => Promise.resolve(ids.map((id) => id * 10));
 * const outputStream = ReadableStream.from([1, 2, 3]).pipeThrough(
 *   unorderedWait(lookup, { batch: { maxSize: 50, maxWait: 5 } }),
 * );
 * const output = [];
 * for await (const chunk of outputStream) output.push(chunk);
 * assert.deepEqual(output.sort((a, b) => a - b), [10, 20, 30]);
 * ```
 */
export function unorderedWait<
  I,
  O,
  M extends Watermark | CheckpointBarrier = never,
  E extends "fail" | "settle" = "fail",
>(
  fn:
    | BatchMapper<I, O>
    // deno-lint-ignore no-explicit-any
    | ((inputs: I[], context: CallContext) => PromiseLike<any>)
    | AsyncBatchFunction<I, O>,
  options: Omit<AsyncIOBatchOptions<I, O, M, E>, "order">,
): AsyncIOTransformStream<I, O, M, E>;
/**
 * Flink's `AsyncDataStream.unorderedWait`: an
 * {@linkcode AsyncIOTransformStream} that emits each result as soon as its
 * call completes.
 *
 * @typeParam I The type of the inputs.
 * @typeParam O The type of the outputs.
 * @typeParam M The marker chunks that pass through.
 * @typeParam E The error policy.
 * @param fn The function called for each input, or an `AsyncFunction` object.
 * @param options The options, without `order`.
 * @returns The stream.
 * @throws {RangeError} If a number is out of range, as the constructor does.
 * @throws {TypeError} If an option has the wrong shape, as the constructor
 * does: a numeric option that is not a number at all, or a required one left
 * out, included.
 *
 * @example
 * ```ts
 * import { unorderedWait } from "@async-io/async-io";
 * import assert from "node:assert/strict";
 *
 * const outputStream = ReadableStream.from([30, 1]).pipeThrough(
 *   unorderedWait((n: number) => new Promise<number>((r) => setTimeout(() => r(n), n))),
 * );
 * const output = [];
 * for await (const chunk of outputStream) output.push(chunk);
 * assert.deepEqual(output, [1, 30]);
 * ```
 */
export function unorderedWait<
  I,
  O,
  M extends Watermark | CheckpointBarrier = never,
  E extends "fail" | "settle" = "fail",
>(
  fn: Mapper<I, O> | AsyncFunction<I, O>,
  options?: Omit<AsyncIOOptions<I, O, M, E>, "order">,
): AsyncIOTransformStream<I, O, M, E>;
export function unorderedWait<
  I,
  O,
  M extends Watermark | CheckpointBarrier = never,
  E extends "fail" | "settle" = "fail",
>(
  fn: WaitFn<I, O>,
  options?:
    | Omit<AsyncIOOptions<I, O, M, E>, "order">
    | Omit<AsyncIOBatchOptions<I, O, M, E>, "order">,
): AsyncIOTransformStream<I, O, M, E> {
  return waitStream(fn, options, "unordered");
}

type WaitFn<I, O> =
  | Mapper<I, O>
  | AsyncFunction<I, O>
  | BatchMapper<I, O>
  | AsyncBatchFunction<I, O>;

/** The stream of either form, per input or batching, in `order`. */
function waitStream<
  I,
  O,
  M extends Watermark | CheckpointBarrier,
  E extends "fail" | "settle",
>(
  fn: WaitFn<I, O>,
  options:
    | Omit<AsyncIOOptions<I, O, M, E>, "order">
    | Omit<AsyncIOBatchOptions<I, O, M, E>, "order">
    | undefined,
  order: "ordered" | "unordered",
): AsyncIOTransformStream<I, O, M, E> {
  // The constructor's overloads take either form with its own options; the
  // options decide which one `fn` is, as they do in the constructor. Each is
  // read once from the caller's object, not through a spread (which drops
  // inherited ones) nor a child object (whose getters would run on the
  // child, where a class's private fields are missing).
  const withOrder = options === undefined
    ? { order }
    : options === null || typeof options !== "object"
    ? options // the constructor's own TypeError names it
    : { ...readOnce(options), order };
  return new AsyncIOTransformStream<I, O, M, E>(
    fn as Mapper<I, O>,
    withOrder as AsyncIOOptions<I, O, M, E>,
  );
}

/** Every option of the constructor but `order`, which the wait form sets. */
const OPTION_NAMES = [
  "capacity",
  "concurrency",
  "timeout",
  "attemptTimeout",
  "onTimeout",
  "onError",
  "retry",
  "key",
  "rateLimit",
  "signal",
  "restore",
  "onCheckpoint",
  "writableStrategy",
  "readableStrategy",
  "batch",
] as const;

// Fails to type-check if an option is added to the constructor's but not here.
type Unread = Exclude<
  keyof AsyncIOBatchOptions<unknown, unknown, never, "fail" | "settle">,
  typeof OPTION_NAMES[number] | "order"
>;
const _everyOptionRead: [Unread] extends [never] ? true : Unread = true;

/** The options' values, each read once with a plain get; none undefined. */
function readOnce(options: object): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const name of OPTION_NAMES) {
    const value = (options as Record<string, unknown>)[name];
    if (value !== undefined) values[name] = value;
  }
  return values;
}
