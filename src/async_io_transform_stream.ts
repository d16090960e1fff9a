import { configOf } from "./_config.ts";
import { Engine } from "./_engine.ts";
import { connectStreams, type UnreadResults } from "./_streams.ts";
import type { CheckpointBarrier } from "./checkpoint_barrier.ts";
import type { AsyncIOState } from "./async_io_state.ts";
import type { AsyncIOStats } from "./async_io_stats.ts";
import type { AsyncBatchFunction, BatchMapper } from "./batch_function.ts";
import type { AsyncFunction, CallContext, Mapper } from "./call_context.ts";
import type { Emitted } from "./error_policy.ts";
import type { AsyncIOBatchOptions, AsyncIOOptions } from "./types.ts";
import type { Watermark } from "./watermark.ts";

/**
 * A {@linkcode BatchMapper} as the constructor takes it. Its `PromiseLike<any>`
 * keeps a per-input function's `Promise.reject()` or `new Promise()` from
 * taking the batch overload's array type as its contextual type when the
 * per-input overload is tried next (TypeScript fixes it at the first try).
 */
type BatchFn<I, O> =
  | BatchMapper<I, O>
  // deno-lint-ignore no-explicit-any
  | ((inputs: I[], context: CallContext) => PromiseLike<any>);

/**
 * Apache Flink's async I/O operator as a web `TransformStream`: it calls
 * `fn` for each input with many calls in flight at once, and emits the
 * results in input order (`"ordered"`), as they complete (`"unordered"`), or
 * in order per key (`"key-ordered"`).
 *
 * `capacity` bounds the inputs accepted but not yet emitted; at capacity the
 * writable side stops accepting, so the source is backpressured. Results
 * wait in the stream while the readable side is full, so it holds no more
 * than its `highWaterMark` (plus the rest of one input's outputs). Each call
 * gets an `AbortSignal` that aborts on timeout, cancel and failure. By
 * default (`onError: "fail"`) a failed element errors both sides of the
 * stream with its error, unchanged; `onError` may settle, recover or drop it
 * instead.
 *
 * @typeParam I The type of the inputs.
 * @typeParam O The type of the outputs.
 * @typeParam M The marker chunks that pass through ({@linkcode Watermark},
 * {@linkcode CheckpointBarrier}); `never` unless you use them.
 * @typeParam E The error policy (`options.onError`); under `"settle"` the
 * stream emits {@linkcode Settled} records.
 *
 * @example Enriching with a function, ten calls at a time
 * ```ts
 * import { AsyncIOTransformStream } from "@async-io/async-io";
 * import assert from "node:assert/strict";
 *
 * const lookup = async (id: number, { signal }: { signal: AbortSignal }) => {
 *   await new Promise((resolve) => setTimeout(resolve, 10 - id));
 *   signal.throwIfAborted();
 *   return { id, name: `user ${id}` };
 * };
 * const usersStream = ReadableStream.from([1, 2, 3])
 *   .pipeThrough(new AsyncIOTransformStream(lookup, { capacity: 10, timeout: 1_000 }));
 * const users = [];
 * for await (const chunk of usersStream) users.push(chunk);
 * assert.deepEqual(users.map((user) => user.id), [1, 2, 3]);
 * ```
 *
 * @example Flink's AsyncFunction shape: zero or more outputs per input
 * ```ts
 * import { AsyncIOTransformStream } from "@async-io/async-io";
 * import assert from "node:assert/strict";
 *
 * const table = new Map([["a", "apple"], ["c", "cherry"]]);
 * const lookup = new AsyncIOTransformStream<string, [string, string]>({
 *   asyncInvoke(key, result) {
 *     queueMicrotask(() => {
 *       const value = table.get(key);
 *       result.complete(value === undefined ? [] : [[key, value]]);
 *     });
 *   },
 * });
 * const pairsStream = ReadableStream.from(["a", "b", "c"]).pipeThrough(lookup);
 * const pairs = [];
 * for await (const chunk of pairsStream) pairs.push(chunk);
 * assert.deepEqual(pairs, [["a", "apple"], ["c", "cherry"]]);
 * ```
 *
 * @example Batching: up to 50 inputs per call, as with Redis `MGET`
 * ```ts
 * import { AsyncIOTransformStream } from "@async-io/async-io";
 * import assert from "node:assert/strict";
 *
 * const names = new Map([[1, "Ada"], [2, "Grace"], [3, "Alan"]]);
 * const lookup = new AsyncIOTransformStream(
 *   async (ids: number[]) => ids.map((id) => names.get(id) ?? "unknown"),
 *   { batch: { maxSize: 50, maxWait: 5 } },
 * );
 * const output = [];
 * for await (const name of ReadableStream.from([1, 2, 3, 4]).pipeThrough(lookup)) {
 *   output.push(name);
 * }
 * assert.deepEqual(output, ["Ada", "Grace", "Alan", "unknown"]);
 * assert.equal(lookup.stats.batches, 1);
 * ```
 */
export class AsyncIOTransformStream<
  I,
  O,
  M extends Watermark | CheckpointBarrier = never,
  E extends "fail" | "settle" = "fail",
