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

/** The source as one iterator shape; a stream is read through its reader. */
export function iteratorOf<T>(
  source: AsyncIterable<T> | Iterable<T> | ReadableStream<T>,
  kind: SourceKind,
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
