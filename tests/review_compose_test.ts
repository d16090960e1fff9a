// Defects found where features compose (tests/compose_property_test.ts
// drives the combinations at random); each test here pins one of them down
// deterministically.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AsyncIOTransformStream,
  type CallContext,
  CheckpointBarrier,
  type OutputOrder,
  Watermark,
} from "../mod.ts";
import { controlledBatchFn } from "./_batch.ts";
import { controlledFn, settle } from "./_deferred.ts";
import { readAll } from "./_read_all.ts";
import { within } from "./_within.ts";

// Deadlines are stamped 64 adds at a time, or by a short timer: the inputs
// of one batch call of more than 64 got two deadlines, so the first 64 timed
// out on their own. Their keys then passed on while the call that carried
// them still ran, its signal not aborted (the other inputs still waited for
// it): two calls of one key at once.
test("AsyncIOTransformStream() with key-ordered batches of over 64 inputs starts no call for a key while a timed-out batch call of that key still runs", async () => {
  const { fn, calls, callsReach } = controlledBatchFn<number, number>();
  /** Per call after the first: whether the first call had ended by then. */
  const firstEnded: boolean[] = [];
  const batchFn = (inputs: number[], context: CallContext) => {
    if (calls.length === 0) {
      // Holds the event loop, so that whatever stamps a deadline after this
      // call started does so well after the first ones.
      const until = performance.now() + 30;
      while (performance.now() < until);
    } else {
      firstEnded.push(calls[0]!.context.signal.aborted);
    }
    return fn(inputs, context);
  };
  const stream = new AsyncIOTransformStream(batchFn, {
    order: "key-ordered",
    key: (n: number) => n % 100, // 100 has the key of 0
    capacity: 200,
    batch: { maxSize: 100, maxWait: Infinity },
    timeout: 100,
    onTimeout: (n, result) => result.complete([-n]),
  });
  const writer = stream.writable.getWriter();
  const reading = readAll(stream.readable);
  for (let n = 0; n <= 100; n++) await writer.write(n);
  const closing = writer.close(); // closes 100's batch once its key is free
  await callsReach(1);
  assert.equal(calls[0]!.inputs.length, 100);
  await within(callsReach(2), "the call for input 100", 5_000);
  calls[1]!.resolve([100]);
  await within(closing, "the end", 5_000);
  const outputs = await reading;
  assert.equal(outputs.length, 101);
  assert.deepEqual(
    firstEnded,
    [true],
    "input 100's call started while the call that carried input 0 ran",
  );
});

// An input leaves snapshot() as its last output enters the readable side,
// and a sink (Deno's pipeTo) or a readable size() sees that chunk within
// the enqueue; stats counted it as emitted only after the enqueue returned,
// so they disagreed with snapshot() there.
test("AsyncIOTransformStream() stats agree with snapshot() while an output is being enqueued", async () => {
  const seen: string[] = [];
  let sized = 0;
  const stream: AsyncIOTransformStream<number, number> =
    new AsyncIOTransformStream<number, number>({
      asyncInvoke(n, result) {
        result.complete(n === 1 ? [10, 11] : [20]);
      },
    }, {
      readableStrategy: {
        highWaterMark: 10,
        size(chunk) {
          sized++;
          const { accepted, pending, emitted, outputs } = stream.stats;
          const held = stream.snapshot().entries.length;
          seen.push(
            `${chunk}: pending ${pending} of ${held}, emitted ${emitted}, ` +
              `accepted ${accepted}, outputs ${outputs} of ${sized}`,
          );
          return 1;
        },
      },
    });
  const writer = stream.writable.getWriter();
  await writer.write(1);
  await writer.write(2);
  await writer.close();
  assert.deepEqual(seen, [
    "10: pending 1 of 1, emitted 0, accepted 1, outputs 1 of 1",
    "11: pending 0 of 0, emitted 1, accepted 1, outputs 2 of 2",
    "20: pending 0 of 0, emitted 2, accepted 2, outputs 3 of 3",
  ]);
  assert.deepEqual(await readAll(stream.readable), [10, 11, 20]);
});

// A write that waits for a read goes on from a microtask once the read
// comes: a stop in between (here in the same task as the read) left it
// going on, so onCheckpoint ran for a barrier of a stopped stream, one
// that never went out.
test("AsyncIOTransformStream() calls no onCheckpoint for a barrier whose write waited for a read when the stream stopped", async () => {
  const controller = new AbortController();
  const checkpoints: number[] = [];
  const stream = new AsyncIOTransformStream<number, number, CheckpointBarrier>(
    (n) => n,
    {
      signal: controller.signal,
      onCheckpoint: (_, barrier) => void checkpoints.push(barrier.id),
    },
  );
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  await writer.write(1); // its result fills the readable side
  await settle();
  const barrier = writer.write(new CheckpointBarrier(7)); // waits for a read
  await settle();
  const read = reader.read(); // lets the barrier's write go on
  controller.abort(new Error("stopped"));
  await assert.rejects(barrier, /stopped/);
  assert.deepEqual(await read, { done: false, value: 1 });
  assert.deepEqual(checkpoints, [], "onCheckpoint ran after the stop");
});

