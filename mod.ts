/**
 * Apache Flink's async I/O operator as a native WHATWG `TransformStream`.
 *
 * `pipeThrough` an {@linkcode AsyncIOTransformStream} to enrich each element
 * of a stream with a call to an external system (a database lookup, `fetch`,
 * an RPC). Many calls run at once; results come out in input order or as
 * they complete, with bounded capacity and backpressure, per-call
 * `AbortSignal`s, timeouts, retries, per-key ordering, rate limits,
 * adaptive concurrency limits ({@linkcode vegas}, {@linkcode gradient2},
 * {@linkcode aimd}), event-time watermarks and serializable snapshots for
 * exactly-once pipelines. It has no dependencies and runs on Deno, Bun,
 * Node and browsers.
 *
 * @example Enriching ids with `fetch`, 100 calls at a time
 * ```ts ignore
 * import { AsyncIOTransformStream } from "@async-io/async-io";
 *
 * const enrich = new AsyncIOTransformStream(
 *   async (id: string, { signal }) =>
 *     (await fetch(`http://127.0.0.1:8080/users/${id}`, { signal })).json(),
 *   { order: "unordered", capacity: 100, timeout: 1_000 },
 * );
 * await ReadableStream.from(["1", "2", "3"])
 *   .pipeThrough(enrich)
 *   .pipeTo(new WritableStream({ write: (user) => console.log(user) }));
 * ```
 *
 * @example Results in input order, whatever order the calls finish in
 * ```ts
 * import { AsyncIOTransformStream } from "@async-io/async-io";
 * import assert from "node:assert/strict";
 *
 * const slowFirst = (n: number) =>
 *   new Promise<number>((resolve) => setTimeout(() => resolve(n * 10), 30 - n * 10));
 * const outputStream = ReadableStream.from([1, 2, 3]).pipeThrough(new AsyncIOTransformStream(slowFirst));
 * const output = [];
 * for await (const chunk of outputStream) output.push(chunk);
 * assert.deepEqual(output, [10, 20, 30]);
 * ```
 *
 * @module
 */
export { AsyncIOTransformStream } from "./src/async_io_transform_stream.ts";
export { mapAsync } from "./src/map_async.ts";
export type {
  MapAsyncBatchOptions,
  MapAsyncIterator,
  MapAsyncOptions,
  MapAsyncSource,
} from "./src/map_async.ts";
export { orderedWait, unorderedWait } from "./src/wait.ts";
export { Watermark } from "./src/watermark.ts";
export { CheckpointBarrier } from "./src/checkpoint_barrier.ts";
export { aimd } from "./src/aimd.ts";
export type { AimdOptions } from "./src/aimd.ts";
export { vegas } from "./src/vegas.ts";
export type { VegasOptions } from "./src/vegas.ts";
export { gradient2 } from "./src/gradient2.ts";
export type { Gradient2Options } from "./src/gradient2.ts";
export type {
  ConcurrencyLimit,
  ConcurrencySample,
  LimitBounds,
} from "./src/concurrency_limit.ts";
export type { AsyncIOState, AsyncIOStateEntry } from "./src/async_io_state.ts";
export type { AsyncIOStats } from "./src/async_io_stats.ts";
export type {
  AsyncBatchFunction,
  BatchMapper,
  BatchOptions,
} from "./src/batch_function.ts";
export type {
  AsyncFunction,
  CallContext,
  Mapper,
  ResultFuture,
} from "./src/call_context.ts";
export type {
  Emitted,
  ErrorHandler,
  ErrorPolicy,
  Settled,
} from "./src/error_policy.ts";
export type {
  OutputOrder,
  RateLimitOptions,
  RetryOptions,
} from "./src/policy_options.ts";
export type { AsyncIOBatchOptions, AsyncIOOptions } from "./src/types.ts";
