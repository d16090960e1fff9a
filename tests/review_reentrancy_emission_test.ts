// Adversarial review of "user code is foreign": user code that runs while
// the stream emits (a readable strategy's size(), onCheckpoint) and calls
// back into it, completing another input or writing, must not reorder what
// comes out: no record behind the watermark after it, and no input that a
// barrier's state holds ahead of that barrier (a restore would emit it
// twice).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AsyncIOTransformStream,
  CheckpointBarrier,
  mapAsync,
  type ResultFuture,
  Watermark,
} from "../mod.ts";

// The state that onCheckpoint gets holds every input not emitted before the
// barrier; an output of one of them that came out ahead of the barrier would
// be committed with the checkpoint and emitted again after a restore.
for (const from of ["onCheckpoint", "the barrier's readable size()"] as const) {
  test(`AsyncIOTransformStream() emits after the barrier an input that completes from inside ${from}, as its state holds it`, async () => {
    const futures: ResultFuture<string>[] = [];
    const states: unknown[] = [];
    const completeFirst = () => futures[0]!.complete(["out 1"]);
    const stream = new AsyncIOTransformStream<
      number,
      string,
      CheckpointBarrier
    >({ asyncInvoke: (_n, result) => void futures.push(result) }, {
      onCheckpoint(state) {
        states.push(state);
        if (from === "onCheckpoint") completeFirst();
      },
      readableStrategy: {
        highWaterMark: 10,
        size(chunk) {
          if (from !== "onCheckpoint" && chunk instanceof CheckpointBarrier) {
            completeFirst();
          }
          return 1;
        },
      },
    });
    const writer = stream.writable.getWriter();
    await writer.write(1);
    await writer.write(new CheckpointBarrier(1));
    const reader = stream.readable.getReader();
    const first = await reader.read();
    const second = await reader.read();
    assert.deepEqual(states, [{
      version: 1,
      entries: [{ kind: "record", input: 1 }],
    }]);
    assert.ok(first.value instanceof CheckpointBarrier);
    assert.equal(second.value, "out 1");
    await writer.abort();
  });
}

test("mapAsync() emits after the barrier an input that completes from inside onCheckpoint, as its state holds it", async () => {
  const futures: ResultFuture<string>[] = [];
  const iterator = mapAsync<number, string, CheckpointBarrier>(
    [1, new CheckpointBarrier(1)],
    { asyncInvoke: (_n, result) => void futures.push(result) },
    {
      onCheckpoint(state) {
        assert.deepEqual(state.entries, [{ kind: "record", input: 1 }]);
        futures[0]!.complete(["out 1"]);
      },
    },
  );
  const first = await iterator.next();
  assert.ok(first.value instanceof CheckpointBarrier);
  assert.deepEqual(await iterator.next(), { done: false, value: "out 1" });
  assert.deepEqual(await iterator.next(), { done: true, value: undefined });
});

/** What a reader reads, watermarks as "W". */
async function readSome(
  reader: ReadableStreamDefaultReader<string | Watermark>,
  count: number,
): Promise<string[]> {
  const chunks: string[] = [];
  for (let i = 0; i < count; i++) {
    const { value } = await reader.read();
    chunks.push(value instanceof Watermark ? "W" : value!);
  }
  return chunks;
}

test("AsyncIOTransformStream() in unordered mode emits no record behind the watermark after it when a readable size() completes the last other record", async () => {
  const futures = new Map<number, ResultFuture<string>>();
  const stream = new AsyncIOTransformStream<number, string, Watermark>(
    { asyncInvoke: (n, result) => void futures.set(n, result) },
    {
      order: "unordered",
      readableStrategy: {
        highWaterMark: 10,
        size(chunk) {
          if (chunk === "out 2") futures.get(1)!.complete(["out 1"]);
          return 1;
        },
      },
    },
  );
  const writer = stream.writable.getWriter();
  await writer.write(1);
  await writer.write(2);
  await writer.write(new Watermark(7));
  futures.get(2)!.complete(["out 2"]);
  const chunks = await readSome(stream.readable.getReader(), 3);
  assert.deepEqual(chunks, ["out 2", "out 1", "W"]);
  await writer.abort();
});

test("AsyncIOTransformStream() in unordered mode emits no record behind a watermark that a readable size() writes while emitting it", async () => {
  const futures = new Map<number, ResultFuture<string>>();
  let written: Promise<void> | undefined;
  const stream = new AsyncIOTransformStream<number, string, Watermark>(
    { asyncInvoke: (n, result) => void futures.set(n, result) },
    {
      order: "unordered",
      readableStrategy: {
        highWaterMark: 10,
        size(chunk) {
          // No write is in flight: the writable calls the stream at once.
          if (chunk === "out 1") written = writer.write(new Watermark(7));
          return 1;
        },
      },
    },
  );
  const writer = stream.writable.getWriter();
  await writer.write(1);
  futures.get(1)!.complete(["out 1"]);
  const chunks = await readSome(stream.readable.getReader(), 2);
  await written;
  assert.deepEqual(chunks, ["out 1", "W"]);
  await writer.abort();
});
