import { configOf, renamedOptionsError } from "./_config.ts";
import { describe } from "./_describe.ts";
import { Engine } from "./_engine.ts";
import { openSource, sourceShape, STREAM, SYNC } from "./_iteration_source.ts";
import { MappedIterator } from "./_mapped_iterator.ts";
import type { CheckpointBarrier } from "./checkpoint_barrier.ts";
import type { AsyncIOState } from "./async_io_state.ts";
import type { AsyncIOStats } from "./async_io_stats.ts";
import type { AsyncBatchFunction, BatchMapper } from "./batch_function.ts";
import type { AsyncFunction, CallContext, Mapper } from "./call_context.ts";
import type { Emitted } from "./error_policy.ts";
import type { AsyncIOBatchOptions, AsyncIOOptions } from "./types.ts";
import type { Watermark } from "./watermark.ts";

/**
 * What {@linkcode mapAsync} reads its inputs from: an `AsyncIterable`, an
 * `Iterable` or a `ReadableStream`. A sync iterable's values are passed on as
 * they are: its promises are not awaited.
 *
 * @typeParam T The type of the values read: the inputs and the markers.
 *
 * @example
 * ```ts
 * import { mapAsync, type MapAsyncSource } from "@async-io/async-io";
 * import assert from "node:assert/strict";
 *
 * const source: MapAsyncSource<number> = ReadableStream.from([1, 2, 3]);
 * const doubled: number[] = [];
 * for await (const n of mapAsync(source, (n: number) => n * 2)) doubled.push(n);
 * assert.deepEqual(doubled, [2, 4, 6]);
 * ```
 */
export type MapAsyncSource<T> =
  | AsyncIterable<T>
  | Iterable<T>
  | ReadableStream<T>;

/**
 * The options of {@linkcode mapAsync}: those of `AsyncIOTransformStream`
 * without the queuing strategies, which only a stream has. `capacity` is the
 * read-ahead: the most inputs read from the source and not yet handed out.
 * While a result waits for `next()`, the source is read no further.
 *
 * @typeParam I The type of the inputs.
 * @typeParam O The type of the outputs.
 * @typeParam M The marker values that pass through (`Watermark`,
 * `CheckpointBarrier`); `never` when none are used.
 * @typeParam E `"settle"` to allow `onError: "settle"`, whose iterator
 * yields `Settled` records; `"fail"` otherwise.
 *
 * @example
 * ```ts
 * import type { MapAsyncOptions } from "@async-io/async-io";
 *
 * const options: MapAsyncOptions<string, string> = {
 *   order: "unordered",
 *   capacity: 50,
 *   timeout: 2_000,
 * };
 * ```
 */
export type MapAsyncOptions<
  I,
  O,
  M = never,
  E extends "fail" | "settle" = "fail",
> = Omit<AsyncIOOptions<I, O, M, E>, "writableStrategy" | "readableStrategy">;

/**
 * The options of a batching {@linkcode mapAsync}: those of
 * {@linkcode MapAsyncOptions}, with `batch` set.
 *
 * @typeParam I The type of the inputs.
 * @typeParam O The type of the outputs.
 * @typeParam M The marker values that pass through.
 * @typeParam E The error policy, as in {@linkcode MapAsyncOptions}.
 *
 * @example
 * ```ts
 * import type { MapAsyncBatchOptions } from "@async-io/async-io";
 *
 * const options: MapAsyncBatchOptions<string, string> = {
 *   batch: { maxSize: 100, maxWait: 10 },
 *   concurrency: 4,
 *   capacity: 1_000,
 * };
 * ```
 */
export type MapAsyncBatchOptions<
  I,
  O,
  M = never,
  E extends "fail" | "settle" = "fail",
> = Omit<
  AsyncIOBatchOptions<I, O, M, E>,
  "writableStrategy" | "readableStrategy"
>;

/**
 * What {@linkcode mapAsync} returns: an async iterator of the outputs, with
 * the stream's `snapshot()` and `stats`.
 *
 * @typeParam T The type of what it yields: the outputs and the markers.
 * @typeParam I The type of the inputs, as its snapshots hold them.
 *
 * @example
 * ```ts
 * import { mapAsync, type MapAsyncIterator } from "@async-io/async-io";
 *
 * const doubled: MapAsyncIterator<number, number> = mapAsync([1, 2], (n: number) => n * 2);
 * for await (const n of doubled) console.log(n);
 * ```
 */
