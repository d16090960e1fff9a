// The sources mapAsync accepts, each reduced to an iterator: the pump that
// feeds the engine then only has to know whether to await `next()`.

/** A `ReadableStream`, read through its reader. */
export const STREAM = 0;
/** An `AsyncIterable`: its `next()` is awaited. */
export const ASYNC = 1;
/** An `Iterable`: its `next()` is not awaited, so its promises pass as values. */
export const SYNC = 2;
export type SourceKind = typeof STREAM | typeof ASYNC | typeof SYNC;

/** A source's shape, and for an iterable the method that opens it. */
export interface SourceShape {
  readonly kind: SourceKind;
  /**
   * Its `[Symbol.asyncIterator]` or `[Symbol.iterator]`, as read once (a
   * getter runs once, as `for await` reads it); unset for a stream.
   */
  readonly iterate?: () => unknown;
}

/** The shape of `source`, or `undefined` when it is none of them. */
export function sourceShape(source: unknown): SourceShape | undefined {
  if (source instanceof ReadableStream) return { kind: STREAM };
  if (source !== null && source !== undefined) {
    const object = Object(source);
    const asyncMethod: unknown = object[Symbol.asyncIterator];
    if (typeof asyncMethod === "function") {
      return { kind: ASYNC, iterate: asyncMethod as () => unknown };
    }
    const syncMethod: unknown = object[Symbol.iterator];
    if (typeof syncMethod === "function") {
      return { kind: SYNC, iterate: syncMethod as () => unknown };
    }
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

/**
 * The source as one iterator shape; a stream is read through its reader.
 * An iterable's method is the one `shape` read, called on the source.
 */
export function openSource<T>(
  source: AsyncIterable<T> | Iterable<T> | ReadableStream<T>,
  shape: SourceShape,
): OpenedSource<T> {
  if (shape.iterate !== undefined) {
    const iterator = shape.iterate.call(source) as
      | Iterator<T>
      | AsyncIterator<T>;
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
