import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AsyncIOState,
  AsyncIOTransformStream,
  CheckpointBarrier,
  type ConcurrencyLimit,
  type ConcurrencySample,
} from "../mod.ts";
import { collect, settle } from "./_deferred.ts";
import { controlledBatchFn } from "./_batch.ts";

const prefix = "Cannot construct AsyncIOTransformStream as";
const record = <I>(input: I) => ({ kind: "record", input }) as const;
const echo = (inputs: number[]) => inputs;

test("AsyncIOTransformStream() with batch keeps the open batch's inputs in a checkpoint, and restore re-batches them", async () => {
  const { fn, calls } = controlledBatchFn<number, number>();
  const states: AsyncIOState<number>[] = [];
  const stream = new AsyncIOTransformStream<number, number, CheckpointBarrier>(
    fn,
    {
      capacity: 10,
      batch: { maxSize: 3, maxWait: Infinity },
      onCheckpoint: (state) => void states.push(state),
    },
  );
  const { chunks, stop } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  for (const n of [1, 2, 3, 4, 5]) await writer.write(n);
  await writer.write(new CheckpointBarrier(1));
  await settle();
  // 1 2 3 are in flight; 4 and 5 wait in the open batch, which the barrier
  // does not close.
  assert.deepEqual(calls.map((call) => call.inputs), [[1, 2, 3]]);
  assert.deepEqual(states[0]!.entries, [1, 2, 3, 4, 5].map(record));
  assert.deepEqual(chunks, [new CheckpointBarrier(1)]);
  await stop("crash");
  assert.deepEqual(stream.snapshot(), states[0]);

  const seen: number[][] = [];
  const resumed = new AsyncIOTransformStream(
    (inputs: number[]) => {
      seen.push(inputs);
      return inputs.map((n) => n * 10);
    },
    {
      capacity: 10,
      batch: { maxSize: 3, maxWait: Infinity },
      restore: states[0]!,
    },
  );
  const output = await Array.fromAsync(
    ReadableStream.from([6]).pipeThrough(resumed),
  );
  assert.deepEqual(output, [10, 20, 30, 40, 50, 60]);
  assert.deepEqual(seen, [[1, 2, 3], [4, 5, 6]]);
});

test("AsyncIOTransformStream() with batch aborts every call at once on cancel, and never starts the open batch", async () => {
  const { fn, calls, callsReach } = controlledBatchFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    capacity: 10,
    concurrency: 2,
    batch: { maxSize: 2, maxWait: 30 },
  });
  const { stop } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  for (const n of [1, 2, 3, 4, 5]) await writer.write(n);
  await callsReach(2);
  const signals = calls.map((call) => call.context.signal);
  await stop("stopped");
  assert.deepEqual(signals.map((signal) => signal.reason), [
    "stopped",
    "stopped",
  ]);
  await settle(60); // past maxWait: the open batch [5] never starts
  assert.equal(calls.length, 2);
  assert.deepEqual(stream.snapshot().entries, [1, 2, 3, 4, 5].map(record));
  assert.equal(stream.stats.inFlight, 0);
});

test("AsyncIOTransformStream() with batch aborts a call whose inputs wait to retry, and never retries them", async () => {
  let called = 0;
  const stream = new AsyncIOTransformStream(
    (_: number[]) => {
      called++;
      return Promise.reject(new Error("again"));
    },
    {
      retry: { maxAttempts: 3, delay: 30 },
      batch: { maxSize: 2, maxWait: 0 },
    },
  );
  const { stop } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  await writer.write(1);
  await writer.write(2);
  while (stream.stats.failedAttempts < 2) await settle(1);
  await stop("stopped");
  await settle(60);
  assert.equal(called, 1);
});

test("AsyncIOTransformStream() with batch passes the highest attempt of its inputs in the context", async () => {
  const attempts: number[][] = [];
  let failed = false;
  const stream = new AsyncIOTransformStream(
    (inputs: number[], context) => {
      assert.ok(Object.isFrozen(context), "a context could be changed");
      attempts.push([context.attempt, ...inputs]);
      if (!failed) {
        failed = true;
        throw new Error("once");
      }
      return inputs;
    },
    { retry: { maxAttempts: 2 }, batch: { maxSize: 2, maxWait: 0 } },
  );
  const output = await Array.fromAsync(
    ReadableStream.from([1, 2]).pipeThrough(stream),
  );
  assert.deepEqual(output, [1, 2]);
  assert.deepEqual(attempts, [[1, 1, 2], [2, 1, 2]]);
});

