// The sources mapAsync accepts, each reduced to an iterator: the pump that
// feeds the engine then only has to know whether to await `next()`.

/** A `ReadableStream`, read through its reader. */
export const STREAM = 0;
/** An `AsyncIterable`: its `next()` is awaited. */
export const ASYNC = 1;
/** An `Iterable`: its `next()` is not awaited, so its promises pass as values. */
export const SYNC = 2;
export type SourceKind = typeof STREAM | typeof ASYNC | typeof SYNC;

/** The shape of `source`, or `undefined` when it is none of them. */
export function sourceKind(source: unknown): SourceKind | undefined {
  if (source instanceof ReadableStream) return STREAM;
  if (source !== null && source !== undefined) {
    const object = Object(source);
    if (typeof object[Symbol.asyncIterator] === "function") return ASYNC;
    if (typeof object[Symbol.iterator] === "function") return SYNC;
  }
  return undefined;
}

/** A source opened as one iterator shape, and how to let go of it unread. */
export interface OpenedSource<T> {
  readonly iterator: Iterator<T> | AsyncIterator<T>;
  /**
   * Lets go of a source that was opened but never read, for a call that
   * fails after opening it: a stream's reader is released, leaving the stream
   * as it was; an iterator is closed with `return()`, as a `for…of` would
   * close it on a throw. Never throws.
   */
  unread(): void;
}

/** The source as one iterator shape; a stream is read through its reader. */
export function openSource<T>(
  source: AsyncIterable<T> | Iterable<T> | ReadableStream<T>,
  kind: SourceKind,
): OpenedSource<T> {
  if (kind !== STREAM) {
    const iterator = kind === ASYNC
      ? (source as AsyncIterable<T>)[Symbol.asyncIterator]()
      : (source as Iterable<T>)[Symbol.iterator]();
    return { iterator, unread: () => closeQuietly(iterator) };
  }
  const reader = (source as ReadableStream<T>).getReader();
  return {
    iterator: {
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
    },
    unread: () => reader.releaseLock(),
  };
}

/** Calls `return()` if there is one; what it throws or rejects with is dropped. */
function closeQuietly(iterator: Iterator<unknown> | AsyncIterator<unknown>) {
  try {
    const returned: unknown = iterator.return?.();
    if (returned instanceof Promise) returned.catch(() => {});
  } catch {
    // The error that made us close it is the one to report.
  }
}
