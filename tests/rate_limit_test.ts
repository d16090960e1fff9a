import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncIOTransformStream, type CallContext } from "../mod.ts";
import { collect, settle } from "./_deferred.ts";

/**
 * Asserts that no `limit + 1` starts fall within one `interval`. The starts
 * are stamped inside the call, a little after the limiter read its clock; on
 * a loaded machine the process may be preempted in between, hence a generous
 * margin of a quarter of the interval.
 */
function assertWindows(starts: number[], limit: number, interval: number) {
  const margin = interval / 4;
  for (let i = 0; i + limit < starts.length; i++) {
    const span = starts[i + limit]! - starts[i]!;
    assert.ok(
      span >= interval - margin,
      `starts ${i} and ${i + limit} are only ${span.toFixed(2)} ms apart`,
    );
  }
}

test("AsyncIOTransformStream() starts no more than limit calls in any window of interval ms", async () => {
  for (const order of ["ordered", "unordered"] as const) {
    const starts: number[] = [];
    const stream = new AsyncIOTransformStream(
      (n: number) => {
        starts.push(performance.now());
        return n;
      },
      { order, capacity: 20, rateLimit: { limit: 3, interval: 80 } },
    );
    const output = await Array.fromAsync(
      ReadableStream.from(Array.from({ length: 10 }, (_, i) => i)).pipeThrough(
        stream,
      ),
    );
    assert.equal(output.length, 10);
    assertWindows(starts, 3, 80);
    assert.ok(stream.stats.rateLimited >= 7, `${stream.stats.rateLimited}`);
  }
});

test("AsyncIOTransformStream() counts retries against the rate limit", async () => {
  const starts: number[] = [];
  const stream = new AsyncIOTransformStream(
    (n: number, { attempt }: CallContext) => {
      starts.push(performance.now());
      return attempt < 3 ? Promise.reject(new Error("again")) : n;
    },
    {
      capacity: 10,
      retry: { maxAttempts: 3 },
      rateLimit: { limit: 2, interval: 80 },
    },
  );
  const output = await Array.fromAsync(
    ReadableStream.from([1, 2, 3]).pipeThrough(stream),
  );
  assert.deepEqual(output, [1, 2, 3]);
  assert.equal(starts.length, 9);
  assertWindows(starts, 2, 80);
});

test("AsyncIOTransformStream() does not count time waiting for the rate limit against the timeout", async () => {
  const stream = new AsyncIOTransformStream(
    async (n: number) => {
      await settle(1);
      return n;
    },
    {
      capacity: 10,
      timeout: 100,
      rateLimit: { limit: 1, interval: 80 },
    },
  );
  // The fourth input waits about 240 ms for its start: longer than the budget.
  const output = await Array.fromAsync(
    ReadableStream.from([1, 2, 3, 4]).pipeThrough(stream),
  );
  assert.deepEqual(output, [1, 2, 3, 4]);
  assert.equal(stream.stats.timedOut, 0);
});

test("AsyncIOTransformStream() drops calls waiting for the rate limit on cancel", async () => {
  let calls = 0;
  const stream = new AsyncIOTransformStream(
    (n: number) => {
      calls++;
      return n;
    },
    { capacity: 10, rateLimit: { limit: 1, interval: 1_000 } },
  );
  const { chunks, stop } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  for (const n of [1, 2, 3]) await writer.write(n);
  await settle();
  await stop("cancelled");
  await settle(1_100); // longer than the window the other calls waited for
  assert.equal(calls, 1);
  assert.deepEqual(chunks, [1]);
});
