import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncIOTransformStream } from "../mod.ts";
import { collect, controlledFn, settle } from "./_deferred.ts";

test("AsyncIOTransformStream() keeps at most `concurrency` calls in flight", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    capacity: 6,
    concurrency: 2,
  });
  const { chunks, done } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  for (let i = 0; i < 6; i++) void writer.write(i);
  await callsReach(2);
  await settle();
  assert.equal(calls.length, 2);
  assert.equal(stream.stats.inFlight, 2);
  assert.equal(stream.stats.pending, 6);
  calls[1]!.resolve(1); // a later call completes: the next input starts
  await callsReach(3);
  await settle();
  assert.equal(calls.length, 3);
  assert.deepEqual(chunks, []); // the head is still running
  for (let i = 0; i < 6; i++) {
    await callsReach(i + 1);
    calls[i]!.resolve(i);
  }
  await writer.close();
  await done;
  assert.deepEqual(chunks, [0, 1, 2, 3, 4, 5]);
});

test("AsyncIOTransformStream() starts new calls while a slow head holds results", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    capacity: 4,
    concurrency: 2,
  });
  const { chunks, done } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  for (let i = 0; i < 4; i++) void writer.write(i);
  await callsReach(2);
  await settle();
  assert.equal(calls.length, 2);
  calls[1]!.resolve(1);
  await callsReach(3);
  calls[2]!.resolve(2);
  await callsReach(4); // three calls started past a head that never moved
  assert.deepEqual(chunks, []);
  calls[3]!.resolve(3);
  calls[0]!.resolve(0);
  await writer.close();
  await done;
  assert.deepEqual(chunks, [0, 1, 2, 3]);
});

test("AsyncIOTransformStream() rejects a concurrency that is not a positive integer", () => {
  for (const concurrency of [0, -1, 1.5, Number.NaN]) {
    assert.throws(
      () => new AsyncIOTransformStream((x: number) => x, { concurrency }),
      RangeError,
    );
  }
});

test("AsyncIOTransformStream() keeps to `concurrency` under a rate limit", async () => {
  let inFlight = 0;
  let most = 0;
  const stream = new AsyncIOTransformStream(
    async (n: number) => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 3));
      inFlight--;
      return n;
    },
    { capacity: 8, concurrency: 2, rateLimit: { limit: 3, interval: 10 } },
  );
  const inputs = Array.from({ length: 12 }, (_, i) => i);
  assert.deepEqual(
    await Array.fromAsync(ReadableStream.from(inputs).pipeThrough(stream)),
    inputs,
  );
  assert.equal(most, 2);
});
