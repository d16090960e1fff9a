import { AsyncIOTransformStream } from "./async_io_transform_stream.ts";
import type { CheckpointBarrier } from "./checkpoint_barrier.ts";
import type { AsyncFunction, Mapper } from "./call_context.ts";
import type { AsyncIOOptions } from "./types.ts";
import type { Watermark } from "./watermark.ts";

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
): AsyncIOTransformStream<I, O, M, E> {
  return new AsyncIOTransformStream<I, O, M, E>(fn, {
    ...options,
    order: "ordered",
  });
}

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
): AsyncIOTransformStream<I, O, M, E> {
  return new AsyncIOTransformStream<I, O, M, E>(fn, {
    ...options,
    order: "unordered",
  });
}
