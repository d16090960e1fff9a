// A failure aborts every other call's signal, and those signals' listeners
// are user code that may stop the consumer's side: cancel the reader, abort
// the writer, return the iterator. The failure came first, so the consumer
// must still see it: such a listener must not turn it into a clean end.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncIOTransformStream, mapAsync } from "../mod.ts";
import { controlledFn } from "./_deferred.ts";

const paths = [
  ["the single-call path", {}],
  ["the attempt path", { retry: { maxAttempts: 1 } }],
] as const;

const listeners = ["reader.cancel()", "writer.abort()"] as const;

for (const [path, forced] of paths) {
  for (const listener of listeners) {
    test(`AsyncIOTransformStream() fails with a call's error even when another call's abort listener runs ${listener} (${path})`, async () => {
      const { fn, calls, callsReach } = controlledFn<number, number>();
      const stream = new AsyncIOTransformStream<number, number>(
        (n, context) => {
          if (n === 2) {
            context.signal.addEventListener("abort", () => stopConsumer());
          }
          return fn(n, context);
        },
        { ...forced, capacity: 4 },
      );
      const reader = stream.readable.getReader();
      const writer = stream.writable.getWriter();
      const stopConsumer = listener === "reader.cancel()"
        ? () => void reader.cancel("cleanup").catch(() => {})
        : () => void writer.abort("cleanup").catch(() => {});
      const read = reader.read();
      void writer.write(1).catch(() => {});
      void writer.write(2).catch(() => {});
      await callsReach(2);
      const error = new Error("failed");
      calls[0]!.reject(error);
      await assert.rejects(read, (reason) => reason === error);
      assert.equal(calls[1]!.context.signal.aborted, true);
      assert.equal(stream.stats.failed, 1);
      assert.deepEqual(stream.snapshot().entries.map((e) => e.kind), [
        "record",
        "record",
      ]);
    });
  }

  test(`mapAsync() fails with a call's error even when another call's abort listener returns the iterator (${path})`, async () => {
    const { fn, calls, callsReach } = controlledFn<number, number>();
    const iterator = mapAsync([1, 2], (n, context) => {
      if (n === 2) {
        context.signal.addEventListener("abort", () => void iterator.return());
      }
      return fn(n, context);
    }, { ...forced, capacity: 4 });
    const next = iterator.next();
    await callsReach(2);
    const error = new Error("failed");
    calls[0]!.reject(error);
    await assert.rejects(next, (reason) => reason === error);
    assert.equal(calls[1]!.context.signal.aborted, true);
    assert.deepEqual(await iterator.next(), { done: true, value: undefined });
    assert.equal(iterator.stats.failed, 1);
    assert.equal(iterator.snapshot().entries.length, 2);
  });
}

// A timeout with no handler is a failure too: the timed-out call's own
// listener runs only after both sides errored with the TimeoutError.
const timeouts = [
  ["timeout", { timeout: 20 }],
  ["timeout, the attempt path", { timeout: 20, retry: { maxAttempts: 1 } }],
  ["attemptTimeout", { attemptTimeout: 20 }],
] as const;

const isTimeout = (reason: unknown) =>
  reason instanceof DOMException && reason.name === "TimeoutError";

for (const [kind, options] of timeouts) {
  test(`AsyncIOTransformStream() fails with the TimeoutError even when the timed-out call's abort listener cancels the reader (${kind})`, async () => {
    let listened = false;
    const stream = new AsyncIOTransformStream<number, number>(
      (_n, { signal }) =>
        new Promise<number>(() => {
          signal.addEventListener("abort", () => {
            listened = true;
            void reader.cancel("cleanup").catch(() => {});
          });
        }),
      options,
    );
    const reader = stream.readable.getReader();
    const writer = stream.writable.getWriter();
    void writer.write(1).catch(() => {});
    await assert.rejects(reader.read(), isTimeout);
    assert.equal(listened, true);
    await assert.rejects(reader.closed, isTimeout);
    assert.equal(stream.stats.failed, 1);
    assert.equal(stream.stats.timedOut, kind === "attemptTimeout" ? 0 : 1);
  });

  test(`mapAsync() fails with the TimeoutError even when the timed-out call's abort listener returns the iterator (${kind})`, async () => {
    let listened = false;
    const iterator = mapAsync(
      [1],
      (_n, { signal }) =>
        new Promise<number>(() => {
          signal.addEventListener("abort", () => {
            listened = true;
            void iterator.return();
          });
        }),
      options,
    );
    await assert.rejects(iterator.next(), isTimeout);
    assert.equal(listened, true);
    assert.deepEqual(await iterator.next(), { done: true, value: undefined });
    assert.equal(iterator.stats.failed, 1);
  });
}
