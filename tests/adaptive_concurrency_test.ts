import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AsyncIOTransformStream,
  type ConcurrencyLimit,
  type ConcurrencySample,
  vegas,
} from "../mod.ts";
import { collect, controlledFn, settle } from "./_deferred.ts";

/** For writes that the end of a test rejects. */
const ignore = () => {};

/** A limit that says whatever the test sets, and records its samples. */
class Scripted implements ConcurrencyLimit {
  limit: number;
  samples: ConcurrencySample[] = [];
  constructor(limit: number) {
    this.limit = limit;
  }
  update(sample: ConcurrencySample): void {
    this.samples.push(sample);
  }
}

test("setConcurrency() raised mid-stream starts more calls at once, in order", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    capacity: 6,
    concurrency: 1,
  });
  const { chunks, done } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  for (let i = 0; i < 6; i++) void writer.write(i);
  await callsReach(1);
  await settle();
  assert.equal(calls.length, 1);
  stream.setConcurrency(4);
  assert.equal(stream.stats.concurrency, 4);
  await callsReach(4);
  await settle();
  assert.equal(calls.length, 4);
  assert.equal(stream.stats.pending, 6); // capacity still holds
  // Completed in reverse, emitted in input order.
  for (let i = 3; i >= 0; i--) calls[i]!.resolve(i);
  await callsReach(6);
  calls[5]!.resolve(5);
  calls[4]!.resolve(4);
  await writer.close();
  await done;
  assert.deepEqual(chunks, [0, 1, 2, 3, 4, 5]);
});

test("setConcurrency() lowered mid-stream aborts no running call and starts none until below it", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    capacity: 8,
    concurrency: 4,
  });
  const { chunks, done } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  for (let i = 0; i < 8; i++) void writer.write(i);
  await callsReach(4);
  stream.setConcurrency(2);
  assert.equal(stream.stats.concurrency, 2);
  assert.ok(calls.every((call) => !call.context.signal.aborted));
  assert.equal(stream.stats.inFlight, 4);
  calls[0]!.resolve(0);
  calls[1]!.resolve(1);
  await settle();
  assert.equal(calls.length, 4); // 2 still in flight: none may start
  calls[2]!.resolve(2);
  await callsReach(5); // 1 in flight: one more
  await settle();
  assert.equal(calls.length, 5);
  assert.equal(stream.stats.inFlight, 2);
  for (let i = 3; i < 8; i++) {
    await callsReach(i + 1);
    calls[i]!.resolve(i);
  }
  await writer.close();
  await done;
  assert.deepEqual(chunks, [0, 1, 2, 3, 4, 5, 6, 7]);
});

test("setConcurrency() rejects what is not a positive integer up to capacity", () => {
  const stream = new AsyncIOTransformStream((n: number) => n, {
    capacity: 5,
  });
  stream.setConcurrency(5);
  assert.equal(stream.stats.concurrency, 5);
  assert.throws(
    () => stream.setConcurrency(6),
    new RangeError(
      "Cannot set the concurrency as it must be at most capacity (5): current value is 6",
    ),
  );
  assert.equal(stream.stats.concurrency, 5);
  for (const value of [0, -1, 2.5, Number.NaN]) {
    assert.throws(
      () => stream.setConcurrency(value),
      new RangeError(
        `Cannot set the concurrency as it must be a positive integer: current value is ${value}`,
      ),
    );
  }
});

test("setConcurrency() replaces an adaptive limit with a fixed one", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    capacity: 6,
    concurrency: new Scripted(1),
  });
  const writer = stream.writable.getWriter();
  for (let i = 0; i < 3; i++) writer.write(i).catch(ignore);
  await callsReach(1);
  stream.setConcurrency(3);
  await callsReach(3);
  assert.equal(stream.stats.concurrency, 3);
  await writer.abort();
  assert.equal(calls.length, 3);
});

test("an adaptive limit never lets more calls than capacity be in flight", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    capacity: 3,
    concurrency: new Scripted(1e6),
  });
  assert.equal(stream.stats.concurrency, 3);
  const writer = stream.writable.getWriter();
  for (let i = 0; i < 6; i++) writer.write(i).catch(ignore);
  await callsReach(3);
  await settle();
  assert.equal(calls.length, 3);
  assert.equal(stream.stats.inFlight, 3);
  await writer.abort();
});

test("a built-in limit starts at its initial value, within capacity", () => {
  const stream = new AsyncIOTransformStream((n: number) => n, {
    capacity: 100,
    concurrency: vegas({ initial: 7 }),
  });
  assert.equal(stream.stats.concurrency, 7);
  assert.throws(
    () =>
      new AsyncIOTransformStream((n: number) => n, {
        capacity: 10,
        concurrency: vegas({ max: 11 }),
      }),
    new RangeError(
      "Cannot bind the vegas limit to capacity 10 as max must not exceed it: current value is 11",
    ),
  );
});

