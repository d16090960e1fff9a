// The web streams front end of the engine: a writable side and a readable
// side that the stream owns directly, rather than a TransformStream's. That
// is what lets every stop reach the engine at once, on every runtime:
// - a TransformStream defers `transformer.cancel` while its flush is
//   pending, and browsers do not call it at all; a ReadableStream calls its
//   source's `cancel` synchronously, in any state;
// - a WritableStream defers `sink.abort` while a write is pending, but its
//   controller's `signal` aborts synchronously.
// Either side's stop errors the other, as a TransformStream's would.
import { PREFIX } from "./_config.ts";
import { describe } from "./_describe.ts";
import type { Engine } from "./_engine.ts";
import {
  type EmittedElement,
  type Output,
  unreadCounts,
  unreadEntries,
} from "./_output.ts";
import { RingBuffer } from "./_ring_buffer.ts";
import type { AsyncIOStateEntry } from "./async_io_state.ts";

/** The spec's controller: bun-types 1.4 does not declare its `signal` yet. */
type WritableController = WritableStreamDefaultController & {
  readonly signal: AbortSignal;
};

/**
 * How far apart, relative to the sizes at hand, two sums of the same chunk
 * sizes in floating point may be: far above their rounding error, and far
 * below any size a strategy would give a chunk.
 */
const ROUNDING = 1e-9;

/**
 * The engine's output on a readable side. It also keeps which elements' chunks
 * the readable may still hold: when the stream errors, the readable drops
 * them unread, so snapshots must hold their inputs again, as mapAsync's do
 * for the results that wait for next(). The readable's queue is the newest
 * chunks enqueued, and its `desiredSize` tells how much it holds.
 */
class StreamOutput<T> implements Output<T> {
  readable!: ReadableStreamDefaultController<T>;
  writable!: WritableController;
  /** As a TransformStream's: set while full, cleared when pulled. */
  backpressure = true;
  readonly holdsBack = true;
  /** Settles the pending pull: see {@linkcode StreamOutput.pull}. */
  #pullDone: (() => void) | undefined = undefined;
  /** Set while the readable strategy's size() runs. */
  sizing = false;
  /** A stop came from inside size(): the chunk being enqueued went nowhere. */
  #stoppedWhileSizing = false;
  /** The size() of the chunk being enqueued, as the watcher saw it. */
  lastSize = 1;
  /** The reader cancelled: the chunks it discarded count as read. */
  cancelled = false;
  /**
   * The readable's high-water mark, or undefined when its queue cannot be
   * told from its desiredSize (an infinite one): nothing is then kept.
   */
  #highWaterMark: number | undefined = undefined;
  /** The element of each chunk the readable may hold, oldest first. */
  readonly #queued = new RingBuffer<EmittedElement | undefined>();
  /** With a size(), each of those chunks' size, and their sum. */
  readonly #sizes: RingBuffer<number> | undefined;
  #queuedSize = 0;
  /** What the readable held when the stream errored, oldest first. */
  #unread: (EmittedElement | undefined)[] = [];

  constructor(sized: boolean) {
    this.#sizes = sized ? new RingBuffer() : undefined;
  }

  /** The readable side starts, empty: its desiredSize is its high-water mark. */
  start(controller: ReadableStreamDefaultController<T>): void {
    this.readable = controller;
    const highWaterMark = controller.desiredSize!;
    if (Number.isFinite(highWaterMark)) this.#highWaterMark = highWaterMark;
  }

