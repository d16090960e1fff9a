// Review of the three sets of changes merged on 2026-11-30 (options read
// once, reentrancy, snapshot exactness): the defects found where they meet.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AsyncFunction,
  type AsyncIOState,
  AsyncIOTransformStream,
  type ResultFuture,
  Watermark,
} from "../mod.ts";
import { controlledFn, settle } from "./_deferred.ts";

const records = (stream: { snapshot(): AsyncIOState<number> }) =>
  stream.snapshot().entries.map((e) =>
    e.kind === "record" ? e.input : `w${e.timestamp}`
  );

test("AsyncIOTransformStream.snapshot() after a failure reads no timestamp again from a watermark the readable dropped unread", async () => {
  // The timestamp is read once, when the watermark is accepted: a Proxy
  // whose getter throws from then on must not make snapshot() throw.
  let reads = 0;
  const watermark = new Proxy(new Watermark(5), {
    get(target, property) {
      if (property === "timestamp" && ++reads > 1) {
        throw new Error("read again");
      }
      return Reflect.get(target, property, target);
    },
  });
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream<number, number, Watermark>(fn, {
    readableStrategy: { highWaterMark: 3 },
  });
  const writer = stream.writable.getWriter();
  void writer.write(watermark).catch(() => {});
  void writer.write(1).catch(() => {});
  await callsReach(1); // the watermark waits unread in the readable
  calls[0]!.reject(new Error("failure"));
  await settle();
  assert.deepEqual(records(stream), ["w5", 1]);
  assert.equal(reads, 1);
});

for (const side of ["writableStrategy", "readableStrategy"] as const) {
  test(`AsyncIOTransformStream() refuses a ${side} whose size is not a function with a TypeError at construction, as the platform does`, () => {
    // A wrapper around any size() other than undefined hid it until the
    // first chunk, which then failed the stream.
    assert.throws(
      () =>
        new AsyncIOTransformStream<number, number>(
          (n) => Promise.resolve(n),
          { [side]: { size: 5 } } as never,
        ),
      TypeError,
    );
  });
}

for (
  const [how, refuse] of [
    ["throws", () => {
      throw new Error("size");
    }],
    ["returns a size the platform refuses", () => -1],
  ] as const
) {
  test(`AsyncIOTransformStream.snapshot() after the readable's size() ${how} holds the inputs whose results waited unread`, async () => {
    // The platform errors the readable itself then, dropping what it holds
    // before the stream hears of it: those results were never read.
    const stream = new AsyncIOTransformStream<number, number>(
      (n) => Promise.resolve(n * 10),
      {
        readableStrategy: {
          highWaterMark: 3,
          size: (chunk: number) => chunk === 30 ? refuse() : 1,
        },
      },
    );
    const writer = stream.writable.getWriter();
    for (const n of [1, 2, 3]) void writer.write(n).catch(() => {});
    await settle();
    await assert.rejects(stream.readable.getReader().read());
    assert.deepEqual(records(stream), [1, 2, 3]);
    const { accepted, emitted, pending, outputs } = stream.stats;
    assert.deepEqual(
      { accepted, emitted, pending, outputs },
      { accepted: 3, emitted: 0, pending: 3, outputs: 0 },
    );
  });
}

test("AsyncIOTransformStream() in unordered mode emits the inputs completed during an emission in the order they completed", async () => {
  // Completions from inside a readable size() wait until the emission is
  // done; one that comes while those are let go waits behind the rest.
  const futures = new Map<number, ResultFuture<number>>();
  const fn: AsyncFunction<number, number> = {
    asyncInvoke: (n, result) => void futures.set(n, result),
  };
  const completeWhenSized: Record<number, number[]> = { 10: [2, 3], 20: [4] };
  const stream = new AsyncIOTransformStream<number, number>(fn, {
    order: "unordered",
    readableStrategy: {
      highWaterMark: 10,
      size(chunk: number) {
        for (const n of completeWhenSized[chunk] ?? []) {
          futures.get(n)!.complete([n * 10]);
        }
        return 1;
      },
    },
  });
  const writer = stream.writable.getWriter();
  for (const n of [1, 2, 3, 4]) void writer.write(n);
  await settle();
  assert.equal(futures.size, 4);
  futures.get(1)!.complete([10]);
  void writer.close();
  assert.deepEqual(await Array.fromAsync(stream.readable), [10, 20, 30, 40]);
});

test("AsyncIOTransformStream.snapshot() after a stop holds no result that was read when the readable's sizes are decimal fractions", async () => {
  // desiredSize is 1 - (0.1 + 0.1 + 0.1 - 0.1 + ...), rounded at each step:
  // the held size it tells is off from any sum of the sizes in the last bits.
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream<number, number>(fn, {
    readableStrategy: { highWaterMark: 1, size: () => 0.1 },
  });
  const writer = stream.writable.getWriter();
  for (const n of [0, 1, 2, 3, 4]) void writer.write(n).catch(() => {});
  await callsReach(5);
  const reader = stream.readable.getReader();
  const read: number[] = [];
  let completed = 0;
  for (const step of "cccrcr") { // c: the next call completes, r: a read
    if (step === "c") {
      calls[completed]!.resolve(completed++);
      await settle();
    } else read.push((await reader.read()).value!);
  }
  assert.deepEqual(read, [0, 1]);
  void writer.abort(new Error("stop"));
  await settle();
  assert.deepEqual(records(stream), [2, 3, 4]);
  const { emitted, pending, outputs } = stream.stats;
  assert.deepEqual({ emitted, pending, outputs }, {
    emitted: 2,
    pending: 3,
    outputs: 2,
  });
});
