// Test sources for mapAsync(): iterators that count their reads and record
// whether, and why, they were returned.
import { deferred } from "./_deferred.ts";

/** What a spied source saw. */
export interface SourceLog {
  /** Values handed out so far. */
  reads: number;
  /** Whether it reported its end. */
  ended: boolean;
  /** How many times return() was called, and with what. */
  returns: number;
  returnReason: unknown;
}

/**
 * An async iterator over `values`. With `end: false` it does not end after
 * them: its next() stays pending until return() is called, as a live source
 * (a socket, a queue) would.
 */
export function asyncSource<T>(values: readonly T[], { end = true } = {}) {
  const log: SourceLog = {
    reads: 0,
    ended: false,
    returns: 0,
    returnReason: undefined,
  };
  const stalled = deferred<IteratorResult<T>>();
  const iterator: AsyncIterableIterator<T> = {
    next() {
      if (log.reads < values.length) {
        return Promise.resolve({ done: false, value: values[log.reads++]! });
      }
      if (!end) return stalled.promise;
      log.ended = true;
      return Promise.resolve({ done: true, value: undefined });
    },
    return(reason?: unknown) {
      log.returns++;
      log.returnReason = reason;
      stalled.resolve({ done: true, value: undefined });
      return Promise.resolve({ done: true, value: undefined });
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return { iterator, log };
}

/** A sync iterator over `values` that records reads and return(). */
export function syncSource<T>(values: readonly T[]) {
  const log: SourceLog = {
    reads: 0,
    ended: false,
    returns: 0,
    returnReason: undefined,
  };
  const iterator: IterableIterator<T> = {
    next() {
      if (log.reads < values.length) {
        return { done: false, value: values[log.reads++]! };
      }
      log.ended = true;
      return { done: true, value: undefined };
    },
    return(reason?: unknown) {
      log.returns++;
      log.returnReason = reason;
      return { done: true, value: undefined };
    },
    [Symbol.iterator]() {
      return this;
    },
  };
  return { iterator, log };
}

/** Collects an async iterable into an array (Array.fromAsync is not in Node 20). */
export async function toArray<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const values: T[] = [];
  for await (const value of iterable) values.push(value);
  return values;
}
