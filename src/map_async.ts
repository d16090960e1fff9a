import { configOf } from "./_config.ts";
import { describe } from "./_describe.ts";
import { Engine, type Output } from "./_engine.ts";
import { RingBuffer } from "./_ring_buffer.ts";
import type { CheckpointBarrier } from "./checkpoint_barrier.ts";
import type { AsyncIOState } from "./async_io_state.ts";
import type { AsyncIOStats } from "./async_io_stats.ts";
import type { AsyncBatchFunction, BatchMapper } from "./batch_function.ts";
import type { AsyncFunction, CallContext, Mapper } from "./call_context.ts";
import type { Emitted } from "./error_policy.ts";
import type { AsyncIOBatchOptions, AsyncIOOptions } from "./types.ts";
import type { Watermark } from "./watermark.ts";

/**
 * The options of {@linkcode mapAsync}: those of `AsyncIOTransformStream`
 * without the queuing strategies, which only a stream has. `capacity` is the
 * read-ahead: the most inputs read from the source and not yet handed out.
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
   * Every input read from the source and not yet handed out, in input order,
   * with the watermarks among them, as `AsyncIOTransformStream`'s snapshot:
   * hand it to `options.restore` to resume without losing any.
   */
  snapshot(): AsyncIOState<I>;
  /** Counters of the work so far, as `AsyncIOTransformStream`'s `stats`. */
  readonly stats: AsyncIOStats;
  /**
   * Fixes the most calls in flight from now on, in place of the
   * `concurrency` option, as `AsyncIOTransformStream.setConcurrency()`.
   *
   * @throws {RangeError} If `concurrency` is not a positive integer or
   * exceeds `capacity`.
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
 * @param source An `AsyncIterable`, an `Iterable` or a `ReadableStream`.
 * @param fn The function called for each batch ({@linkcode BatchMapper}),
 * or an {@linkcode AsyncBatchFunction} object.
 * @param options The {@linkcode MapAsyncBatchOptions}.
 * @returns An async iterator of the outputs.
 * @throws {RangeError} If a number is out of range, such as a
 * `batch.maxSize` above `capacity`.
 * @throws {TypeError} If the source is not iterable, or an option has the
 * wrong shape.
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
  source:
    | AsyncIterable<I | NoInfer<M>>
    | Iterable<I | NoInfer<M>>
    | ReadableStream<I | NoInfer<M>>,
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
 *   source is read.
 * - Leaving the loop (`break`, `return()`) or `throw()` aborts every call's
 *   signal at once and calls the source's `return()` (a `ReadableStream`
 *   source is cancelled), without waiting for it: an async generator would
 *   run it only after its pending `next()`.
 * - A failed call, an aborted `options.signal` or a source that throws ends
 *   the iteration with that error, after aborting every call. Results not yet
 *   yielded are dropped, as a stream that errors drops its queue.
 * - Values are passed to `fn` as they are: a sync iterable's promises are
 *   not awaited. `Watermark` and `CheckpointBarrier` values pass through.
 *
 * @typeParam I The type of the inputs.
 * @typeParam O The type of the outputs.
 * @typeParam M The marker values that pass through ({@linkcode Watermark},
 * {@linkcode CheckpointBarrier}); `never` unless you use them.
 * @typeParam E `"settle"` when `options.onError` is `"settle"`: it then
 * yields a `Settled` record per input.
 * @param source An `AsyncIterable`, an `Iterable` or a `ReadableStream`.
 * @param fn The function called for each input ({@linkcode Mapper}), or an
 * {@linkcode AsyncFunction} object.
 * @param options The {@linkcode MapAsyncOptions}.
 * @returns An async iterator of the outputs.
 * @throws {RangeError} If a number is out of range, such as a `capacity`
 * that is not a positive integer. Messages start "Cannot call mapAsync as".
 * @throws {TypeError} If the source is not iterable, or an option has the
 * wrong shape.
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
  source:
    | AsyncIterable<I | NoInfer<M>>
    | Iterable<I | NoInfer<M>>
    | ReadableStream<I | NoInfer<M>>,
  fn: Mapper<I, O> | AsyncFunction<I, O>,
  options?: MapAsyncOptions<I, O, M, E>,
): MapAsyncIterator<Emitted<I, O, E> | NoInfer<M>, I>;
export function mapAsync<
  I,
  O,
  M extends Watermark | CheckpointBarrier = never,
  E extends "fail" | "settle" = "fail",
>(
  source: AsyncIterable<I | M> | Iterable<I | M> | ReadableStream<I | M>,
  fn:
    | Mapper<I, O>
    | AsyncFunction<I, O>
    | BatchMapper<I, O>
    | AsyncBatchFunction<I, O>,
  options?: MapAsyncOptions<I, O, M, E> | MapAsyncBatchOptions<I, O, M, E>,
): MapAsyncIterator<Emitted<I, O, E> | M, I> {
  const kind = sourceKind(source);
  let config;
  try {
    config = configOf<I, O, M>(fn, options);
  } catch (error) {
    throw renamed(error);
  }
  // Under "settle" the engine's outputs are Settled records.
  return new Mapped<I, O, M>(
    (output) => new Engine<I, O, M>(config, output),
    iteratorOf(source, kind),
    kind === SYNC,
  ) as unknown as MapAsyncIterator<Emitted<I, O, E> | M, I>;
}

const PREFIX = "Cannot construct AsyncIOTransformStream as";
const OWN_PREFIX = "Cannot call mapAsync as";

/** The options are checked as the stream's; the message names mapAsync. */
function renamed(error: unknown): unknown {
  if (!(error instanceof Error) || !error.message.startsWith(PREFIX)) {
    return error;
  }
  const message = OWN_PREFIX + error.message.slice(PREFIX.length);
  return error instanceof RangeError
    ? new RangeError(message)
    : new TypeError(message);
}

