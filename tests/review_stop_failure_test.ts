// An adversarial review of two guarantees, on both front ends: every stop
// stops at once, in every state, and a failure is never silently lost. Each
// test here failed on the code it was written against (612fc77), except the
// last two, which pin the README's corrected limit of the pipes' signals.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncIOTransformStream, mapAsync, type ResultFuture } from "../mod.ts";
import { controlledFn, deferred, settle } from "./_deferred.ts";
import { until, within } from "./_within.ts";

/**
 * A stream whose close() never settles, fed one input that is read, then
 * closed: it resolves once close() runs.
 */
async function streamInClose(signal?: AbortSignal) {
  const closing = deferred();
  let closes = 0;
  const stream = new AsyncIOTransformStream<number, number>({
    asyncInvoke: (n, result) => result.complete([n]),
    close: () => {
      closes++;
      return closing.promise; // a close() that never settles
    },
  }, signal === undefined ? {} : { signal });
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  void writer.write(1);
  assert.deepEqual(await reader.read(), { done: false, value: 1 });
  const closed = writer.close();
  closed.catch(() => {});
  await until(() => closes === 1, "close()");
  return { reader, writer, closed, closing, closes: () => closes };
}

test("mapAsync() fails with a call's error even when another call's abort listener returns the iterator while no next() is pending", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const iterator = mapAsync([1, 2, 3], (n, context) => {
    if (n === 3) {
      context.signal.addEventListener("abort", () => void iterator.return());
    }
    return fn(n, context);
  }, { capacity: 4 });
  const first = iterator.next();
  await callsReach(3);
  calls[0]!.resolve(10);
  assert.deepEqual(await first, { done: false, value: 10 });
  // The consumer is busy with its result: no next() is pending.
  const error = new Error("failed");
  calls[1]!.reject(error);
  await until(() => calls[2]!.context.signal.aborted, "the other call's abort");
  await assert.rejects(iterator.next(), (reason) => reason === error);
  assert.equal(iterator.stats.failed, 1);
});

test("AsyncIOTransformStream() stops at once when options.signal aborts while close() runs", async () => {
  const controller = new AbortController();
  const { reader, closed, closing, closes } = await streamInClose(
    controller.signal,
  );
  const reason = new Error("stopped");
  controller.abort(reason);
  assert.deepEqual(
    await within(reader.read(), "the read after the stop"),
    { ok: false, reason },
  );
  assert.deepEqual(
    await within(closed, "writer.close() after the stop"),
    { ok: false, reason },
  );
  closing.resolve();
  assert.equal(closes(), 1);
});

test("mapAsync() stops at once when options.signal aborts while close() runs", async () => {
  const closing = deferred();
  let closes = 0;
  const controller = new AbortController();
  const iterator = mapAsync([1], {
    asyncInvoke: (n: number, result) => result.complete([n]),
    close: () => {
      closes++;
      return closing.promise; // a close() that never settles
    },
  }, { signal: controller.signal });
  assert.deepEqual(await iterator.next(), { done: false, value: 1 });
  const last = iterator.next();
  await until(() => closes === 1, "close()");
  const reason = new Error("stopped");
  controller.abort(reason);
  assert.deepEqual(
    await within(last, "the next() after the stop"),
    { ok: false, reason },
  );
  closing.resolve();
  assert.equal(closes, 1);
});

for (const stop of ["reader.cancel()", "writer.abort()"] as const) {
  test(`AsyncIOTransformStream() settles ${stop} and writer.close() at once when ${stop} comes while close() runs`, async () => {
    const { reader, writer, closed, closing, closes } = await streamInClose();
    const reason = new Error("stopped");
    const stopped = stop === "reader.cancel()"
      ? reader.cancel(reason)
      : writer.abort(reason);
    stopped.catch(() => {});
    await within(stopped, stop); // throws if it does not settle
    assert.deepEqual(
      await within(closed, "writer.close() after the stop"),
      { ok: false, reason },
    );
    closing.resolve();
    assert.equal(closes(), 1);
  });
}

