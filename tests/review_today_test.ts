// Review of today's engine changes: a timeout with no handler decides its
// verdict before it aborts the call's signal. The call must still hear of
// its timeout whatever that verdict's user code does meanwhile.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncIOTransformStream, type CallContext } from "../mod.ts";
import { controlledFn } from "./_deferred.ts";

const paths = [
  ["the single-call path", {}],
  ["the attempt path", { retry: { maxAttempts: 1 } }],
  ["a batch call", { batch: { maxSize: 1, maxWait: 0 } }],
] as const;

for (const [path, forced] of paths) {
  test(`AsyncIOTransformStream() aborts a timed-out call's signal when the onError handler stops the stream from inside it (${path})`, async () => {
    const { fn, calls, callsReach } = controlledFn<number, number>();
    const stop = new AbortController();
    const stopReason = new Error("stopped by the error handler");
    const handled: unknown[] = [];
    const stream = new AsyncIOTransformStream<number, number>(
      ("batch" in forced
        ? (inputs: number[], context: CallContext) =>
          Promise.all(inputs.map((n) => fn(n, context)))
        : fn) as never,
      {
        ...forced,
        timeout: 20,
        signal: stop.signal,
        onError: (error: unknown) => {
          handled.push(error);
          stop.abort(stopReason); // say, too many errors: give up
          return [];
        },
      } as never,
    );
    const reader = stream.readable.getReader();
    const writer = stream.writable.getWriter();
    const read = reader.read();
    void writer.write(1).catch(() => {});
    await callsReach(1);
    await assert.rejects(read, (reason) => reason === stopReason);
    assert.equal(handled.length, 1);
    assert.equal((handled[0] as Error).name, "TimeoutError");
    // The call timed out and the stream stopped: either way its signal
    // must abort, or the work it started runs on for nothing.
    assert.equal(calls[0]!.context.signal.aborted, true);
    assert.equal(stream.stats.timedOut, 1);
    assert.equal(stream.stats.inFlight, 0);
  });
}