  /**
   * The readable side wants more. The promise settles only once the side is
   * full again: until then the stream calls no further pull(), rather than
   * one per result, each with a promise of its own.
   */
  pull(): Promise<void> {
    this.backpressure = false;
    return new Promise((resolve) => this.#pullDone = resolve);
  }

  enqueue(chunk: T, from?: EmittedElement): boolean {
    const readable = this.readable;
    readable.enqueue(chunk);
    const desiredSize = readable.desiredSize;
    if (desiredSize !== null && this.#highWaterMark !== undefined) {
      this.#queued.push(from);
      if (this.#sizes !== undefined) {
        this.#sizes.push(this.lastSize);
        this.#queuedSize += this.lastSize;
      }
      this.#forgetRead(desiredSize);
    }
    if (desiredSize! <= 0) {
      this.backpressure = true;
      this.#settlePull();
    }
    return !this.#stoppedWhileSizing;
  }

  /** Drops the oldest entries, whose chunks the readable no longer holds. */
  #forgetRead(desiredSize: number): void {
    const held = this.#highWaterMark! - desiredSize;
    const queued = this.#queued;
    const sizes = this.#sizes;
    if (sizes === undefined) {
      while (queued.size > held) queued.shift();
      return;
    }
    // `held` went through two roundings (the platform's desiredSize, then
    // this subtraction), and our sum through others: an entry is kept only
    // if the held size needs it by more than that error.
    const slack = ROUNDING * Math.max(this.#highWaterMark!, this.#queuedSize);
    while (
      queued.size > 0 && this.#queuedSize - sizes.at(0)! >= held - slack
    ) {
      this.#queuedSize -= sizes.shift()!;
      queued.shift();
    }
    if (queued.size === 0) this.#queuedSize = 0; // no rounding carried on
  }

  /** The inputs whose chunks the readable dropped unread, and those chunks. */
  unreadCounts(): { inputs: number; outputs: number } {
    return unreadCounts(this.#unread.length, this.#unreadAt);
  }

  /** The entries of the inputs whose chunks the readable dropped unread. */
  unreadEntries<I>(): AsyncIOStateEntry<I>[] {
    return unreadEntries<I>(this.#unread.length, this.#unreadAt);
  }

  readonly #unreadAt = (i: number) => this.#unread[i];

  close(): void {
    this.readable.close();
    this.#settlePull();
    // Every result is out and no error can follow: nothing to account for.
    this.#queued.clear();
    this.#sizes?.clear();
  }

  error(reason: unknown): void {
    if (this.sizing) this.#stoppedWhileSizing = true;
    this.keepUnread();
    // Each is a no-op on a side that has already closed or errored. A side
    // being aborted errors itself: erroring it first would make its abort()
    // promise reject.
    this.readable.error(reason);
    if (!this.writable.signal.aborted) this.writable.error(reason);
    this.#settlePull();
  }

  /**
   * The readable is about to drop its queue: what it holds is kept as
   * unread. Its queue is still there (a cancel has emptied it, and one the
   * platform errored is gone, but then this ran before).
   */
  keepUnread(): void {
    const desiredSize = this.readable.desiredSize;
    if (
      !this.cancelled && desiredSize !== null &&
      this.#highWaterMark !== undefined
    ) {
      this.#forgetRead(desiredSize);
      for (let i = 0; i < this.#queued.size; i++) {
        this.#unread.push(this.#queued.at(i));
      }
    }
    this.#queued.clear();
    this.#sizes?.clear();
  }

  #settlePull(): void {
    const done = this.#pullDone;
    this.#pullDone = undefined;
    done?.();
  }
}

/**
 * The results a readable that errored dropped unread: snapshots hold their
 * inputs again, and stats count them as not emitted.
 */
export interface UnreadResults<I> {
  entries(): AsyncIOStateEntry<I>[];
  counts(): { inputs: number; outputs: number };
}

/** Builds an engine and the two sides that feed it and read from it. */
export function connectStreams<I, O, M>(
  engineFor: (output: Output<O | M>) => Engine<I, O, M>,
  writableStrategy: QueuingStrategy<I | M> | undefined,
  readableStrategy: QueuingStrategy<O | M> | undefined,
): {
  engine: Engine<I, O, M>;
  readable: ReadableStream<O | M>;
  writable: WritableStream<I | M>;
  unread: UnreadResults<I>;
} {
  // Both checked before anything is built (a limit's bind() runs then).
  const readableCopy = readOnce("readableStrategy", readableStrategy);
  const writableCopy = readOnce("writableStrategy", writableStrategy);
  const output = new StreamOutput<O | M>(
    typeof readableCopy?.size === "function",
  );
  const engine = engineFor(output);
  // A readable high-water mark of 0 would put the stream in backpressure at
  // every result, and hold the next write back until the reader's next read:
  // a promise round trip per item. At 1 it does so only while a result waits.
  const readable = new ReadableStream<O | M>({
    start: (controller) => output.start(controller),
    pull() {
      const pulling = output.pull();
      engine.pulled();
      return pulling;
    },
    cancel: (reason) => {
      output.cancelled = true;
      engine.stop(reason);
    },
  }, watchSize(readableCopy, output) ?? { highWaterMark: 1 });
  // The writable side keeps the default high-water mark of 1. With calls
  // that start within write() and results that resolve at once, each result
  // is then read before the next write, and neither of our sides ever enters
  // backpressure. At 2, the pipe writes ahead, results wait in the readable
  // and a quarter of the writes wait for a pull: 0.64x against 0.72x the
  // pass-through floor (16 on both sides: 0.67x; CPU time, 20 interleaved
  // rounds of 100k items). With 5 ms calls, where every write waits for room,
  // 1, 2 and 100 measured alike.
  const writable = new WritableStream<I | M>({
    start(controller) {
      output.writable = controller as WritableController;
      const signal = output.writable.signal;
      signal.addEventListener("abort", () => engine.stop(signal.reason));
      return engine.start();
    },
    write: (chunk) => engine.write(chunk),
    close: () => engine.end(),
    abort: (reason) => engine.stop(reason),
  }, guardSize(writableCopy, engine));
  return {
    engine,
    readable,
    writable,
    unread: {
      entries: () => output.unreadEntries<I>(),
      counts: () => output.unreadCounts(),
    },
  };
}

/**
 * A strategy's members, each read once into a copy that the platform gets in
 * place of the caller's object, and checked as the options are: the
 * platform's own errors name neither the stream nor the option. `null` is no
 * strategy, as for the platform.
 */
function readOnce<T>(
  name: string,
  strategy: QueuingStrategy<T> | undefined,
): QueuingStrategy<T> | undefined {
  if (strategy === undefined || strategy === null) return undefined;
  if (typeof strategy !== "object" && typeof strategy !== "function") {
    throw new TypeError(
      `${PREFIX} ${name} must be an object: current value is ${
        describe(strategy)
      }`,
    );
  }
  const { highWaterMark, size } = strategy;
  const copy: QueuingStrategy<T> = {};
  if (highWaterMark !== undefined) {
    if (typeof highWaterMark !== "number" || !(highWaterMark >= 0)) {
      const message =
        `${PREFIX} ${name}.highWaterMark must be a non-negative number: current value is ${
          describe(highWaterMark)
        }`;
      // A value that is not a number at all has the wrong shape.
      throw typeof highWaterMark === "number"
        ? new RangeError(message)
        : new TypeError(message);
    }
    copy.highWaterMark = highWaterMark;
  }
  if (size !== undefined) {
    if (typeof size !== "function") {
      throw new TypeError(
        `${PREFIX} ${name}.size must be a function: current value is ${
          describe(size)
        }`,
      );
    }
    copy.size = size;
  }
  return copy;
}

/**
 * A writable strategy's `size()` runs inside `writer.write()`, and a throw
 * there errors the writable side without telling its sink: stop first. So
 * does a size the platform refuses, which is checked here as it would be.
 * `copy` is the strategy as {@linkcode readOnce} read it; `size()` is called
 * with no `this`, as the platform calls it.
 */
function guardSize<T>(
  copy: QueuingStrategy<T> | undefined,
  engine: { stop(reason: unknown): void },
): QueuingStrategy<T> | undefined {
  const size = copy?.size;
  // Not a function: the platform's own TypeError names it.
  if (typeof size !== "function") return copy;
  return {
    highWaterMark: copy!.highWaterMark ?? 1,
    size(chunk) {
      try {
        const returned = size(chunk);
        // `+` converts as WebIDL does: a BigInt or a Symbol throws.
        const value = +returned;
        if (!(value >= 0) || value === Infinity) {
          throw new RangeError(
            `Cannot write the chunk as writableStrategy.size() must return a finite non-negative number: current value is ${
              describe(returned)
            }`,
          );
        }
        return value;
      } catch (error) {
        engine.stop(error);
        throw error;
      }
    },
  };
}

/**
 * Tells the output while the readable strategy's `size()` runs: a stop from
 * inside it leaves the chunk being enqueued nowhere. A size() that throws,
 * or a size the platform refuses, makes the platform error the readable
 * and drop its queue before the engine hears of it: the output keeps what
 * it held first. `copy` as in {@linkcode guardSize}.
 */
function watchSize<T>(
  copy: QueuingStrategy<T> | undefined,
  output: StreamOutput<T>,
): QueuingStrategy<T> | undefined {
  const size = copy?.size;
  if (typeof size !== "function") return copy;
  return {
    highWaterMark: copy!.highWaterMark ?? 1,
    size(chunk) {
      output.sizing = true;
      let value: number;
      try {
        // As the platform converts it.
        value = +size(chunk);
      } catch (error) {
        output.keepUnread();
        throw error;
      } finally {
        output.sizing = false;
      }
      if (!(value >= 0) || value === Infinity) output.keepUnread();
      return output.lastSize = value;
    },
  };
}