// In the object form, a batch call's signal aborts once its last input has
// settled: when that input failed, the abort listeners must not run first.
test("AsyncIOTransformStream() with batch fails with the error of a call's last input even when the call's abort listener cancels the reader", async () => {
  const futures: ResultFuture<number>[] = [];
  const stream = new AsyncIOTransformStream<number, number>({
    asyncInvokeBatch(_inputs, batch) {
      // Cleanup that gives up on the stream once its call is stopped.
      batch[0]!.signal.addEventListener(
        "abort",
        () => void reader.cancel("cleanup").catch(() => {}),
      );
      futures.push(...batch);
    },
  }, { batch: { maxSize: 2, maxWait: Infinity } });
  const reader = stream.readable.getReader();
  const writer = stream.writable.getWriter();
  void writer.write(1).catch(() => {});
  void writer.write(2).catch(() => {});
  await until(() => futures.length === 2, "the batch call");
  futures[0]!.complete([10]);
  assert.deepEqual(await reader.read(), { done: false, value: 10 });
  const error = new Error("failed");
  futures[1]!.completeExceptionally(error);
  assert.equal(futures[1]!.signal.aborted, true);
  await assert.rejects(reader.read(), (reason) => reason === error);
  assert.equal(stream.stats.failed, 1);
  assert.deepEqual(stream.snapshot().entries, [{ kind: "record", input: 2 }]);
});

test("mapAsync() with batch fails with the error of a call's last input even when the call's abort listener returns the iterator", async () => {
  const futures: ResultFuture<number>[] = [];
  const iterator = mapAsync([1, 2], {
    asyncInvokeBatch(_inputs: number[], batch: ResultFuture<number>[]) {
      batch[0]!.signal.addEventListener("abort", () => void iterator.return());
      futures.push(...batch);
    },
  }, { batch: { maxSize: 2, maxWait: Infinity } });
  const first = iterator.next();
  await until(() => futures.length === 2, "the batch call");
  futures[0]!.complete([10]);
  assert.deepEqual(await first, { done: false, value: 10 });
  const second = iterator.next();
  const error = new Error("failed");
  futures[1]!.completeExceptionally(error);
  assert.equal(futures[1]!.signal.aborted, true);
  await assert.rejects(second, (reason) => reason === error);
  assert.equal(iterator.stats.failed, 1);
  assert.deepEqual(iterator.snapshot().entries, [{ kind: "record", input: 2 }]);
});

// The README promised that the one-signal pattern stops the stream in every
// state; under the Streams spec, no pipe tells the stream while its sink holds
// a write. The README now says so; these pin both halves of what it says.
test("AsyncIOTransformStream() hears the one-signal pattern's signal only once the sink has taken its pending write", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream<number, number>(fn, {
    capacity: 4,
  });
  const controller = new AbortController();
  const signal = controller.signal;
  const writing = deferred();
  let writes = 0;
  // A slow sink: its first write is still pending when the stop comes.
  const dest = new WritableStream<number>({
    write: () => (writes++, writing.promise),
  });
  const piped = ReadableStream.from([1, 2, 3, 4, 5, 6])
    .pipeThrough(stream, { signal })
    .pipeTo(dest, { signal });
  piped.catch(() => {});
  await callsReach(4);
  calls[0]!.resolve(10);
  await until(() => writes === 1, "the sink's first write");
  controller.abort(new Error("stopped"));
  await settle(20);
  assert.equal(calls[3]!.context.signal.aborted, false);
  writing.resolve();
  await until(
    () => calls[3]!.context.signal.aborted,
    "the in-flight call's abort",
  );
});

test("AsyncIOTransformStream() stops at once on options.signal while the sink holds a write", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const controller = new AbortController();
  const signal = controller.signal;
  const stream = new AsyncIOTransformStream<number, number>(fn, {
    capacity: 4,
    signal,
  });
  let writes = 0;
  const dest = new WritableStream<number>({
    write: () => (writes++, new Promise<void>(() => {})), // never taken
  });
  const piped = ReadableStream.from([1, 2, 3, 4, 5, 6])
    .pipeThrough(stream, { signal })
    .pipeTo(dest, { signal });
  piped.catch(() => {});
  await callsReach(4);
  calls[0]!.resolve(10);
  await until(() => writes === 1, "the sink's first write");
  controller.abort(new Error("stopped"));
  assert.equal(calls[3]!.context.signal.aborted, true);
});
