// Test-harness polyfills, installed only where the browser lacks them.
// The tests build their sources with `ReadableStream.from`, which Chromium
// has not shipped yet (Firefox has); the library itself never calls it.

type From = <T>(source: Iterable<T> | AsyncIterable<T>) => ReadableStream<T>;

const streamConstructor = ReadableStream as unknown as { from?: From };

if (typeof streamConstructor.from !== "function") {
  // As in the Streams spec: a pull source over the iterator, highWaterMark 0.
  streamConstructor.from = <T>(source: Iterable<T> | AsyncIterable<T>) => {
    const iterator = Symbol.asyncIterator in source
      ? source[Symbol.asyncIterator]()
      : (async function* () {
        yield* source as Iterable<T>;
      })();
    return new ReadableStream<T>({
      async pull(controller) {
        const next = await iterator.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      async cancel(reason) {
        await iterator.return?.(reason);
      },
    }, { highWaterMark: 0 });
  };
}