export interface MapAsyncIterator<T, I> extends AsyncIterableIterator<T> {
  /**
   * Every input read from the source and not yet handed out, with the
   * watermarks among them, as `AsyncIOTransformStream`'s snapshot: hand it
   * to `options.restore` to resume without losing any. A result that waits
   * for `next()` is not handed out yet, and an input with several outputs
   * stays until `next()` has handed out the last of them. The inputs of
   * waiting results come first, in the order they left the engine: the
   * entries are in input order when `"ordered"`, and otherwise keep what the
   * mode keeps (watermarks in place, each key's order).
   */
  snapshot(): AsyncIOState<I>;
  /**
   * Counters of the work so far, as `AsyncIOTransformStream`'s `stats`, with
   * `emitted` and `outputs` counting what `next()` has handed out.
   */
  readonly stats: AsyncIOStats;
  /**
   * Fixes the most calls in flight from now on, in place of the
   * `concurrency` option, as `AsyncIOTransformStream.setConcurrency()`.
   *
   * @throws {RangeError} If `concurrency` is a number but not a positive
   * integer, or exceeds `capacity`.
   * @throws {TypeError} If `concurrency` is not a number.
   */
  setConcurrency(concurrency: number): void;
  /**
   * Stops early, as `break` does: aborts every call's signal at once with an
   * `AbortError`, and calls the source's `return()`.
   */
  return(value?: unknown): Promise<IteratorResult<T>>;
  /**
   * Stops early as `return()` does, with `error` as the calls' abort reason;
   * the promise rejects with it.
   */
  throw(error?: unknown): Promise<IteratorResult<T>>;
}

/**
 * {@linkcode mapAsync} with batching: `fn` gets many inputs per call, as
 * with `AsyncIOTransformStream`'s `batch` option.
 *
 * @typeParam I The type of the inputs.
 * @typeParam O The type of the outputs.
 * @typeParam M The marker values that pass through.
 * @typeParam E The error policy.
 * @param source An `AsyncIterable`, an `Iterable` or a `ReadableStream`
 * ({@linkcode MapAsyncSource}).
 * @param fn The function called for each batch ({@linkcode BatchMapper}),
 * or an {@linkcode AsyncBatchFunction} object.
 * @param options The {@linkcode MapAsyncBatchOptions}.
 * @returns An async iterator of the outputs.
 * @throws {RangeError} If a number is out of range, such as a
 * `batch.maxSize` above `capacity`.
 * @throws {TypeError} If the source is not iterable or is a locked
 * `ReadableStream`, or if an option has the wrong shape (a numeric option
 * that is not a number at all, or a required one left out, included).
 *
 * @example Up to 50 keys per lookup
 * ```ts
 * import { mapAsync } from "@async-io/async-io";
 * import assert from "node:assert/strict";
 *
 * const lookup = (ids: number[]) => Promise.resolve(ids.map((id) => `user ${id}`));
 * const names: string[] = [];
 * for await (const name of mapAsync([1, 2, 3], lookup, { batch: { maxSize: 50, maxWait: 5 } })) {
 *   names.push(name);
 * }
 * assert.deepEqual(names, ["user 1", "user 2", "user 3"]);
 * ```
 */
export function mapAsync<
  I,
  O,
  M extends Watermark | CheckpointBarrier = never,
  E extends "fail" | "settle" = "fail",