// The README said restored inputs are called again before any new input. In
// key-ordered mode a restored input waits only for its key: a new input of
// another key may start first (now said so); a new input of its key never
// does.
test("AsyncIOTransformStream() in key-ordered mode calls a restored input before any new input of its key, not of other keys", async () => {
  const { fn, calls, callsReach } = controlledFn<string, string>();
  const stream = new AsyncIOTransformStream(fn, {
    order: "key-ordered",
    key: (input: string) => input[0],
    restore: {
      version: 1,
      entries: [
        { kind: "record", input: "a1" },
        { kind: "record", input: "a2" },
      ],
    },
  });
  const writer = stream.writable.getWriter();
  const reading = readAll(stream.readable);
  await writer.write("b1");
  await writer.write("a3");
  await callsReach(2);
  await settle();
  assert.deepEqual(calls.map((call) => call.input), ["a1", "b1"]);
  for (let i = 0; i < 4; i++) {
    await callsReach(i + 1);
    calls[i]!.resolve(calls[i]!.input);
  }
  await writer.close();
  assert.deepEqual(calls.map((call) => call.input), ["a1", "b1", "a2", "a3"]);
  assert.deepEqual(await reading, ["a1", "b1", "a2", "a3"]);
});

// While a watermark waited in the queue, every input that joined a batch
// closed it at once, so that event time would not wait for maxWait. But a
// watermark waits only for the inputs before it: behind one that waited
// for a slow record, every later input got a call of its own, and batching
// was off for as long as watermarks kept coming.
for (const order of ["ordered", "unordered"] as OutputOrder[]) {
  test(`AsyncIOTransformStream() with batch (${order}) still batches the inputs after a watermark that waits for a slow record`, async () => {
    const { fn, calls, callsReach } = controlledBatchFn<number, number>();
    const stream = new AsyncIOTransformStream<number, number, Watermark>(fn, {
      order,
      capacity: 10,
      batch: { maxSize: 2, maxWait: Infinity },
    });
    const writer = stream.writable.getWriter();
    const reading = readAll(stream.readable);
    await writer.write(0);
    await writer.write(1); // [0, 1] is full: its call starts and waits
    await callsReach(1);
    await writer.write(new Watermark(5)); // waits for 0 and 1
    await writer.write(2);
    await writer.write(3);
    await callsReach(2);
    await settle();
    assert.deepEqual(calls.map((call) => call.inputs), [[0, 1], [2, 3]]);
    calls[1]!.resolve([2, 3]);
    calls[0]!.resolve([0, 1]);
    await writer.close();
    // 2 and 3 completed first, but do not overtake the watermark.
    assert.deepEqual(await reading, [0, 1, new Watermark(5), 2, 3]);
  });
}

// The same in key-ordered mode, for inputs that waited for their key: one
// accepted after the waiting watermark closed its batch at once all the
// same.
test("AsyncIOTransformStream() with batch (key-ordered) still batches inputs that waited for their key after a watermark that waits for a slow record", async () => {
  const { fn, calls, callsReach } = controlledBatchFn<string, string>();
  const stream = new AsyncIOTransformStream<string, string, Watermark>(fn, {
    order: "key-ordered",
    key: (input) => input[0],
    capacity: 10,
    batch: { maxSize: 2, maxWait: Infinity },
  });
  const writer = stream.writable.getWriter();
  const reading = readAll(stream.readable);
  for (const input of ["u1", "v1", "s1", "t1"]) await writer.write(input);
  await callsReach(2); // [u1, v1] and [s1, t1]
  await writer.write(new Watermark(5)); // waits for all four
  await writer.write("s2"); // waits for s1
  await writer.write("t2"); // waits for t1
  calls[1]!.resolve(["s1", "t1"]); // s2 and t2 start; u1 and v1 still run
  await callsReach(3);
  await settle();
  assert.deepEqual(calls.map((call) => call.inputs), [
    ["u1", "v1"],
    ["s1", "t1"],
    ["s2", "t2"],
  ]);
  calls[2]!.resolve(["s2", "t2"]);
  calls[0]!.resolve(["u1", "v1"]);
  await writer.close();
  assert.deepEqual(await reading, [
    "s1",
    "t1",
    "u1",
    "v1",
    new Watermark(5),
    "s2",
    "t2",
  ]);
});

// A late result is dropped: every other path checks that its call still
// counts before it reads the result. A batch call copied its array first,
// running the array's getters (or a Proxy's traps) after the stream had
// stopped or every input had timed out.
test("AsyncIOTransformStream() with batch reads nothing of a batch result that comes after a stop", async () => {
  const { fn, calls, callsReach } = controlledBatchFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    batch: { maxSize: 2, maxWait: 0 },
  });
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  void writer.write(1);
  void writer.write(2);
  await callsReach(1);
  await reader.cancel("stopped");
  assert.equal(calls[0]!.context.signal.aborted, true);
  const reads: string[] = [];
  const late = new Proxy([10, 20], {
    get(target, key, receiver) {
      // Resolving the call's promise with it reads `then`: the platform's.
      if (key !== "then") reads.push(String(key));
      return Reflect.get(target, key, receiver);
    },
  });
  calls[0]!.resolve(late);
  await settle();
  assert.deepEqual(reads, [], "the late result was read");
  assert.deepEqual(stream.snapshot().entries.map((e) => e.kind), [
    "record",
    "record",
  ]);
});

