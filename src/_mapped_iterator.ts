import type { Engine } from "./_engine.ts";
import type { EmittedElement, Output, Waiter } from "./_output.ts";
import { ResultBuffer } from "./_result_buffer.ts";
import { RingBuffer } from "./_ring_buffer.ts";
import { recordEntry, watermarkEntry } from "./_state.ts";
import type { AsyncIOState, AsyncIOStateEntry } from "./async_io_state.ts";
import { BARRIER, type Kind, kindOf, WATERMARK } from "./_chunk_kind.ts";
import type { Watermark } from "./watermark.ts";
import type { AsyncIOStats } from "./async_io_stats.ts";
import type { MapAsyncIterator } from "./map_async.ts";

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
 * Results wait here for `next()`. While one waits, the engine accepts no
 * input, so the source is read no further than the consumer keeps up with.
 */
const HIGH_WATER_MARK = 1;

const ignore = () => {};

/** As `for await` does, a result that is not an object is a TypeError. */
function checkResult(result: unknown): void {
  if (typeof result !== "object" || result === null) {
    throw new TypeError(`Iterator result ${String(result)} is not an object`);
  }
}

/**
 * An input's snapshot entry: none for a barrier, nor for a watermark whose
 * timestamp is not a number or cannot be read (the engine would have failed
 * on it, and `restore` refuses its entry: only event time's progress is lost).
 */
function entryOf<I>(value: unknown): AsyncIOStateEntry<I> | undefined {
  let kind: Kind;
  try {
    kind = kindOf(value);
  } catch {
    // A revoked Proxy: not a marker, so an input like any other.
    return recordEntry(value as I);
  }
  if (kind === BARRIER) return undefined;
  if (kind !== WATERMARK) return recordEntry(value as I);
  let timestamp: unknown;
  try {
    timestamp = (value as Watermark).timestamp;
  } catch {
    return undefined;
  }
  return typeof timestamp === "number" ? watermarkEntry(timestamp) : undefined;
}

/**
 * The engine's Output for an iterator: results go to a pending `next()`, or
 * wait in the buffer. A class apart from the iterator, which is the
 * consumer's: its `close()` or `error()` would be called by code that
 * duck-types resources, and end the iteration with the engine running.
 */
class IteratorOutput<T> implements Output<T> {
  readonly #buffer: ResultBuffer<T>;
  readonly #requests: RingBuffer<Request<T>>;
  readonly close: () => void;
  readonly error: (reason: unknown) => void;
  readonly aborted: () => void;

  constructor(
    buffer: ResultBuffer<T>,
    requests: RingBuffer<Request<T>>,
    close: () => void,
    error: (reason: unknown) => void,
    aborted: () => void,
  ) {
    this.#buffer = buffer;
    this.#requests = requests;
    this.close = close;
    this.error = error;
    this.aborted = aborted;
  }

  /**
   * Whether the buffer is full, so the engine reads no further input; the
   * iterator clears it as next() empties it.
   */
  backpressure = false;
  /**
   * Results are emitted into the buffer as they are ready: there, as in the
   * engine, they count as not handed out (see ResultBuffer), and the source
   * is read no further while one waits.
   */
  readonly holdsBack = false;

  enqueue(chunk: T, from?: EmittedElement): void {
    const request = this.#requests.shift();
    if (request !== undefined) {
      request.resolve({ done: false, value: chunk });
    } else {
      this.#buffer.push(chunk, from);
      this.backpressure = this.#buffer.size >= HIGH_WATER_MARK;
    }
  }
}

/**
 * The iterator `mapAsync()` returns: the engine's output, read by
 * `next()` rather than by a stream's reader, with the source read into the
 * engine only as far as the consumer keeps up.
 */
