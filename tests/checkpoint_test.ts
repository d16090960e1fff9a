import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AsyncIOState,
  AsyncIOTransformStream,
  CheckpointBarrier,
} from "../mod.ts";
import { collect, controlledFn, deferred, settle } from "./_deferred.ts";

const record = <I>(input: I) => ({ kind: "record", input }) as const;

test("CheckpointBarrier takes the snapshot at its position and overtakes pending results", async () => {
  for (const order of ["ordered", "unordered"] as const) {
    const { fn, calls, callsReach } = controlledFn<number, number>();
    const checkpoints: [number, AsyncIOState<number>][] = [];
    const stream = new AsyncIOTransformStream<
      number,
      number,
      CheckpointBarrier
    >(fn, {
      order,
      onCheckpoint: (state, barrier) =>
        void checkpoints.push([barrier.id, state]),
    });
    const { chunks, done } = collect(stream.readable);
    const writer = stream.writable.getWriter();
    await writer.write(1);
    await writer.write(2);
    await callsReach(2);
    calls[1]!.resolve(20); // held behind 1 when ordered
    await settle();
    await writer.write(new CheckpointBarrier(7));
    await writer.write(3);
    await callsReach(3);
    const afterBarrier = chunks.findIndex((c) =>
      c instanceof CheckpointBarrier
    );
    assert.ok(afterBarrier >= 0, "the barrier left at once");
    const expectedState = order === "ordered" ? [1, 2] : [1];
    assert.deepEqual(checkpoints, [[7, {
      version: 1,
      entries: expectedState.map(record),
    }]]);
    calls[0]!.resolve(10);
    calls[2]!.resolve(30);
    await writer.close();
    await done;
    const beforeBarrier = chunks.slice(0, afterBarrier);
    // Every input before the barrier is either emitted before it or in the state.
    const emittedEarly = beforeBarrier.map((n) => (n as number) / 10);
    assert.deepEqual(
      [...emittedEarly, ...expectedState].sort(),
      [1, 2],
      order,
    );
  }
});

test("CheckpointBarrier takes no capacity slot and is never given to the async function", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream<number, number, CheckpointBarrier>(
    fn,
    { capacity: 1, onCheckpoint: () => {} },
  );
  const { chunks, done } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  void writer.write(1);
  await callsReach(1);
  calls[0]!.resolve(1);
  await writer.write(new CheckpointBarrier(1));
  await writer.write(new CheckpointBarrier(2)); // would block if it took a slot
  void writer.write(2);
  await callsReach(2);
  calls[1]!.resolve(2);
  await writer.close();
  await done;
  assert.deepEqual(chunks, [
    1,
    new CheckpointBarrier(1),
    new CheckpointBarrier(2),
    2,
  ]);
  assert.deepEqual(calls.map((call) => call.input), [1, 2]);
});

test("CheckpointBarrier passes through when no onCheckpoint is given", async () => {
  const output = await Array.fromAsync(
    ReadableStream.from<number | CheckpointBarrier>([
      1,
      new CheckpointBarrier(1),
    ])
      .pipeThrough(
        new AsyncIOTransformStream<number, number, CheckpointBarrier>((n) => n),
      ),
  );
  assert.deepEqual(output, [1, new CheckpointBarrier(1)]);
});

test("AsyncIOTransformStream() accepts no input until an async onCheckpoint settles", async () => {
  const persisted = deferred();
  const { fn, calls } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream<number, number, CheckpointBarrier>(
    fn,
    { onCheckpoint: () => persisted.promise },
  );
  const { chunks } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  const barrierWrite = writer.write(new CheckpointBarrier(1));
  const inputWrite = writer.write(3);
  await settle();
  assert.deepEqual(chunks, [new CheckpointBarrier(1)], "forwarded at once");
  assert.equal(calls.length, 0, "input waits for the checkpoint");
  persisted.resolve();
  await barrierWrite;
  await inputWrite;
  assert.equal(calls.length, 1);
  calls[0]!.resolve(3);
  await writer.close();
});

test("AsyncIOTransformStream() fails when onCheckpoint throws or rejects", async () => {
  const error = new Error("cannot persist");
  for (
    const onCheckpoint of [() => {
      throw error;
    }, () => Promise.reject(error)]
  ) {
    const stream = new AsyncIOTransformStream<
      number,
      number,
      CheckpointBarrier
    >(
      (n) => n,
      { onCheckpoint },
    );
    await assert.rejects(
      Array.fromAsync(
        ReadableStream.from<number | CheckpointBarrier>([
          1,
          new CheckpointBarrier(1),
          2,
        ])
          .pipeThrough(stream),
      ),
      (reason) => reason === error,
    );
  }
});
