import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncIOTransformStream, orderedWait, unorderedWait } from "../mod.ts";
import { collect, controlledFn, deferred, settle } from "./_deferred.ts";
import { until } from "./_within.ts";

function writeAll<T>(writable: WritableStream<T>, inputs: T[]) {
  const writer = writable.getWriter();
  // Not awaited one by one: at capacity a write stays pending on purpose.
  const writes = inputs.map((input) => writer.write(input));
  return { writer, writes };
}

test("AsyncIOTransformStream() emits in input order when calls complete in reverse", async () => {
  const { fn, calls, callsReach } = controlledFn<number, string>();
  const stream = new AsyncIOTransformStream(fn, { capacity: 5 });
  const { chunks, done } = collect(stream.readable);
  const { writer } = writeAll(stream.writable, [1, 2, 3, 4, 5]);
  await callsReach(5);
  for (const call of calls.slice(1).reverse()) {
    call.resolve(`r${call.input}`);
    await settle();
    assert.deepEqual(chunks, [], "nothing may pass the unfinished head");
  }
  calls[0]!.resolve("r1");
  await writer.close();
  await done;
  assert.deepEqual(chunks, ["r1", "r2", "r3", "r4", "r5"]);
});

test("AsyncIOTransformStream() emits each result as its call completes when unordered", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    order: "unordered",
    capacity: 5,
  });
  const { chunks, done } = collect(stream.readable);
  const { writer } = writeAll(stream.writable, [1, 2, 3, 4, 5]);
  await callsReach(5);
  const completionOrder = [3, 1, 5, 2, 4];
  const expected: number[] = [];
  for (const input of completionOrder) {
    calls[input - 1]!.resolve(input * 10);
    expected.push(input * 10);
    await settle();
    assert.deepEqual(chunks, expected);
  }
  await writer.close();
  await done;
});

test("AsyncIOTransformStream() keeps the outputs of one input together and in the order given", async () => {
  const stream = new AsyncIOTransformStream<number, string>({
    asyncInvoke(n, result) {
      setTimeout(() => result.complete([`${n}a`, `${n}b`, `${n}c`]), 5 - n);
    },
  }, { order: "unordered" });
  const output = await Array.fromAsync(
    ReadableStream.from([1, 2, 3]).pipeThrough(stream),
  );
  for (const n of [1, 2, 3]) {
    const at = output.indexOf(`${n}a`);
    assert.deepEqual(output.slice(at, at + 3), [`${n}a`, `${n}b`, `${n}c`]);
  }
  assert.equal(output.length, 9);
});

test("AsyncIOTransformStream() accepts synchronous results from the function form", async () => {
  const output = await Array.fromAsync(
    ReadableStream.from([1, 2, 3]).pipeThrough(
      new AsyncIOTransformStream((n: number) => n + 1),
    ),
  );
  assert.deepEqual(output, [2, 3, 4]);
});

test("AsyncIOTransformStream() waits for every in-flight call when the input ends", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, { order: "unordered" });
  const { chunks, done } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  await writer.write(1);
  await writer.write(2);
  let closed = false;
  const closing = writer.close().then(() => closed = true);
  await callsReach(2);
  await settle();
  assert.equal(closed, false, "close waits for in-flight calls");
  calls[1]!.resolve(20);
  await settle();
  assert.equal(closed, false);
  calls[0]!.resolve(10);
  await closing;
  await done;
  assert.deepEqual(chunks, [20, 10]);
});

test("orderedWait() and unorderedWait() build streams of the named order", async () => {
  for (
    const [wait, expected] of [[orderedWait, ["a", "b"]], [unorderedWait, [
      "b",
      "a",
    ]]] as const
  ) {
    const { fn, calls, callsReach } = controlledFn<string, string>();
    const output = Array.fromAsync(
      ReadableStream.from(["a", "b"]).pipeThrough(wait(fn)),
    );
    await callsReach(2);
    calls[1]!.resolve("b");
    await settle();
    calls[0]!.resolve("a");
    assert.deepEqual(await output, expected);
  }
});

test("orderedWait() and unorderedWait() take a batch function, with its order", async () => {
  for (const wait of [orderedWait, unorderedWait]) {
    const batches: number[][] = [];
    const held = deferred<void>();
    const stream = wait(
      async (ids: number[]) => {
        batches.push(ids);
        if (ids.includes(1)) await held.promise; // the first batch completes last
        return ids.map((id) => id * 10);
      },
      { batch: { maxSize: 2, maxWait: 60_000 } },
    );
    const output = Array.fromAsync(
      ReadableStream.from([1, 2, 3, 4]).pipeThrough(stream),
    );
    await until(() => batches.length === 2, "two batch calls");
    assert.deepEqual(batches, [[1, 2], [3, 4]]);
    await settle();
    held.resolve();
    assert.deepEqual(
      await output,
      wait === orderedWait ? [10, 20, 30, 40] : [30, 40, 10, 20],
    );
    assert.equal(stream.stats.batches, 2);
  }
});

test("AsyncIOTransformStream() counts its work in stats", async () => {
  const stream = new AsyncIOTransformStream<number, number>({
    asyncInvoke(n, result) {
      result.complete(n === 2 ? [] : [n, n]);
    },
  });
  assert.deepEqual(stream.stats, {
    accepted: 0,
    pending: 0,
    inFlight: 0,
    emitted: 0,
    outputs: 0,
    timedOut: 0,
    failedAttempts: 0,
    failed: 0,
    retries: 0,
    rateLimited: 0,
    batches: 0,
    batchedInputs: 0,
    concurrency: 100,
  });
  await ReadableStream.from([1, 2, 3]).pipeThrough(stream).pipeTo(
    new WritableStream(),
  );
  assert.equal(stream.stats.accepted, 3);
  assert.equal(stream.stats.emitted, 3);
  assert.equal(stream.stats.outputs, 4);
  assert.equal(stream.stats.pending, 0);
  assert.equal(stream.stats.inFlight, 0);
});

test("AsyncIOTransformStream() reports calls in flight in stats", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn);
  const { done } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  await writer.write(1);
  await writer.write(2);
  await callsReach(2);
  assert.equal(stream.stats.inFlight, 2);
  assert.equal(stream.stats.pending, 2);
  calls[0]!.resolve(1);
  calls[1]!.resolve(2);
  await writer.close();
  await done;
  assert.equal(stream.stats.inFlight, 0);
});