export class MappedIterator<I, O, M> implements MapAsyncIterator<O | M, I> {
  readonly #engine: Engine<I, O, M>;
  readonly #source: Iterator<I | M> | AsyncIterator<I | M>;
  readonly #sync: boolean;
  readonly #buffer = new ResultBuffer<O | M>();
  readonly #requests = new RingBuffer<Request<O | M>>();
  #state: State = IDLE;
  #reason: unknown = undefined;
  /** Whether the source ended or threw, or was released: never touch it. */
  #sourceDone = false;
  /** Set while a synchronous source's next() runs. */
  #inSyncRead = false;
  /** A stop that came while it ran: the source's return() is due after it. */
  #returnAfterRead: { reason: unknown } | undefined = undefined;
  /** Inputs read after the iteration stopped: see #readAfterStop(). */
  readonly #readAfterStopEntries: AsyncIOStateEntry<I>[] = [];
  /** Whether a microtask will read on. */
  #readScheduled = false;
  /** The engine failed: the source is released once its calls are aborted. */
  #releaseDue: { reason: unknown } | undefined = undefined;

  constructor(
    engineFor: (output: Output<O | M>) => Engine<I, O, M>,
    source: Iterator<I | M> | AsyncIterator<I | M>,
    sync: boolean,
  ) {
    this.#source = source;
    this.#engine = engineFor(this.#output);
    this.#sync = sync;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<O | M>> {
    const buffer = this.#buffer;
    if (buffer.size > 0) {
      const value = buffer.shift()!;
      if (buffer.size < HIGH_WATER_MARK) {
        this.#output.backpressure = false;
        if (this.#state === RUNNING) this.#engine.pulled();
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
    const state = this.#engine.snapshot();
    const held = this.#buffer.entries<I>();
    const late = this.#readAfterStopEntries;
    if (held.length === 0 && late.length === 0) return state;
    // Results not handed out left the engine in input order, as far as the
    // order mode keeps it: their inputs come first.
    return {
      version: state.version,
      entries: [...held, ...state.entries, ...late.map((e) => ({ ...e }))],
    };
  }

  get stats(): AsyncIOStats {
    const stats = this.#engine.stats;
    const { inputs, outputs } = this.#buffer.held();
    const late = this.#readAfterStopEntries.reduce(
      (records, entry) => entry.kind === "record" ? records + 1 : records,
      0,
    );
    if (inputs === 0 && outputs === 0 && late === 0) return stats;
    // An input is emitted once its last output is handed out; one read
    // after the stop was accepted, as far as snapshots go, and is pending.
    return {
      ...stats,
      accepted: stats.accepted + late,
      emitted: stats.emitted - inputs,
      pending: stats.pending + inputs + late,
      outputs: stats.outputs - outputs,
    };
  }

  setConcurrency(concurrency: number): void {
    this.#engine.setConcurrency(concurrency);
  }

  // --- the engine's Output ---

  /**
   * What the engine emits to: an object of its own, since the iterator is
   * the consumer's. Methods of the iterator named `close()` or `error()`
   * would be called by code that duck-types resources, and end the
   * iteration with the engine still running.
   */
  readonly #output = new IteratorOutput<O | M>(
    this.#buffer,
    this.#requests,
    () => this.#close(),
    (reason) => this.#error(reason),
    () => this.#aborted(),
  );

  #close(): void {
    if (this.#state !== RUNNING) return;
    this.#state = CLOSED;
    // Requests wait only while the buffer is empty.
    this.#endRequests();
  }

  #error(reason: unknown): void {
    if (this.#state !== RUNNING) return;
    this.#state = ERRORED;
    this.#reason = reason;
    this.#buffer.drop();
    const request = this.#requests.shift();
    if (request !== undefined) {
      this.#state = DONE;
      request.reject(reason);
      this.#endRequests();
    }
    // The engine aborts the calls next: the source's return() is user code,
    // and runs once they are aborted, as on a break.
    this.#releaseDue = { reason };
  }

  #aborted(): void {
    const due = this.#releaseDue;
    this.#releaseDue = undefined;
    if (due !== undefined) this.#releaseSource(due.reason);
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
    // A failure no next() has reported yet stays for the next one: a return()
    // from an abort listener must not turn it into a clean end.
    if (state === DONE || state === ERRORED) return;
    this.#state = DONE;
    this.#buffer.drop();
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
    // A generator cannot be returned from inside its own next(): that
    // throws "already running". Its return() waits for next() to come back.
    if (this.#inSyncRead) this.#returnAfterRead = { reason };
    else this.#returnSource(reason);
  }

  #returnSource(reason: unknown): void {
    try {
      const returned = this.#source.return?.(reason);
      if (returned instanceof Promise) returned.catch(ignore);
    } catch {
      // A source's cleanup error cannot outrank the reason the iteration ended.
    }
  }

