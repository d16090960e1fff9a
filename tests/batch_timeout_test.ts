import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncIOTransformStream, type CallContext } from "../mod.ts";
import { collect, settle } from "./_deferred.ts";
import { until } from "./_within.ts";
import { controlledBatchFn, controlledBatchObject } from "./_batch.ts";

test("AsyncIOTransformStream() with batch runs the timeout handler of one input and leaves the others of its batch alone", async () => {
  const { fn, calls, callsReach } = controlledBatchObject<number, number>();
  const timedOut: number[] = [];
  const stream = new AsyncIOTransformStream(
    {
      ...fn,
      timeout(input, result) {
        timedOut.push(input);
        result.complete([-input]);
      },
    },
    { timeout: 60, batch: { maxSize: 3, maxWait: Infinity } },
  );
  const { chunks, done } = collect(stream.readable);
  const writing = ReadableStream.from([1, 2, 3]).pipeTo(stream.writable);
  await callsReach(1);
  const { futures } = calls[0]!;
  const signal = futures[0]!.signal;
  futures[0]!.complete([10]);
  futures[2]!.complete([30]);
  await settle();
  assert.equal(signal.aborted, false, "input 2 still waits for the call");
  await writing;
  await done;
  assert.deepEqual(chunks, [10, -2, 30]);
  assert.deepEqual(timedOut, [2]);
  assert.equal(stream.stats.timedOut, 1);
  assert.equal(signal.aborted, true, "no input waits for the call any more");
  assert.equal((signal.reason as DOMException).name, "TimeoutError");
});

test("AsyncIOTransformStream() with batch keeps the call running while one of its inputs times out", async () => {
  const { fn, calls, callsReach } = controlledBatchObject<number, number>();
  const stream = new AsyncIOTransformStream(
    {
      ...fn,
      timeout(input, result) {
        result.complete([-input]);
      },
    },
    { timeout: 40, batch: { maxSize: 2, maxWait: Infinity } },
  );
  const { chunks, done } = collect(stream.readable);
  const writing = ReadableStream.from([1, 2]).pipeTo(stream.writable);
  await callsReach(1);
  const { futures } = calls[0]!;
  // Neither input completes in time. Waiting for both timeouts rather than
  // a fixed 50 ms: a loaded machine may fire a 40 ms timer later than that.
  await until(() => stream.stats.timedOut === 2, "both inputs' timeouts");
  futures[1]!.complete([20]); // too late: its timeout handler already ran
  await writing;
  await done;
  assert.deepEqual(chunks, [-1, -2]);
});

test("AsyncIOTransformStream() with batch re-sends only the inputs still incomplete on retry", async () => {
  const { fn, calls, callsReach } = controlledBatchObject<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    retry: { maxAttempts: 3 },
    batch: { maxSize: 4, maxWait: Infinity },
  });
  const { chunks, done } = collect(stream.readable);
  const writing = ReadableStream.from([1, 2, 3, 4]).pipeTo(stream.writable);
  await callsReach(1);
  const first = calls[0]!;
  first.futures[0]!.complete([10]);
  first.futures[2]!.complete([30]);
  first.reject(new Error("the rest failed"));
  await callsReach(2);
  const second = calls[1]!;
  assert.deepEqual(second.inputs, [2, 4]);
  assert.deepEqual(second.futures.map((future) => future.attempt), [2, 2]);
  second.futures[0]!.complete([20]);
  second.futures[1]!.completeExceptionally(new Error("4 failed again"));
  await callsReach(3);
  assert.deepEqual(calls[2]!.inputs, [4]);
  calls[2]!.futures[0]!.complete([40]);
  await writing;
  await done;
  assert.deepEqual(chunks, [10, 20, 30, 40]);
  assert.equal(stream.stats.retries, 3);
  assert.equal(stream.stats.batches, 3);
  assert.equal(stream.stats.batchedInputs, 7);
});

test("AsyncIOTransformStream() with batch applies attemptTimeout to the call and retries its inputs together", async () => {
  const { fn, calls, callsReach } = controlledBatchFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    attemptTimeout: 40,
    retry: { maxAttempts: 2 },
    batch: { maxSize: 2, maxWait: Infinity },
  });
  const { chunks, done } = collect(stream.readable);
  const writing = ReadableStream.from([1, 2]).pipeTo(stream.writable);
  await callsReach(1);
  const { signal } = calls[0]!.context;
  await callsReach(2);
  assert.equal(signal.aborted, true);
  assert.equal((signal.reason as DOMException).name, "TimeoutError");
  assert.deepEqual(calls[1]!.inputs, [1, 2]);
  assert.equal(calls[1]!.context.attempt, 2);
  calls[0]!.resolve([-1, -2]); // too late
  calls[1]!.resolve([1, 2]);
  await writing;
  await done;
  assert.deepEqual(chunks, [1, 2]);
  assert.equal(stream.stats.failedAttempts, 2);
});

