import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncIOTransformStream, type OutputOrder, Watermark } from "../mod.ts";
import { collect, settle } from "./_deferred.ts";
import { controlledBatchFn, controlledBatchObject } from "./_batch.ts";

const keyOf = (input: string) => input[0]!;
const upper = (inputs: string[]) => inputs.map((input) => input.toUpperCase());

/** Which inputs each call got, and the outputs in the order they left. */
interface Run {
  batches: string[][];
  chunks: string[];
}

/**
 * Writes a1 b1 a2 c1 with batches of 2, then completes the calls from the
 * last to the first, each input of a call from its last to its first
 * (the function form completes a call's inputs all at once).
 */
async function run(order: OutputOrder, form: "function" | "object") {
  const options = {
    order,
    key: keyOf,
    capacity: 10,
    batch: { maxSize: 2, maxWait: Infinity },
  };
  const fnForm = controlledBatchFn<string, string>();
  const objectForm = controlledBatchObject<string, string>();
  const stream = form === "function"
    ? new AsyncIOTransformStream(fnForm.fn, options)
    : new AsyncIOTransformStream(objectForm.fn, options);
  const { chunks, done } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  for (const input of ["a1", "b1", "a2", "c1"]) await writer.write(input);
  const closing = writer.close();
  const batches: string[][] = [];
  const completeAll = async () => {
    await settle();
    const calls = form === "function" ? fnForm.calls : objectForm.calls;
    const fresh = calls.slice(batches.length);
    batches.push(...fresh.map((call) => call.inputs));
    for (let c = fresh.length - 1; c >= 0; c--) {
      if (form === "function") {
        const call = fnForm.calls[batches.length - fresh.length + c]!;
        call.resolve(upper(call.inputs));
      } else {
        const call = objectForm.calls[batches.length - fresh.length + c]!;
        for (let i = call.inputs.length - 1; i >= 0; i--) {
          call.futures[i]!.complete([call.inputs[i]!.toUpperCase()]);
          await settle();
        }
        call.resolve();
      }
      await settle();
    }
  };
  while (chunks.length < 4) await completeAll();
  await closing;
  await done;
  return { batches, chunks } satisfies Run;
}

for (const form of ["function", "object"] as const) {
  test(`AsyncIOTransformStream() with batch (${form} form) emits in input order across batches`, async () => {
    const { batches, chunks } = await run("ordered", form);
    assert.deepEqual(batches, [["a1", "b1"], ["a2", "c1"]]);
    assert.deepEqual(chunks, ["A1", "B1", "A2", "C1"]);
  });

  test(`AsyncIOTransformStream() with batch (${form} form) emits each unordered input as its own result completes`, async () => {
    const { batches, chunks } = await run("unordered", form);
    assert.deepEqual(batches, [["a1", "b1"], ["a2", "c1"]]);
    assert.deepEqual(
      chunks,
      form === "function" ? ["A2", "C1", "A1", "B1"] : ["C1", "A2", "B1", "A1"],
    );
  });

  test(`AsyncIOTransformStream() with batch (${form} form) starts a key's input only after the earlier one completed`, async () => {
    const { batches, chunks } = await run("key-ordered", form);
    // a2 waits for a1, so it goes into a later batch than c1.
    assert.deepEqual(batches, [["a1", "b1"], ["c1"], ["a2"]]);
    assert.deepEqual(
      chunks,
      form === "function" ? ["C1", "A1", "B1", "A2"] : ["C1", "B1", "A1", "A2"],
    );
  });
}

test("AsyncIOTransformStream() with batch fails the batch when the result has the wrong length", async () => {
  const stream = new AsyncIOTransformStream(
    (inputs: number[]) => inputs.slice(1),
    { batch: { maxSize: 3, maxWait: 0 } },
  );
  await assert.rejects(
    ReadableStream.from([1, 2, 3]).pipeThrough(stream).pipeTo(
      new WritableStream(),
    ),
    {
      name: "TypeError",
      message:
        "Cannot complete the batch as its result must be an array of 3 outputs, one per input: current value is an array of 2",
    },
  );
});

test("AsyncIOTransformStream() with batch closes a batch at maxSize, and a partial one at end of input", async () => {
  const { fn, calls, callsReach } = controlledBatchFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    capacity: 10,
    batch: { maxSize: 3, maxWait: Infinity },
  });
  const { chunks, done } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  for (const n of [1, 2, 3, 4]) await writer.write(n);
  await callsReach(1);
  await settle();
  assert.deepEqual(calls.map((call) => call.inputs), [[1, 2, 3]]);
  const closing = writer.close();
  await callsReach(2);
  assert.deepEqual(calls[1]!.inputs, [4]);
  for (const call of calls) call.resolve(call.inputs.map((n) => n * 10));
  await closing;
  await done;
  assert.deepEqual(chunks, [10, 20, 30, 40]);
  assert.equal(stream.stats.batches, 2);
  assert.equal(stream.stats.batchedInputs, 4);
});

