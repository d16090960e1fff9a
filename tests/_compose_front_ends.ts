// The compose fuzzer's front ends (compose_property_test.ts): an
// AsyncIOTransformStream fed through its writer, or mapAsync over a source that
// hands out what the script wrote, each read, written to and stopped alike.
import {
  type AsyncIOState,
  AsyncIOTransformStream,
  type CheckpointBarrier,
  mapAsync,
  type Watermark,
} from "../mod.ts";
import type { StopError } from "./_compose_calls.ts";
import type { Chunk, Out } from "./_compose_model.ts";

export type Stop = "cancel" | "abort" | "signal";

/** What either front end shows of itself: the stream, or the iterator. */
export interface View {
  stats: {
    accepted: number;
    pending: number;
    inFlight: number;
    emitted: number;
    concurrency: number;
    retries: number;
    timedOut: number;
    failed: number;
  };
  snapshot(): AsyncIOState<number>;
  setConcurrency(n: number): void;
}

export type Pulled = { done?: boolean; value?: unknown };

/** A front end, as the script drives it. */
export interface FrontEnd {
  view: View;
  /** reader.read() or next(). */
  pull(): Promise<Pulled>;
  /** Offers a chunk: the writer takes it, or the source hands it out. */
  write(chunk: Chunk): void;
  stop(reason: StopError, how: Stop): void;
  /** Ends the input. */
  end(): Promise<void>;
  /** Records the engine holds or emitted: read from the source or written. */
  acceptedRecords(): number[];
}

export function streamFront(
  code: unknown,
  options: unknown,
  offered: Chunk[],
  controller: AbortController,
): FrontEnd {
  // deno-lint-ignore no-explicit-any
  const Stream = AsyncIOTransformStream as any;
  const stream = new Stream(code, options) as AsyncIOTransformStream<
    number,
    Out,
    Watermark | CheckpointBarrier
  >;
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  let writing: Promise<void> = Promise.resolve();
  return {
    view: stream as unknown as View,
    pull: () => reader.read(),
    write: (chunk) => {
      offered.push(chunk);
      writing = writing.then(() => writer.write(chunk)).catch(() => {});
    },
    stop: (reason, how) => {
      if (how === "cancel") void reader.cancel(reason).catch(() => {});
      else if (how === "abort") void writer.abort(reason).catch(() => {});
      else controller.abort(reason);
    },
    end: () => writing.then(() => writer.close()).catch(() => {}),
    acceptedRecords: () => {
      const records = offered.filter((c) => typeof c === "number") as number[];
      return records.slice(0, stream.stats.accepted);
    },
  };
}

/** mapAsync over a source that hands out what the script wrote, when asked. */
export function mapAsyncFront(
  syncSource: boolean,
  code: unknown,
  options: unknown,
  offered: Chunk[],
  controller: AbortController,
  restoredRecords: number[],
  reads: () => Promise<void>,
): FrontEnd {
  const queued: Chunk[] = [];
  const waiting: ((r: IteratorResult<Chunk>) => void)[] = [];
  let sourceEnded = false;
  const delivered: Chunk[] = [];
  const deliver = () => {
    while (waiting.length > 0 && (queued.length > 0 || sourceEnded)) {
      const resolve = waiting.shift()!;
      if (queued.length === 0) {
        resolve({ done: true, value: undefined });
        continue;
      }
      const value = queued.shift()!;
      delivered.push(value);
      resolve({ done: false, value });
    }
  };
  const source: AsyncIterableIterator<Chunk> = {
    [Symbol.asyncIterator]() {
      return this;
    },
    next() {
      return new Promise((resolve) => {
        waiting.push(resolve);
        deliver();
      });
    },
    return() {
      sourceEnded = true;
      deliver();
      return Promise.resolve({ done: true, value: undefined });
    },
  };
  // Every chunk is queued before the first read: the input then ends once
  // they are read.
  const syncIterable: Iterable<Chunk> = {
    [Symbol.iterator]: () => ({
      next(): IteratorResult<Chunk> {
        if (queued.length === 0) return { done: true, value: undefined };
        const value = queued.shift()!;
        delivered.push(value);
        return { done: false, value };
      },
      return(): IteratorResult<Chunk> {
        return { done: true, value: undefined };
      },
    }),
  };
  // deno-lint-ignore no-explicit-any
  const iterator = (mapAsync as any)(
    syncSource ? syncIterable : source,
    code,
    options,
  );
  return {
    view: iterator,
    pull: () => iterator.next(),
    write: (chunk) => {
      offered.push(chunk);
      queued.push(chunk);
      deliver();
    },
    stop: (reason, how) => {
      if (how === "cancel") void iterator.return();
      else if (how === "abort") void iterator.throw(reason).catch(() => {});
      else controller.abort(reason);
    },
    end: async () => {
      sourceEnded = true;
      deliver();
      await reads();
    },
    acceptedRecords: () => {
      const read = delivered.filter((c) => typeof c === "number") as number[];
      const admitted = iterator.stats.accepted - read.length;
      return [...restoredRecords.slice(0, admitted), ...read];
    },
  };
}