const STREAM = 0;
const ASYNC = 1;
const SYNC = 2;
type Kind = typeof STREAM | typeof ASYNC | typeof SYNC;

function sourceKind(source: unknown): Kind {
  if (source instanceof ReadableStream) return STREAM;
  if (source !== null && source !== undefined) {
    const object = Object(source);
    if (typeof object[Symbol.asyncIterator] === "function") return ASYNC;
    if (typeof object[Symbol.iterator] === "function") return SYNC;
  }
  throw new TypeError(
    `${OWN_PREFIX} source must be an AsyncIterable, an Iterable or a ReadableStream: current value is ${
      describe(source)
    }`,
  );
}

/** The source as one iterator shape; a stream is read through its reader. */
function iteratorOf<T>(
  source: AsyncIterable<T> | Iterable<T> | ReadableStream<T>,
  kind: Kind,
): Iterator<T> | AsyncIterator<T> {
  if (kind === ASYNC) {
    return (source as AsyncIterable<T>)[Symbol.asyncIterator]();
  }
  if (kind === SYNC) return (source as Iterable<T>)[Symbol.iterator]();
  const reader = (source as ReadableStream<T>).getReader();
  return {
    next: () =>
      reader.read().then((result) => {
        if (result.done) reader.releaseLock();
        return result as IteratorResult<T>;
      }),
    return: (reason?: unknown) => {
      const cancelled = reader.cancel(reason);
      reader.releaseLock();
      return cancelled.then(() => ({ done: true, value: undefined }));
    },
  };
}

/** A consumer's pending `next()`. */
interface Request<T> {
  resolve(result: IteratorResult<T>): void;
  reject(reason: unknown): void;
}

const IDLE = 0; // no next() yet: nothing has run
const RUNNING = 1;
const CLOSED = 2; // every result is out; yield what is buffered, then done
const ERRORED = 3; // the next request rejects with the reason
const DONE = 4;
type State = 0 | 1 | 2 | 3 | 4;

/**
 * Results wait here for `next()`. The engine accepts no input while one
 * waits, so the source is read no further than the consumer keeps up with.
 */
const HIGH_WATER_MARK = 1;

const ignore = () => {};

class Mapped<I, O, M> implements MapAsyncIterator<O | M, I>, Output<O | M> {
  readonly #engine: Engine<I, O, M>;
  readonly #source: Iterator<I | M> | AsyncIterator<I | M>;
  readonly #sync: boolean;
  readonly #buffer = new RingBuffer<O | M>();
  readonly #requests = new RingBuffer<Request<O | M>>();
  #state: State = IDLE;
  #reason: unknown = undefined;
  /** Whether the source ended or threw, or was released: never touch it. */
  #sourceDone = false;