test("AsyncIOTransformStream() with batch closes a batch maxWait ms after its first input", async () => {
  const { fn, calls, callsReach } = controlledBatchFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    batch: { maxSize: 50, maxWait: 40 },
  });
  const { stop } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  const start = performance.now();
  await writer.write(1);
  await writer.write(2);
  await settle();
  assert.equal(calls.length, 0, "the batch waits for more inputs");
  await callsReach(1);
  assert.ok(performance.now() - start >= 39, "not before maxWait");
  assert.deepEqual(calls[0]!.inputs, [1, 2]);
  await stop();
});

test("AsyncIOTransformStream() with batch closes the open batch at a watermark", async () => {
  const { fn, calls, callsReach } = controlledBatchFn<number, number>();
  const stream = new AsyncIOTransformStream<number, number, Watermark>(fn, {
    batch: { maxSize: 50, maxWait: Infinity },
  });
  const { chunks, stop } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  await writer.write(1);
  await writer.write(2);
  await settle();
  assert.equal(calls.length, 0);
  await writer.write(new Watermark(10));
  await callsReach(1);
  assert.deepEqual(calls[0]!.inputs, [1, 2]);
  calls[0]!.resolve([1, 2]);
  await settle();
  assert.deepEqual(chunks, [1, 2, new Watermark(10)]);
  await stop();
});

test("AsyncIOTransformStream() with batch closes the open batch at capacity when no call could make room", async () => {
  // a2 waits for a1's key and holds the last slot: without closing, a1's
  // batch would wait for a third input that cannot come.
  const { fn, calls, callsReach } = controlledBatchFn<string, string>();
  const stream = new AsyncIOTransformStream(fn, {
    order: "key-ordered",
    key: keyOf,
    capacity: 2,
    batch: { maxSize: 2, maxWait: Infinity },
  });
  const { chunks, done } = collect(stream.readable);
  const writing = ReadableStream.from(["a1", "a2"]).pipeTo(stream.writable);
  await callsReach(1);
  assert.deepEqual(calls[0]!.inputs, ["a1"]);
  calls[0]!.resolve(["A1"]);
  await callsReach(2);
  assert.deepEqual(calls[1]!.inputs, ["a2"]);
  calls[1]!.resolve(["A2"]);
  await writing;
  await done;
  assert.deepEqual(chunks, ["A1", "A2"]);
});

test("AsyncIOTransformStream() with batch counts a batch as one call for concurrency", async () => {
  const { fn, calls, callsReach } = controlledBatchFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    capacity: 6,
    concurrency: 1,
    batch: { maxSize: 2, maxWait: Infinity },
  });
  const { chunks, done } = collect(stream.readable);
  const writing = ReadableStream.from([1, 2, 3, 4, 5, 6]).pipeTo(
    stream.writable,
  );
  await callsReach(1);
  await settle();
  assert.equal(calls.length, 1, "the second batch waits for the first call");
  assert.equal(stream.stats.inFlight, 2, "inFlight counts inputs");
  for (let i = 0; i < 3; i++) {
    await callsReach(i + 1);
    await settle();
    assert.equal(calls.length, i + 1);
    calls[i]!.resolve(calls[i]!.inputs);
  }
  await writing;
  await done;
  assert.deepEqual(chunks, [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(calls.map((call) => call.inputs), [[1, 2], [3, 4], [5, 6]]);
});

test("AsyncIOTransformStream() with batch counts a batch as one call for the rate limit", async () => {
  const { fn, calls, callsReach } = controlledBatchFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    capacity: 6,
    rateLimit: { limit: 2, interval: 60_000 },
    batch: { maxSize: 2, maxWait: Infinity },
  });
  const { stop } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  for (const n of [1, 2, 3, 4, 5, 6]) void writer.write(n).catch(() => {});
  await callsReach(2);
  await settle(10);
  assert.deepEqual(calls.map((call) => call.inputs), [[1, 2], [3, 4]]);
  assert.equal(stream.stats.rateLimited, 1, "the third call waits");
  await stop();
});

test("AsyncIOTransformStream() with batch holds a call's slot until its last input settles, not its first", async () => {
  const { fn, calls, callsReach } = controlledBatchObject<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    order: "unordered",
    concurrency: 1,
    capacity: 10,
    batch: { maxSize: 2, maxWait: 0 },
  });
  const { chunks } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  for (const input of [1, 2, 3, 4]) void writer.write(input);
  await callsReach(1);
  assert.deepEqual(calls[0]!.inputs, [1, 2]);
  calls[0]!.futures[0]!.complete([10]);
  await settle(10);
  assert.deepEqual(chunks, [10]);
  assert.equal(calls.length, 1, "a second call started while 2 still ran");
  assert.equal(stream.stats.inFlight, 1);
  calls[0]!.futures[1]!.complete([20]);
  await callsReach(2);
  assert.deepEqual(calls[1]!.inputs, [3, 4]);
  calls[1]!.futures[0]!.complete([30]);
  calls[1]!.futures[1]!.complete([40]);
  await writer.close();
  assert.deepEqual(chunks, [10, 20, 30, 40]);
});