test("AsyncIOTransformStream() rejects a concurrency that is neither a number nor a limit", () => {
  for (const concurrency of [{}, { limit: 3 }, "auto", null]) {
    assert.throws(
      () =>
        new AsyncIOTransformStream((n: number) => n, {
          concurrency: concurrency as never,
        }),
      new TypeError(
        `Cannot construct AsyncIOTransformStream as concurrency must be a positive integer or a ConcurrencyLimit: current value is ${
          typeof concurrency === "string"
            ? `"${concurrency}"`
            : concurrency === null
            ? "null"
            : "an object"
        }`,
      ),
    );
  }
});

test("an adaptive limit is sampled per attempt, with retryable errors and timeouts as drops", async () => {
  class Retryable extends Error {}
  const scripted = new Scripted(10);
  let attempts = 0;
  const stream = new AsyncIOTransformStream(
    (n: number, { attempt, signal }) => {
      attempts++;
      if (n === 99) return n; // the late input that closes the window
      if (n === 3) {
        if (attempt > 1) return n;
        // Hangs until its attempt timeout aborts it.
        return new Promise<number>((_, reject) =>
          signal.addEventListener("abort", () => reject(signal.reason))
        );
      }
      if (attempt < 3) throw new Retryable();
      return n;
    },
    {
      capacity: 10,
      concurrency: scripted,
      attemptTimeout: 20,
      retry: {
        maxAttempts: 3,
        retryOnError: (error) =>
          error instanceof Retryable ||
          (error as Error).name === "TimeoutError",
      },
    },
  );
  const { chunks, done } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  // Inputs 0-2: two failed attempts each, then a success. Input 3: a timed
  // out attempt, then a success. 11 attempts, 7 of them drops, 1 timeout.
  for (let i = 0; i < 4; i++) await writer.write(i);
  while (chunks.length < 4) await settle(5);
  assert.equal(scripted.samples.length, 0); // under a second so far
  await settle(1_100);
  await writer.write(99); // the 12th attempt, past a second: it closes the window
  await writer.close();
  await done;
  assert.equal(attempts, 12);
  assert.equal(scripted.samples.length, 1);
  const [sample] = scripted.samples;
  assert.equal(sample!.calls, 12);
  assert.equal(sample!.dropped, 7);
  assert.equal(sample!.timedOut, 1);
  assert.ok(sample!.inFlight >= 1 && sample!.inFlight <= 4);
  assert.ok(sample!.rtt > 0);
});

test("a limit whose update throws fails the stream with its error", async () => {
  const failure = new Error("broken limit");
  const broken: ConcurrencyLimit = {
    limit: 5,
    update() {
      throw failure;
    },
  };
  const stream = new AsyncIOTransformStream(
    (n: number) =>
      new Promise<number>((resolve) => setTimeout(resolve, 110, n)),
    { concurrency: broken, capacity: 20 },
  );
  // 110 ms calls, 5 at a time: the first window closes after a second, at
  // about the 50th call, and its update fails the stream.
  const input = Array.from({ length: 60 }, (_, i) => i);
  await assert.rejects(
    ReadableStream.from(input).pipeThrough(stream).pipeTo(new WritableStream()),
    (error) => error === failure,
  );
});

test("setConcurrency() called from a limit's update wins over that update", async () => {
  const limit = {
    limit: 3,
    update() {
      this.limit = 50; // what it says...
      stream.setConcurrency(2); // ...and what it then fixes
    },
  };
  const stream = new AsyncIOTransformStream(
    (n: number) => new Promise<number>((resolve) => setTimeout(resolve, 50, n)),
    { capacity: 60, concurrency: limit },
  );
  const input = Array.from({ length: 90 }, (_, i) => i); // > 1 s at 3 × 50 ms
  await ReadableStream.from(input).pipeThrough(stream).pipeTo(
    new WritableStream(),
  );
  assert.equal(stream.stats.concurrency, 2);
});

test("an adaptive limit leaves stop semantics unchanged: cancel aborts every call", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    capacity: 10,
    concurrency: vegas({ initial: 3, min: 1 }),
  });
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  void reader.read().catch(() => {});
  for (let i = 0; i < 5; i++) writer.write(i).catch(ignore);
  await callsReach(3);
  await settle();
  assert.equal(calls.length, 3);
  const reason = new Error("consumer gone");
  await reader.cancel(reason);
  for (const call of calls) assert.equal(call.context.signal.reason, reason);
  await assert.rejects(writer.closed, (error) => error === reason);
  assert.equal(stream.stats.inFlight, 0);
  assert.equal(calls.length, 3); // nothing started after the cancel
});

test("an adaptive limit and rateLimit compose: the limit caps calls in flight", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    capacity: 10,
    concurrency: new Scripted(2),
    rateLimit: { limit: 100, interval: 60_000 },
  });
  const writer = stream.writable.getWriter();
  for (let i = 0; i < 5; i++) writer.write(i).catch(ignore);
  await callsReach(2);
  await settle();
  assert.equal(calls.length, 2);
  calls[0]!.resolve(0);
  await callsReach(3);
  await settle();
  assert.equal(calls.length, 3);
  assert.equal(stream.stats.rateLimited, 0);
  await writer.abort();
});