for (
  const { batch, capacity, error, message } of [
    {
      batch: { maxSize: 0, maxWait: 1 },
      error: RangeError,
      message: "batch.maxSize must be a positive integer: current value is 0",
    },
    {
      batch: { maxSize: 2.5, maxWait: 1 },
      error: RangeError,
      message: "batch.maxSize must be a positive integer: current value is 2.5",
    },
    {
      batch: { maxSize: 11, maxWait: 1 },
      capacity: 10,
      error: RangeError,
      message:
        "batch.maxSize must be at most capacity (10): current value is 11",
    },
    {
      batch: { maxSize: 5, maxWait: -1 },
      error: RangeError,
      message:
        "batch.maxWait must be a non-negative number: current value is -1",
    },
    {
      batch: { maxSize: 5, maxWait: NaN },
      error: RangeError,
      message:
        "batch.maxWait must be a non-negative number: current value is NaN",
    },
    {
      batch: { maxSize: 5 },
      error: TypeError, // a required member that is missing: a wrong shape
      message:
        "batch.maxWait must be a non-negative number: current value is undefined",
    },
    {
      batch: null,
      error: TypeError,
      message: "batch must be an object: current value is null",
    },
  ]
) {
  test(`AsyncIOTransformStream() throws ${error.name}: ${message}`, () => {
    assert.throws(
      () =>
        new AsyncIOTransformStream(
          echo,
          { capacity, batch } as unknown as { batch: never },
        ),
      { name: error.name, message: `${prefix} ${message}` },
    );
  });
}

test("AsyncIOTransformStream() with batch needs asyncInvokeBatch on an object", () => {
  assert.throws(
    () =>
      new AsyncIOTransformStream(
        { asyncInvoke() {} } as never,
        { batch: { maxSize: 2, maxWait: 0 } },
      ),
    {
      name: "TypeError",
      message:
        `${prefix} fn must be a function or an object with an asyncInvokeBatch method when batch is set: current value is an object`,
    },
  );
});

test("AsyncIOTransformStream() with batch accepts maxWait 0 and Infinity, and maxSize equal to capacity", () => {
  new AsyncIOTransformStream(echo, { batch: { maxSize: 100, maxWait: 0 } });
  new AsyncIOTransformStream(echo, {
    capacity: 5,
    batch: { maxSize: 5, maxWait: Infinity },
  });
});

test("AsyncIOTransformStream() infers a batch function's types from the batch option", async () => {
  const stream = new AsyncIOTransformStream(
    (ids: string[]) => Promise.resolve(ids.map((id) => id.length)),
    { batch: { maxSize: 2, maxWait: 0 } },
  );
  const lengths: number[] = await Array.fromAsync(
    ReadableStream.from(["a", "bb"]).pipeThrough(stream),
  );
  assert.deepEqual(lengths, [1, 2]);
});

// Checked by the compiler, never run: a per-input function cannot take the
// batch option (at run time any function is taken as a batch function).
export function perInputFunctionWithBatchIsATypeError(): void {
  // @ts-expect-error: (id: string) => number is not a BatchMapper
  new AsyncIOTransformStream((id: string) => id.length, {
    batch: { maxSize: 2, maxWait: 0 },
  });
}

test("AsyncIOTransformStream() with batch and an adaptive limit samples calls, not inputs", async () => {
  const samples: ConcurrencySample[] = [];
  const limit: ConcurrencyLimit = {
    limit: 2,
    update: (sample) => void samples.push(sample),
  };
  const stream = new AsyncIOTransformStream(
    (inputs: number[]) =>
      new Promise<number[]>((resolve) => setTimeout(() => resolve(inputs), 5)),
    { capacity: 40, concurrency: limit, batch: { maxSize: 10, maxWait: 0 } },
  );
  // Enough batches of 10 for a window, which spans at least one second.
  const source = new ReadableStream<number>({
    start: () => void setTimeout(() => (stopped = true), 1_300),
    pull: (controller) => stopped ? controller.close() : controller.enqueue(1),
  });
  let stopped = false;
  await source.pipeThrough(stream).pipeTo(new WritableStream());
  assert.ok(samples.length >= 1, "a window closed");
  // Each input samples its call: the call's time, and the calls (not the
  // inputs, up to 20) in flight when it started.
  const [first] = samples;
  assert.ok(first!.rtt >= 4 && first!.rtt < 500, `rtt ${first!.rtt}`);
  assert.ok(
    samples.every((sample) => sample.inFlight >= 1 && sample.inFlight <= 2),
    `${samples[0]!.inFlight}`,
  );
  assert.ok(stream.stats.batchedInputs / stream.stats.batches > 5);
});
