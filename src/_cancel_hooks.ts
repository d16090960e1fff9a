// Chromium (156) and Firefox (153 ESR) do not call a transformer's cancel()
// on readable.cancel() or writable.abort(); Deno, Bun and Node do. Where it is
// missing, the stream's two sides are shadowed by thin pass-through streams
// whose own cancel and abort tell the operator, so that in-flight calls stop
// everywhere. They add no buffering: the readable reads only when it is read
// from, and the writable (with the user's strategy) forwards one chunk at a
// time, so the inner side never holds more than the chunk in flight.

let supported: boolean | undefined;

/** Whether this runtime calls `transformer.cancel`; checked once. */
export function transformerCancelIsCalled(): boolean {
  if (supported === undefined) {
    supported = false;
    // Where supported, the hook runs synchronously inside cancel().
    new TransformStream({ cancel: () => void (supported = true) }).readable
      .cancel().catch(() => {});
  }
  return supported;
}

/**
 * Shadows `stream.readable` and `stream.writable` with cancel-aware sides
 * that mirror a TransformStream: cancelling one side errors the other, and
 * an error from inside errors both at once.
 */
export function shadowWithCancelHooks<I, O>(
  stream: TransformStream<I, O>,
  cancel: (reason: unknown) => void,
  writableStrategy: QueuingStrategy<I> | undefined,
): void {
  const reader = stream.readable.getReader();
  const writer = stream.writable.getWriter();
  let readableSide!: ReadableStreamDefaultController<O>;
  let writableSide!: WritableStreamDefaultController;
  const readable = new ReadableStream<O>({
    start: (controller) => void (readableSide = controller),
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      cancel(reason);
      writableSide.error(reason);
      // A cancel resolves; the inner side may reject if it was flushing.
      return reader.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 0 });
  const writable = new WritableStream<I>({
    start: (controller) => void (writableSide = controller),
    write: (chunk) => writer.write(chunk),
    close: () => writer.close(),
    abort(reason) {
      cancel(reason);
      readableSide.error(reason);
      return writer.abort(reason);
    },
  }, writableStrategy);
  const fail = (reason: unknown) => {
    readableSide.error(reason);
    writableSide.error(reason);
  };
  reader.closed.catch(fail);
  writer.closed.catch(fail);
  Object.defineProperties(stream, {
    readable: { value: readable },
    writable: { value: writable },
  });
}