  /**
   * Starts the engine, then reads the source into it while it accepts. The
   * source is read only when the engine accepts at once, so no input read
   * ever waits outside the engine, where snapshots would miss it.
   */
  async #pump(): Promise<void> {
    try {
      await this.#engine.start();
    } catch {
      return; // stopped while starting; the reason is out already
    }
    this.#read();
  }

  #read(): void {
    if (this.#sync) this.#fill();
    else void this.#fillAsync();
  }

  /**
   * A synchronous source is read in a loop, and the engine calls back when
   * it accepts again: no promise per input.
   */
  #fill(): void {
    const engine = this.#engine;
    const source = this.#source as Iterator<I | M>;
    const waiter = this.#waiter;
    while (engine.ready(waiter)) {
      let value: I | M;
      this.#inSyncRead = true;
      try {
        const result = source.next();
        checkResult(result);
        // A source that ended or threw by itself is not returned.
        if (result.done) return this.#sourceEnded();
        value = result.value;
      } catch (error) {
        return this.#sourceFailed(error);
      } finally {
        this.#inSyncRead = false;
      }
      if (this.#sourceDone) {
        this.#readAfterStop(value);
        const stopped = this.#returnAfterRead;
        if (stopped !== undefined) this.#returnSource(stopped.reason);
        return;
      }
      if (!engine.offer(value, waiter)) return;
    }
  }

  /** The same loop over an asynchronous source. */
  async #fillAsync(): Promise<void> {
    const engine = this.#engine;
    const source = this.#source as AsyncIterator<I | M>;
    const waiter = this.#waiter;
    while (engine.ready(waiter)) {
      let value: I | M;
      try {
        const result = await source.next();
        checkResult(result);
        if (result.done) return this.#sourceEnded();
        value = result.value;
      } catch (error) {
        return this.#sourceFailed(error);
      }
      if (this.#sourceDone) return this.#readAfterStop(value);
      // Offered even if a result came meanwhile: it is read, so it goes
      // where snapshots see it.
      if (!engine.offer(value, waiter)) return;
    }
  }

  // Reading resumes from a microtask, never from inside the engine's stack.
  // The waiter is registered only once a loop above has returned, so one
  // loop at most runs at a time.
  readonly #waiter: Waiter = {
    resolve: () => {
      if (this.#readScheduled) return;
      this.#readScheduled = true;
      queueMicrotask(this.#scheduledRead);
    },
    reject: ignore, // stopped; the reason is out already
  };

  readonly #scheduledRead = (): void => {
    this.#readScheduled = false;
    this.#read();
  };

  /**
   * The iteration stopped while the source was being read (an async
   * source's pending next(), or a source that returned the iteration from
   * inside its next()), and the read still brought an input: the engine
   * takes no more, but snapshots must hold it.
   */
  #readAfterStop(value: I | M): void {
    const entry = entryOf<I>(value);
    if (entry !== undefined) this.#readAfterStopEntries.push(entry);
  }

  #sourceEnded(): void {
    if (this.#sourceDone) return; // released meanwhile
    this.#sourceDone = true;
    this.#engine.end().catch(ignore); // a close() that rejects errors the output
  }

  #sourceFailed(error: unknown): void {
    if (this.#sourceDone) return;
    this.#sourceDone = true; // a source that threw is not returned
    this.#engine.stop(error);
  }
}