  constructor(
    engineFor: (output: Output<O | M>) => Engine<I, O, M>,
    source: Iterator<I | M> | AsyncIterator<I | M>,
    sync: boolean,
  ) {
    this.#engine = engineFor(this);
    this.#source = source;
    this.#sync = sync;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<O | M>> {
    const buffer = this.#buffer;
    if (buffer.size > 0) {
      const value = buffer.shift()!;
      if (buffer.size < HIGH_WATER_MARK && this.#state === RUNNING) {
        this.#engine.pulled();
      }
      return Promise.resolve({ done: false, value });
    }
    switch (this.#state) {
      case RUNNING:
        return this.#request();
      case IDLE: {
        this.#state = RUNNING;
        // Queued first: starting may end the iteration at once.
        const request = this.#request();
        this.#pump();
        return request;
      }
      case ERRORED:
        this.#state = DONE;
        return Promise.reject(this.#reason);
      default:
        this.#state = DONE;
        return Promise.resolve({ done: true, value: undefined });
    }
  }

  return(value?: unknown): Promise<IteratorResult<O | M>> {
    this.#stop(
      new DOMException("The iteration was returned early", "AbortError"),
    );
    return Promise.resolve({ done: true, value: value as O | M });
  }

  throw(error?: unknown): Promise<IteratorResult<O | M>> {
    this.#stop(error);
    return Promise.reject(error);
  }

  snapshot(): AsyncIOState<I> {
    return this.#engine.snapshot();
  }

  get stats(): AsyncIOStats {
    return this.#engine.stats;
  }

  setConcurrency(concurrency: number): void {
    this.#engine.setConcurrency(concurrency);
  }

  // --- the engine's Output ---

  get backpressure(): boolean {
    return this.#buffer.size >= HIGH_WATER_MARK;
  }

  enqueue(chunk: O | M): void {
    const request = this.#requests.shift();
    if (request !== undefined) request.resolve({ done: false, value: chunk });
    else this.#buffer.push(chunk);
  }

  close(): void {
    if (this.#state !== RUNNING) return;
    this.#state = CLOSED;
    // Requests wait only while the buffer is empty.
    this.#endRequests();
  }

  error(reason: unknown): void {
    if (this.#state !== RUNNING) return;
    this.#state = ERRORED;
    this.#reason = reason;
    this.#buffer.clear();
    const request = this.#requests.shift();
    if (request !== undefined) {
      this.#state = DONE;
      request.reject(reason);
      this.#endRequests();
    }
    this.#releaseSource(reason);
  }

  // --- internals ---

  #request(): Promise<IteratorResult<O | M>> {
    return new Promise((resolve, reject) =>
      this.#requests.push({ resolve, reject })
    );
  }

  /** Every pending request ends with `done`. */
  #endRequests(): void {
    for (let r = this.#requests.shift(); r; r = this.#requests.shift()) {
      r.resolve({ done: true, value: undefined });
    }
  }

  /** The consumer stopped: pending requests end, the calls abort. */
  #stop(reason: unknown): void {
    const state = this.#state;
    if (state === DONE) return;
    this.#state = DONE;
    this.#buffer.clear();
    this.#endRequests();
    // An engine that never started has nothing to stop: open() never ran,
    // so close() must not either.
    if (state === RUNNING) this.#engine.stop(reason);
    if (state === IDLE || state === RUNNING) this.#releaseSource(reason);
  }

  /** Calls the source's return(), once, unless it ended by itself. */
  #releaseSource(reason: unknown): void {
    if (this.#sourceDone) return;
    this.#sourceDone = true;
    try {
      const returned = this.#source.return?.(reason);
      if (returned instanceof Promise) returned.catch(ignore);
    } catch {
      // A source's cleanup error cannot outrank the reason the iteration ended.
    }
  }

  /** Reads the source into the engine while it accepts; ends it at the end. */
  async #pump(): Promise<void> {
    const engine = this.#engine;
    try {
      await engine.start();
    } catch {
      return; // stopped while starting; the reason is out already
    }
    const source = this.#source;
    for (;;) {
      let result: IteratorResult<I | M>;
      try {
        result = this.#sync
          ? (source as Iterator<I | M>).next()
          : await (source as AsyncIterator<I | M>).next();
        if (this.#sourceDone) return; // released meanwhile
        if (result.done) break;
      } catch (error) {
        if (this.#sourceDone) return;
        this.#sourceDone = true; // a source that threw is not returned
        engine.stop(error);
        return;
      }
      const room = engine.write(result.value);
      if (room !== undefined) {
        try {
          await room;
        } catch {
          return; // stopped; the reason is out already
        }
      }
    }
    this.#sourceDone = true;
    engine.end().catch(ignore); // a close() that rejects errors the output
  }
}