test("AsyncIOTransformStream() with batch fails every input of a call that throws, then the stream", async () => {
  const seen: number[][] = [];
  const stream = new AsyncIOTransformStream((inputs: number[]) => {
    seen.push(inputs);
    throw new Error("down");
  }, { batch: { maxSize: 2, maxWait: 0 } });
  await assert.rejects(
    ReadableStream.from([1, 2]).pipeThrough(stream).pipeTo(
      new WritableStream(),
    ),
    { message: "down" },
  );
  assert.deepEqual(seen, [[1, 2]]);
  assert.equal(stream.stats.failed >= 1, true);
});

test("AsyncIOTransformStream() with batch aborts the call's signal once every input completed through its future", async () => {
  const { fn, calls, callsReach } = controlledBatchObject<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    batch: { maxSize: 2, maxWait: Infinity },
  });
  const { done } = collect(stream.readable);
  const writing = ReadableStream.from([1, 2]).pipeTo(stream.writable);
  await callsReach(1);
  const { futures } = calls[0]!;
  futures[0]!.complete([1]);
  assert.equal(futures[0]!.signal.aborted, false);
  futures[1]!.complete([2]);
  assert.equal(futures[0]!.signal.aborted, true);
  assert.equal((futures[0]!.signal.reason as DOMException).name, "AbortError");
  calls[0]!.resolve();
  await writing;
  await done;
});

test("AsyncIOTransformStream() with batch leaves a returned call's signal alone", async () => {
  const { fn, calls, callsReach } = controlledBatchFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    batch: { maxSize: 2, maxWait: Infinity },
  });
  const { done } = collect(stream.readable);
  const writing = ReadableStream.from([1, 2]).pipeTo(stream.writable);
  await callsReach(1);
  calls[0]!.resolve([1, 2]);
  await writing;
  await done;
  assert.equal(calls[0]!.context.signal.aborted, false);
});

test("AsyncIOTransformStream() with batch routes a failed input to the error policy on its own", async () => {
  const handled: number[] = [];
  const stream = new AsyncIOTransformStream<number, number>({
    asyncInvokeBatch(inputs, futures) {
      inputs.forEach((n, i) => {
        if (n === 2) futures[i]!.completeExceptionally(new Error("no 2"));
        else futures[i]!.complete([n * 10]);
      });
    },
  }, {
    onError: (_, input) => (handled.push(input), [-input]),
    batch: { maxSize: 3, maxWait: 0 },
  });
  const output: number[] = [];
  for await (
    const chunk of ReadableStream.from([1, 2, 3]).pipeThrough(stream)
  ) output.push(chunk);
  assert.deepEqual(output, [10, -2, 30]);
  assert.deepEqual(handled, [2]);
  assert.equal(stream.stats.failed, 1);
  assert.equal(stream.stats.batches, 1);
});

test("AsyncIOTransformStream() with batch settles each input of a failed call under onError: settle", async () => {
  const error = new Error("down");
  const stream = new AsyncIOTransformStream(
    (inputs: number[]) =>
      inputs.includes(2) ? Promise.reject(error) : Promise.resolve(inputs),
    { onError: "settle", batch: { maxSize: 2, maxWait: 0 } },
  );
  const output: unknown[] = [];
  for await (
    const chunk of ReadableStream.from([1, 2, 3]).pipeThrough(stream)
  ) output.push(chunk);
  assert.deepEqual(output, [
    { status: "rejected", input: 1, reason: error },
    { status: "rejected", input: 2, reason: error },
    { status: "fulfilled", input: 3, value: 3 },
  ]);
});

test("AsyncIOTransformStream() with batch aborts a batch call at once when a timeout handler stops the stream while the call's other input is due too", async () => {
  const stop = new AbortController();
  let batchSignal: AbortSignal | undefined;
  const seenInHandler: boolean[] = [];
  const stream = new AsyncIOTransformStream(
    (_inputs: number[], { signal }: CallContext) => {
      batchSignal = signal;
      return new Promise<number[]>(() => {});
    },
    {
      batch: { maxSize: 2, maxWait: 0 },
      timeout: 20,
      signal: stop.signal,
      onTimeout: () => {
        stop.abort(new Error("stop"));
        seenInHandler.push(batchSignal!.aborted);
      },
    },
  );
  const writer = stream.writable.getWriter();
  void writer.write(1).catch(() => {});
  void writer.write(2).catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, 60));
  // Both inputs were due in one timer; the first handler stopped the stream.
  assert.deepEqual(seenInHandler, [true]);
  await stream.readable.cancel().catch(() => {});
});
