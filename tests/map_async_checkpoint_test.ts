// mapAsync(): markers pass through, barriers snapshot in place, and
// snapshot()/restore resume an iteration.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AsyncIOState,
  CheckpointBarrier,
  mapAsync,
  Watermark,
} from "../mod.ts";
import { controlledFn, deferred, settle } from "./_deferred.ts";
import { asyncSource, syncSource, toArray } from "./_sources.ts";

test("mapAsync() passes watermarks and barriers through, and snapshots at each barrier", async () => {
  const states: AsyncIOState<number>[] = [];
  const mapped = mapAsync<number, number, Watermark | CheckpointBarrier>(
    [1, new Watermark(10), 2, new CheckpointBarrier(7), 3],
    (n: number) => new Promise<number>((resolve) => setTimeout(resolve, 5, n)),
    {
      order: "unordered",
      onCheckpoint: (state) => void states.push(state),
    },
  );
  const output = await toArray(mapped);
  const shown = output.map((chunk) =>
    chunk instanceof Watermark
      ? `w${chunk.timestamp}`
      : chunk instanceof CheckpointBarrier
      ? `b${chunk.id}`
      : chunk
  );
  // A barrier leaves ahead of the pending inputs: they are in its snapshot.
  assert.deepEqual(shown, ["b7", 1, "w10", 2, 3]);
  assert.deepEqual(states[0]!.entries, [
    { kind: "record", input: 1 },
    { kind: "watermark", timestamp: 10 },
    { kind: "record", input: 2 },
  ]);
});

test("mapAsync() reads a synchronous source no further until onCheckpoint's promise settles", async () => {
  const checkpointed = deferred();
  const { iterator, log } = syncSource<number | CheckpointBarrier>(
    [1, new CheckpointBarrier(1), 2, 3],
  );
  const mapped = mapAsync<number, number, CheckpointBarrier>(
    iterator,
    (n) => n * 10,
    {
      onCheckpoint: () => checkpointed.promise,
    },
  );
  const output = toArray(mapped);
  await settle();
  assert.equal(log.reads, 2, "read on past a barrier whose checkpoint pends");
  checkpointed.resolve();
  const shown = (await output).map((chunk) =>
    chunk instanceof CheckpointBarrier ? `b${chunk.id}` : chunk
  );
  assert.deepEqual(shown, [10, "b1", 20, 30]);
  assert.equal(log.ended, true);
});

test("mapAsync() fails with the error of an onCheckpoint promise that rejects, and returns the synchronous source", async () => {
  const error = new Error("checkpoint store down");
  const { iterator, log } = syncSource<number | CheckpointBarrier>(
    [1, new CheckpointBarrier(1), 2],
  );
  const mapped = mapAsync<number, number, CheckpointBarrier>(
    iterator,
    (n) => n,
    {
      onCheckpoint: () => Promise.reject(error),
    },
  );
  await assert.rejects(toArray(mapped), error);
  assert.equal(log.reads, 2);
  assert.equal(log.returns, 1);
  assert.equal(log.returnReason, error);
});

test("mapAsync() stops reading a synchronous source whose next() returns the iteration", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  let reads = 0;
  const source: IterableIterator<number> = {
    next() {
      if (++reads === 3) void mapped.return();
      return { done: false, value: reads };
    },
    [Symbol.iterator]() {
      return this;
    },
  };
  const mapped = mapAsync(source, fn, { capacity: 10 });
  const first = mapped.next();
  await callsReach(2);
  await settle();
  assert.equal(reads, 3, "read on after return()");
  assert.equal(calls.length, 2, "called fn for an input read after return()");
  assert.ok(calls.every((call) => call.context.signal.aborted));
  assert.deepEqual(await first, { done: true, value: undefined });
});

test("mapAsync() snapshot() holds every input read and not yet yielded, and restore resumes from it", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const { iterator } = asyncSource([1, 2, 3, 4], { end: false });
  const mapped = mapAsync(iterator, fn, { capacity: 3 });
  const first = mapped.next();
  await callsReach(3);
  calls[1]!.resolve(20); // held: input 1 is ahead of it
  await settle();
  const state = mapped.snapshot();
  assert.deepEqual(
    state.entries,
    [1, 2, 3].map((input) => ({
      kind: "record",
      input,
    })),
  );
  await mapped.return();
  assert.deepEqual(await first, { done: true, value: undefined });
  assert.deepEqual(mapped.snapshot(), state, "stopping keeps the snapshot");

  const resumed = mapAsync(
    [4],
    (n: number) => n * 10,
    { restore: JSON.parse(JSON.stringify(state)) },
  );
  assert.deepEqual(await toArray(resumed), [10, 20, 30, 40]);
  assert.equal(resumed.stats.emitted, 4);
});
