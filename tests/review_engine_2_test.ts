// Review of today's engine changes (the retry deadline check, stats of
// restored records, strategy checks, marker instanceof): each test here
// failed on the code before its fix, or pins a case that held.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AsyncIOState,
  AsyncIOTransformStream,
  type CallContext,
  mapAsync,
} from "../mod.ts";
import { deferred, settle } from "./_deferred.ts";

const record = <I>(input: I) => ({ kind: "record", input }) as const;

/**
 * Runs `body` with `performance.now()` replaced by `clock(realNow)`, as the
 * attempt timeout tests move it ahead.
 */
async function withClock(
  clock: (realNow: () => number) => number,
  body: () => Promise<void>,
): Promise<void> {
  // Bun has `now` on the object itself, Deno and browsers on its prototype.
  const own = Object.getOwnPropertyDescriptor(performance, "now");
  const realNow = performance.now.bind(performance);
  performance.now = () => clock(realNow);
  try {
    await body();
  } finally {
    if (own === undefined) delete (performance as { now?: unknown }).now;
    else Object.defineProperty(performance, "now", own);
  }
}

test("AsyncIOTransformStream() never calls a batch function with no input when a retry's budget runs out between the slot's check and the call's start, and keeps its call slot free", async () => {
  // The clock reads on time until the retry's check for a slot, and past
  // every deadline from the read after it: the budget runs out between the
  // dispatcher's check and the call's own.
  let reads = 0;
  let stepAfter = Infinity;
  await withClock((realNow) => {
    reads++;
    return realNow() + (reads > stepAfter ? 10_000 : 0);
  }, async () => {
    const batches: number[][] = [];
    const fn = async (inputs: number[], { attempt }: CallContext) => {
      batches.push(inputs);
      if (inputs[0] === 1 && attempt === 1) {
        // Past the deadline's stamp, well before its timer.
        await new Promise((resolve) => setTimeout(resolve, 30));
        stepAfter = reads + 1;
        throw new Error("attempt 1");
      }
      return inputs.map((n) => n * 10);
    };
    const stream = new AsyncIOTransformStream<number, number, never, "settle">(
      fn,
      {
        timeout: 200,
        concurrency: 1,
        retry: { maxAttempts: 5, delay: 0 },
        onError: "settle",
        batch: { maxSize: 1, maxWait: 0 },
      },
    );
    const writer = stream.writable.getWriter();
    const reader = stream.readable.getReader();
    void writer.write(1);
    const first = await reader.read();
    assert.equal(
      (first.value as { reason: DOMException }).reason.name,
      "TimeoutError",
    );
    // The call slot is free: the next input's call starts and returns.
    void writer.write(2);
    const second = await reader.read();
    assert.deepEqual(second.value, {
      status: "fulfilled",
      input: 2,
      value: 20,
    });
    assert.deepEqual(batches, [[1], [2]]);
    assert.equal(stream.stats.batches, 2);
    void writer.close();
    assert.equal((await reader.read()).done, true);
  });
});

test("AsyncIOTransformStream.snapshot() and stats keep a restored record whose turn came as the stream stopped", async () => {
  const restore: AsyncIOState<number> = {
    version: 1,
    entries: [record(1), record(2), record(3)],
  };
  const stopper = new AbortController();
  const stream = new AsyncIOTransformStream((n: number) => n, {
    restore,
    capacity: 1,
    signal: stopper.signal,
  });
  const reader = stream.readable.getReader();
  // Record 1's result fills the readable; record 2 waits for a read.
  while (stream.stats.emitted < 1) await settle();
  assert.deepEqual(stream.snapshot().entries, [record(2), record(3)]);
  // The read pulls, which lets record 2 in from a microtask; the stop
  // comes first.
  const read = reader.read();
  stopper.abort(new Error("stopped"));
  assert.equal((await read).value, 1);
  await settle();
  assert.deepEqual(stream.snapshot().entries, [record(2), record(3)]);
  const stats = stream.stats;
  assert.equal(stats.accepted, 3);
  assert.equal(stats.pending, 2);
});

test("mapAsync() snapshot() and stats keep a restored record whose turn came as the iteration stopped", async () => {
  const restore: AsyncIOState<number> = {
    version: 1,
    entries: [record(1), record(2), record(3)],
  };
  const iterator = mapAsync<number, number>([], (n: number) => n, {
    restore,
    capacity: 1,
  });
  assert.deepEqual(await iterator.next(), { done: false, value: 1 });
  // Record 2's result waits in the buffer, so record 3 waits for a next().
  await settle();
  assert.deepEqual(iterator.snapshot().entries, [record(2), record(3)]);
  const next = iterator.next(); // pulls: record 3 comes in from a microtask
  await iterator.return();
  assert.deepEqual(await next, { done: false, value: 2 });
  await settle();
  assert.deepEqual(iterator.snapshot().entries, [record(3)]);
  assert.equal(iterator.stats.pending, 1);
  void deferred;
});