// A batch that closed at maxWait and then waited for a call slot or a
// rate-limit token took no more inputs: each later input waited in a batch
// of its own, so a saturated stream made calls of a few inputs, one per
// maxWait (1,000 inputs in 166 calls of 50 ms at concurrency 1, against 22
// now). The inputs that come while a batch waits join it, up to maxSize.
test("AsyncIOTransformStream() with batch lets inputs join a batch that waits for a call slot", async () => {
  const { fn, calls, callsReach } = controlledBatchFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    capacity: 20,
    concurrency: 1,
    batch: { maxSize: 3, maxWait: 0 },
  });
  const writer = stream.writable.getWriter();
  const reading = readAll(stream.readable);
  for (const n of [0, 1, 2]) await writer.write(n); // full: its call runs
  await callsReach(1);
  await writer.write(3);
  await settle(); // maxWait: [3] closes, and waits for the slot
  for (const n of [4, 5, 6]) await writer.write(n);
  calls[0]!.resolve([0, 1, 2]);
  await callsReach(2);
  calls[1]!.resolve(calls[1]!.inputs);
  await callsReach(3);
  calls[2]!.resolve(calls[2]!.inputs);
  await writer.close();
  const inputs = calls.map((call) => call.inputs);
  assert.deepEqual(inputs, [[0, 1, 2], [3, 4, 5], [6]]);
  assert.deepEqual(await reading, [0, 1, 2, 3, 4, 5, 6]);
});

test("AsyncIOTransformStream() with batch lets inputs join a batch that waits for a rate-limit token", async () => {
  const { fn, calls, callsReach } = controlledBatchFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    capacity: 20,
    rateLimit: { limit: 1, interval: 1_000 },
    batch: { maxSize: 3, maxWait: 0 },
  });
  const writer = stream.writable.getWriter();
  const reading = readAll(stream.readable);
  await writer.write(0);
  await callsReach(1); // [0] took the token
  calls[0]!.resolve([0]);
  await writer.write(1);
  await settle(); // maxWait: [1] closes, and waits for the next token
  for (const n of [2, 3]) await writer.write(n);
  await within(callsReach(2), "the second call", 10_000);
  calls[1]!.resolve(calls[1]!.inputs);
  await writer.close();
  assert.deepEqual(calls.map((call) => call.inputs), [[0], [1, 2, 3]]);
  assert.deepEqual(await reading, [0, 1, 2, 3]);
});

// The same microtask: results that completed before it may fill the
// readable side again, and the write went on all the same. A barrier was
// then taken with a result held back in its state, and went out ahead of
// it, where the README says a barrier written while results are held back
// is taken only once reads have let them all out.
test("AsyncIOTransformStream() takes a barrier whose write waited for a read only once results that completed meanwhile are read", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const states: unknown[][] = [];
  const stream = new AsyncIOTransformStream<number, number, CheckpointBarrier>(
    fn,
    {
      order: "unordered",
      onCheckpoint: (state) =>
        void states.push(state.entries.map((entry) => entry.kind)),
    },
  );
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  for (const n of [1, 2, 3]) await writer.write(n);
  await callsReach(3);
  calls[0]!.resolve(1);
  await settle(); // 1 fills the readable side
  const barrier = writer.write(new CheckpointBarrier(7)); // waits for a read
  await settle();
  calls[1]!.resolve(2);
  calls[2]!.resolve(3); // both complete before the write goes on
  const outputs = [(await reader.read()).value]; // lets the write go on
  for (let i = 0; i < 3; i++) outputs.push((await reader.read()).value);
  await barrier;
  assert.deepEqual(outputs, [1, 2, 3, new CheckpointBarrier(7)]);
  assert.deepEqual(states, [[]]);
});

test("AsyncIOTransformStream() admits a restored input that waited for a read only once results that completed meanwhile are read", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    order: "unordered",
    capacity: 3,
    restore: {
      version: 1,
      entries: [1, 2, 3, 4].map((input) => ({ kind: "record", input })),
    },
  });
  const reader = stream.readable.getReader();
  await callsReach(3); // 1, 2 and 3 fill the capacity
  calls[0]!.resolve(1);
  await settle(); // 1 fills the readable side; 4 waits for a read
  calls[1]!.resolve(2);
  calls[2]!.resolve(3); // both complete before 4 goes on
  const outputs = [(await reader.read()).value];
  await settle();
  assert.equal(calls.length, 3, "4 was admitted while 3 was held back");
  for (let i = 0; i < 2; i++) outputs.push((await reader.read()).value);
  await callsReach(4);
  calls[3]!.resolve(4);
  outputs.push((await reader.read()).value);
  assert.deepEqual(outputs, [1, 2, 3, 4]);
  await reader.cancel();
});
