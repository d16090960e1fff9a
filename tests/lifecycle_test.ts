import { test } from "node:test";
import assert from "node:assert/strict";
import { type AsyncFunction, AsyncIOTransformStream } from "../mod.ts";
import { deferred, settle } from "./_deferred.ts";

function counted(overrides: Partial<AsyncFunction<number, number>> = {}) {
  const counts = { open: 0, close: 0, invoke: 0 };
  const fn: AsyncFunction<number, number> = {
    open() {
      counts.open++;
    },
    asyncInvoke(n, result) {
      counts.invoke++;
      result.complete([n]);
    },
    close() {
      counts.close++;
    },
    ...overrides,
  };
  return { fn, counts };
}

test("AsyncFunction.open() is awaited before the first call", async () => {
  const opened = deferred();
  const events: string[] = [];
  const stream = new AsyncIOTransformStream<number, number>({
    async open() {
      events.push("open started");
      await opened.promise;
      events.push("open done");
    },
    asyncInvoke(n, result) {
      events.push(`invoke ${n}`);
      result.complete([n]);
    },
  });
  const output = Array.fromAsync(
    ReadableStream.from([1, 2]).pipeThrough(stream),
  );
  await settle(5);
  assert.deepEqual(events, ["open started"]);
  opened.resolve();
  assert.deepEqual(await output, [1, 2]);
  assert.deepEqual(events, [
    "open started",
    "open done",
    "invoke 1",
    "invoke 2",
  ]);
});

test("AsyncFunction.open() and close() run exactly once on end of input", async () => {
  const { fn, counts } = counted();
  await ReadableStream.from([1, 2, 3])
    .pipeThrough(new AsyncIOTransformStream(fn))
    .pipeTo(new WritableStream());
  assert.deepEqual(counts, { open: 1, close: 1, invoke: 3 });
});

test("AsyncFunction.close() runs exactly once on error", async () => {
  const { fn, counts } = counted({
    asyncInvoke(_n, result) {
      counts.invoke++;
      result.completeExceptionally(new Error("fail"));
    },
  });
  await assert.rejects(
    ReadableStream.from([1, 2, 3])
      .pipeThrough(new AsyncIOTransformStream(fn, { order: "unordered" }))
      .pipeTo(new WritableStream()),
  );
  await settle();
  assert.equal(counts.open, 1);
  assert.equal(counts.close, 1);
});

test("AsyncFunction.close() runs exactly once on cancel and on abort", async () => {
  for (const end of ["cancel", "abort", "signal"] as const) {
    const controller = new AbortController();
    const { fn, counts } = counted({ asyncInvoke: () => {} });
    const stream = new AsyncIOTransformStream(fn, {
      signal: controller.signal,
      readableStrategy: { highWaterMark: 1 }, // transform runs without a reader
    });
    const writer = stream.writable.getWriter();
    await writer.write(1);
    if (end === "cancel") await stream.readable.cancel("bye");
    if (end === "abort") await writer.abort("bye");
    if (end === "signal") controller.abort("bye");
    await settle();
    controller.abort("again");
    await stream.readable.cancel("again").catch(() => {});
    await settle();
    assert.deepEqual(counts, { open: 1, close: 1, invoke: 0 }, end);
  }
});

test("AsyncFunction.open() that rejects errors the stream and still closes once", async () => {
  const error = new Error("cannot connect");
  const { fn, counts } = counted({
    open() {
      counts.open++;
      return Promise.reject(error);
    },
  });
  await assert.rejects(
    ReadableStream.from([1]).pipeThrough(new AsyncIOTransformStream(fn))
      .pipeTo(new WritableStream()),
    (reason) => reason === error,
  );
  assert.deepEqual(counts, { open: 1, close: 1, invoke: 0 });
});

test("AsyncFunction.close() that rejects at end of input errors the stream", async () => {
  const error = new Error("cannot disconnect");
  const { fn } = counted({ close: () => Promise.reject(error) });
  await assert.rejects(
    ReadableStream.from([1]).pipeThrough(new AsyncIOTransformStream(fn))
      .pipeTo(new WritableStream()),
    (reason) => reason === error,
  );
});
