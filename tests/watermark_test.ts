import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncIOTransformStream, type OutputOrder, Watermark } from "../mod.ts";
import { collect, controlledFn, settle } from "./_deferred.ts";

const W = (timestamp: number) => new Watermark(timestamp);

/** Names outputs and watermarks alike, so sequences read like Flink's tests. */
const label = (chunk: unknown) =>
  chunk instanceof Watermark ? `W${chunk.timestamp}` : `R${chunk}`;

test("Watermark keeps its position among ordered results: [1, 2, W2, 3] gives [2, 4, W2, 6]", async () => {
  const stream = new AsyncIOTransformStream<number, number, Watermark>(
    (n) => new Promise((resolve) => setTimeout(() => resolve(2 * n), 4 - n)),
  );
  const output = await Array.fromAsync(
    ReadableStream.from([1, 2, W(2), 3]).pipeThrough(stream),
  );
  assert.deepEqual(output, [2, 4, W(2), 6]);
});

test("Watermark is a barrier for unordered results: {2, 4} in any order, then W2, then 6", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream<number, number, Watermark>(fn, {
    order: "unordered",
  });
  const { chunks, done } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  for (const chunk of [1, 2, W(2), 3]) await writer.write(chunk);
  await callsReach(3);
  calls[2]!.resolve(6); // after the watermark: must wait for it
  await settle();
  assert.deepEqual(chunks, []);
  calls[1]!.resolve(4);
  await settle();
  assert.deepEqual(chunks, [4]);
  calls[0]!.resolve(2);
  await writer.close();
  await done;
  assert.deepEqual(chunks, [4, 2, W(2), 6]);
});

test("Watermark follows Flink's unordered completion-order scenario exactly", async () => {
  // R1, R2, W2, R3, R4, W5, R5, R6 with capacity 8, completed in the order
  // R3, R2, R6, R4, R1, R5.
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream<number, number, Watermark>(fn, {
    order: "unordered",
    capacity: 8,
  });
  const { chunks, done } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  // The eighth write fills capacity, so it stays pending until R1 completes.
  for (const chunk of [1, 2, W(2), 3, 4, W(5), 5, 6]) void writer.write(chunk);
  await callsReach(6);
  const complete = async (n: number) => {
    calls[n - 1]!.resolve(n);
    await settle();
    return chunks.map(label);
  };
  assert.deepEqual(await complete(3), []);
  assert.deepEqual(await complete(2), ["R2"]);
  assert.deepEqual(await complete(6), ["R2"]);
  assert.deepEqual(await complete(4), ["R2"]);
  assert.deepEqual(await complete(1), [
    "R2",
    "R1",
    "W2",
    "R3",
    "R4",
    "W5",
    "R6",
  ]);
  assert.deepEqual(await complete(5), [
    "R2",
    "R1",
    "W2",
    "R3",
    "R4",
    "W5",
    "R6",
    "R5",
  ]);
  await writer.close();
  await done;
});

test("Watermark passes adjacent watermarks through in order", async () => {
  for (const order of ["ordered", "unordered"] as OutputOrder[]) {
    const stream = new AsyncIOTransformStream<number, number, Watermark>(
      (n) => Promise.resolve(n),
      { order },
    );
    const output = await Array.fromAsync(
      ReadableStream.from([W(1), W(2), 1, W(3), W(4), W(5)]).pipeThrough(
        stream,
      ),
    );
    assert.deepEqual(
      output.map(label),
      ["W1", "W2", "R1", "W3", "W4", "W5"],
      order,
    );
  }
});

test("Watermark takes a capacity slot, the only one at capacity 1", async () => {
  for (const capacity of [1, 2]) {
    for (const order of ["ordered", "unordered"] as OutputOrder[]) {
      const context = `${order}, capacity ${capacity}`;
      const { fn, calls, callsReach } = controlledFn<number, number>();
      const stream = new AsyncIOTransformStream<number, number, Watermark>(
        fn,
        { order, capacity },
      );
      const { chunks, done } = collect(stream.readable);
      const writer = stream.writable.getWriter();
      for (const chunk of [1, W(1), 2]) void writer.write(chunk);
      await callsReach(1);
      await settle();
      assert.equal(calls.length, 1, `${context}: no room for input 2`);
      // At capacity 2 the watermark holds the second slot; at 1 it waits.
      assert.deepEqual(
        stream.snapshot().entries,
        capacity === 1
          ? [{ kind: "record", input: 1 }]
          : [{ kind: "record", input: 1 }, { kind: "watermark", timestamp: 1 }],
        context,
      );
      calls[0]!.resolve(1);
      await callsReach(2);
      while (chunks.length < 2) await settle();
      assert.deepEqual(chunks.map(label), ["R1", "W1"], context);
      calls[1]!.resolve(2);
      await writer.close();
      await done;
      assert.deepEqual(chunks.map(label), ["R1", "W1", "R2"], context);
    }
  }
});

test("Watermark flows through a stream of capacity 1", async () => {
  for (const order of ["ordered", "unordered"] as OutputOrder[]) {
    const stream = new AsyncIOTransformStream<number, number, Watermark>(
      (n) => new Promise((resolve) => setTimeout(() => resolve(n), 1)),
      { order, capacity: 1 },
    );
    const output = await Array.fromAsync(
      ReadableStream.from([1, W(1), 2, W(2), W(3), 3]).pipeThrough(stream),
    );
    assert.deepEqual(output.map(label), ["R1", "W1", "R2", "W2", "W3", "R3"]);
  }
});

test("Watermark is never given to the async function", async () => {
  const seen: unknown[] = [];
  const stream = new AsyncIOTransformStream<number, number, Watermark>(
    (n) => (seen.push(n), n),
    { order: "unordered" },
  );
  await ReadableStream.from([W(0), 1, W(1)]).pipeThrough(stream).pipeTo(
    new WritableStream(),
  );
  assert.deepEqual(seen, [1]);
  assert.equal(stream.stats.accepted, 1);
});