> extends TransformStream<I | NoInfer<M>, Emitted<I, O, E> | NoInfer<M>> {
  readonly #engine: Engine<I, O, M>;
  /** The results that the readable dropped unread when it errored. */
  readonly #unread: UnreadResults<I>;

  /**
   * Creates a batching stream: `fn` gets many inputs per call.
   *
   * @param fn The function called for each batch ({@linkcode BatchMapper}),
   * or an {@linkcode AsyncBatchFunction} object.
   * @param options The {@linkcode AsyncIOBatchOptions}.
   * @throws {RangeError} If a number is out of range, such as a
   * `batch.maxSize` above `capacity`.
   * @throws {TypeError} If an option has the wrong shape: a numeric option
   * that is not a number at all, or a required one left out, included.
   */
  constructor(
    fn: BatchFn<I, O> | AsyncBatchFunction<I, O>,
    options: AsyncIOBatchOptions<I, O, M, E>,
  );
  /**
   * Creates the stream. Options are validated here, before any call.
   *
   * @param fn The function called for each input ({@linkcode Mapper}), or an
   * {@linkcode AsyncFunction} object, whose methods are read here, once.
   * @param options The {@linkcode AsyncIOOptions}.
   * @throws {RangeError} If a number is out of range, such as a `capacity`
   * that is not a positive integer, or a negative or NaN `timeout`.
   * @throws {TypeError} If an option has the wrong shape, such as an unknown
   * `order`, a `capacity` that is not a number at all, a `retry` without
   * `maxAttempts`, an `fn` that is neither a function nor an object with
   * `asyncInvoke`, or a malformed `restore` state.
   */
  constructor(
    fn: Mapper<I, O> | AsyncFunction<I, O>,
    options?: AsyncIOOptions<I, O, M, E>,
  );
  constructor(
    fn:
      | Mapper<I, O>
      | AsyncFunction<I, O>
      | BatchMapper<I, O>
      | AsyncBatchFunction<I, O>,
    options?: AsyncIOOptions<I, O, M, E> | AsyncIOBatchOptions<I, O, M, E>,
  ) {
    const config = configOf<I, O, M>(fn, options);
    // The base class's own sides stay unused: the stream owns both of its
    // sides itself, so that every stop reaches it at once (a TransformStream
    // defers cancel while flushing, and abort while a write is pending).
    super();
    const { engine, readable, writable, unread } = connectStreams<
      I,
      O,
      M
    >(
      (output) => new Engine<I, O, M>(config, output),
      options?.writableStrategy,
      options?.readableStrategy,
    );
    this.#engine = engine;
    this.#unread = unread;
    Object.defineProperties(this, {
      readable: { value: readable, enumerable: true },
      writable: { value: writable, enumerable: true },
    });
  }

  /**
   * Counters of the work so far: inputs accepted, pending and emitted, calls
   * in flight, time-outs, failed attempts, retries and rate-limited calls,
   * and with `batch`, the batch calls and the inputs they carried. Results
   * that an erroring readable dropped unread count as not emitted, as in
   * `snapshot()`.
   *
   * @example
   * ```ts
   * import { AsyncIOTransformStream } from "@async-io/async-io";
   * import assert from "node:assert/strict";
   *
   * const stream = new AsyncIOTransformStream((n: number) => n * 2);
   * await ReadableStream.from([1, 2]).pipeThrough(stream).pipeTo(new WritableStream());
   * assert.equal(stream.stats.emitted, 2);
   * ```
   */
  get stats(): AsyncIOStats {
    const stats = this.#engine.stats;
    const { inputs, outputs } = this.#unread.counts();
    if (inputs === 0 && outputs === 0) return stats;
    // As in snapshot(): what the readable dropped unread was not emitted.
    return {
      ...stats,
      emitted: stats.emitted - inputs,
      pending: stats.pending + inputs,
      outputs: stats.outputs - outputs,
    };
  }

  /**
   * Fixes the most calls in flight from now on, in place of the
   * `concurrency` option, adaptive limits included. Raising it starts
   * waiting inputs at once; lowering it never aborts running calls: new
   * calls wait until fewer than `concurrency` are in flight.
   *
   * @param concurrency A positive integer, at most `capacity`.
   * @throws {RangeError} If `concurrency` is a number but not a positive
   * integer, or exceeds `capacity`.
   * @throws {TypeError} If `concurrency` is not a number.
   *
   * @example Halving the calls in flight when the backend says it is busy
   * ```ts
   * import { AsyncIOTransformStream } from "@async-io/async-io";
   * import assert from "node:assert/strict";
   *
   * const stream = new AsyncIOTransformStream((n: number) => n, { capacity: 50 });
   * stream.setConcurrency(25);
   * assert.equal(stream.stats.concurrency, 25);
   * ```
   */
  setConcurrency(concurrency: number): void {
    this.#engine.setConcurrency(concurrency);
  }

  /**
   * Every input accepted but not yet emitted, as plain data: in flight,
   * completed but held for ordering, or waiting for a retry, a key or the
   * rate limit, in input order with the watermarks among them. The entries
   * hold the inputs themselves, not copies. After the stream errors, the
   * inputs of results that the readable side held unread and dropped come
   * first, in the order they were emitted (a reader's cancel discards such
   * results as read), then every input that was not emitted, the failed one
   * included. Hand it to `options.restore` to resume without losing any.
   *
   * @returns The state, which round-trips through JSON whenever the inputs
   * do and the watermarks' timestamps are finite.
   *
   * @example
   * ```ts
   * import { AsyncIOTransformStream } from "@async-io/async-io";
   * import assert from "node:assert/strict";
   *
   * const stream = new AsyncIOTransformStream((_: string) => new Promise<string>(() => {}));
   * const writer = stream.writable.getWriter();
   * await writer.write("a");
   * assert.deepEqual(stream.snapshot(), {
   *   version: 1,
   *   entries: [{ kind: "record", input: "a" }],
   * });
   * await writer.abort();
   * ```
   */
  snapshot(): AsyncIOState<I> {
    const state = this.#engine.snapshot();
    const unread = this.#unread.entries();
    if (unread.length === 0) return state;
    // They left the engine before anything it still holds.
    return { version: state.version, entries: [...unread, ...state.entries] };
  }
}