>(
  source: MapAsyncSource<I | NoInfer<M>>,
  // As the stream's constructor: `PromiseLike<any>` keeps a per-input
  // function's promise from taking this overload's array type as its
  // contextual type.
  fn:
    | BatchMapper<I, O>
    // deno-lint-ignore no-explicit-any
    | ((inputs: I[], context: CallContext) => PromiseLike<any>)
    | AsyncBatchFunction<I, O>,
  options: MapAsyncBatchOptions<I, O, M, E>,
): MapAsyncIterator<Emitted<I, O, E> | NoInfer<M>, I>;
/**
 * Calls `fn` for each value of `source` with many calls in flight at once,
 * and yields the results in input order (`"ordered"`), as they complete
 * (`"unordered"`), or in order per key (`"key-ordered"`). It is
 * `AsyncIOTransformStream` for code that has an iterable rather than a
 * stream: the same engine, options and semantics.
 *
 * - `capacity` bounds the read-ahead: at most that many inputs are read from
 *   the source and not yet yielded, and the source is not read further while
 *   a result waits for the consumer, so memory stays bounded.
 * - Nothing runs until the first `next()`: then `open()` runs, and the
 *   source is read. At call time the source is only opened (its iterator
 *   taken, a stream locked), before an adaptive limit's `bind()` runs; if
 *   `bind()` throws, the source is let go unread (a stream unlocked, an
 *   iterator closed with `return()`).
 * - Leaving the loop (`break`, `return()`) or `throw()` aborts every call's
 *   signal at once and calls the source's `return()` (a `ReadableStream`
 *   source is cancelled), without waiting for it: an async generator would
 *   run it only after its pending `next()`.
 * - A failed call, an aborted `options.signal` or a source that throws ends
 *   the iteration with that error, after aborting every call. Results not yet
 *   yielded are dropped, as a stream that errors drops its queue; their
 *   inputs stay in `snapshot()`.
 * - Values are passed to `fn` as they are: a sync iterable's promises are
 *   not awaited. `Watermark` and `CheckpointBarrier` values pass through.
 *
 * @typeParam I The type of the inputs.
 * @typeParam O The type of the outputs.
 * @typeParam M The marker values that pass through ({@linkcode Watermark},
 * {@linkcode CheckpointBarrier}); `never` unless you use them.
 * @typeParam E `"settle"` when `options.onError` is `"settle"`: it then
 * yields a `Settled` record per input.
 * @param source An `AsyncIterable`, an `Iterable` or a `ReadableStream`
 * ({@linkcode MapAsyncSource}).
 * @param fn The function called for each input ({@linkcode Mapper}), or an
 * {@linkcode AsyncFunction} object.
 * @param options The {@linkcode MapAsyncOptions}.
 * @returns An async iterator of the outputs.
 * @throws {RangeError} If a number is out of range, such as a `capacity`
 * that is not a positive integer. Messages start "Cannot call mapAsync as".
 * @throws {TypeError} If the source is not iterable or is a locked
 * `ReadableStream`, or if an option has the wrong shape (a numeric option
 * that is not a number at all, or a required one left out, included).
 *
 * @example Looking up ten at a time, in input order
 * ```ts
 * import { mapAsync } from "@async-io/async-io";
 * import assert from "node:assert/strict";
 *
 * const lookup = async (id: number, { signal }: { signal: AbortSignal }) => {
 *   await new Promise((resolve) => setTimeout(resolve, 10 - id));
 *   signal.throwIfAborted();
 *   return `user ${id}`;
 * };
 * const names: string[] = [];
 * for await (const name of mapAsync([1, 2, 3], lookup, { capacity: 10 })) {
 *   names.push(name);
 * }
 * assert.deepEqual(names, ["user 1", "user 2", "user 3"]);
 * ```
 *
 * @example Leaving the loop early aborts the calls still running
 * ```ts
 * import { mapAsync } from "@async-io/async-io";
 * import assert from "node:assert/strict";
 *
 * const signals: AbortSignal[] = [];
 * // Pages 0 to 2 come at once; the later ones wait until their signal aborts.
 * const fetchPage = (page: number, { signal }: { signal: AbortSignal }) => {
 *   if (page < 3) return page;
 *   signals.push(signal);
 *   return new Promise<number>((_, reject) =>
 *     signal.addEventListener("abort", () => reject(signal.reason))
 *   );
 * };
 * const pages = [0, 1, 2, 3, 4, 5];
 * for await (const page of mapAsync(pages, fetchPage, { capacity: 4 })) {
 *   if (page === 2) break;
 * }
 * assert.ok(signals.length > 0);
 * assert.ok(signals.every((signal) => signal.aborted));
 * ```
 */
export function mapAsync<
  I,
  O,
  M extends Watermark | CheckpointBarrier = never,
  E extends "fail" | "settle" = "fail",
>(
  source: MapAsyncSource<I | NoInfer<M>>,
  fn: Mapper<I, O> | AsyncFunction<I, O>,
  options?: MapAsyncOptions<I, O, M, E>,
): MapAsyncIterator<Emitted<I, O, E> | NoInfer<M>, I>;
export function mapAsync<
  I,
  O,
  M extends Watermark | CheckpointBarrier = never,
  E extends "fail" | "settle" = "fail",
>(
  source: MapAsyncSource<I | M>,
  fn:
    | Mapper<I, O>
    | AsyncFunction<I, O>
    | BatchMapper<I, O>
    | AsyncBatchFunction<I, O>,
  options?: MapAsyncOptions<I, O, M, E> | MapAsyncBatchOptions<I, O, M, E>,
): MapAsyncIterator<Emitted<I, O, E> | M, I> {
  const shape = sourceShape(source);
  if (shape === undefined) {
    throw new TypeError(
      `${OWN_PREFIX} source must be an AsyncIterable, an Iterable or a ReadableStream: current value is ${
        describe(source)
      }`,
    );
  }
  if (shape.kind === STREAM && (source as ReadableStream<unknown>).locked) {
    throw new TypeError(
      `${OWN_PREFIX} source must not be locked: current value is a locked ReadableStream`,
    );
  }
  let config;
  try {
    config = configOf<I, O, M>(fn, options);
  } catch (error) {
    throw renamedOptionsError(error, OWN_PREFIX); // checked as the stream's
  }
  // Opened before the engine is built, so a source that throws here does so
  // before any of a limit's code (its bind) runs.
  const opened = openSource(source, shape);
  try {
    // Under "settle" the engine's outputs are Settled records.
    return new MappedIterator<I, O, M>(
      (output) => new Engine<I, O, M>(config, output, true),
      opened.iterator,
      shape.kind === SYNC,
    ) as unknown as MapAsyncIterator<Emitted<I, O, E> | M, I>;
  } catch (error) {
    opened.unread(); // a ReadableStream stays unlocked
    throw error;
  }
}

const OWN_PREFIX = "Cannot call mapAsync as";
