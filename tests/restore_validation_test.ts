// Issue 12, review defects 3 and 11: `restore` is validated at every index
// and copied; restoring with an already-aborted options.signal errors the
// stream with the signal's reason and keeps every restored input.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AsyncIOState,
  type AsyncIOStateEntry,
  AsyncIOTransformStream,
  type Watermark,
} from "../mod.ts";
import { settle } from "./_deferred.ts";
import { within } from "./_within.ts";

function restoredState(): AsyncIOState<number> {
  return {
    version: 1,
    entries: [
      { kind: "record", input: 1 },
      { kind: "watermark", timestamp: 5 },
      { kind: "record", input: 2 },
      { kind: "record", input: 3 },
    ],
  };
}

test("AsyncIOTransformStream() restored with an already-aborted options.signal errors with its reason and keeps every restored input", async () => {
  const reason = new Error("aborted before start");
  const calls: number[] = [];
  const stream = new AsyncIOTransformStream<number, number, Watermark>(
    (n) => (calls.push(n), n),
    { restore: restoredState(), signal: AbortSignal.abort(reason) },
  );
  const output = await within(
    Array.fromAsync(stream.readable),
    "the readable side",
  );
  assert.deepEqual(output, { ok: false, reason });
  await settle(10);
  assert.deepEqual(calls, [], "fn was called");
  assert.deepEqual(stream.snapshot(), restoredState());
});

test("AsyncIOTransformStream() rejects a sparse restore.entries with a TypeError naming the hole", () => {
  const entries: AsyncIOStateEntry<number>[] = [];
  entries[0] = { kind: "record", input: 1 };
  entries[2] = { kind: "record", input: 3 };
  assert.throws(
    () =>
      new AsyncIOTransformStream((n: number) => n, {
        restore: { version: 1, entries },
      }),
    (error) =>
      error instanceof TypeError &&
      error.message.includes("restore.entries[1]"),
  );
});

test("AsyncIOTransformStream() copies restore: later changes to the given state change nothing", async () => {
  const state = restoredState();
  const entries = state.entries as AsyncIOStateEntry<number>[];
  const stream = new AsyncIOTransformStream<number, number, Watermark>(
    (n) => n * 10,
    { restore: state },
  );
  (entries[0] as { input: number }).input = 100;
  entries[2] = { kind: "record", input: 200 };
  entries.push({ kind: "record", input: 300 });
  entries.splice(1, 1);
  assert.deepEqual(stream.snapshot(), restoredState());
  const output = await within(
    Array.fromAsync(ReadableStream.from<number>([4]).pipeThrough(stream)),
    "the output",
  );
  assert.equal(output.ok, true);
  const values = (output.ok ? output.value : []) as unknown[];
  assert.deepEqual(
    values.map((value) => typeof value === "number" ? value : "watermark"),
    [10, "watermark", 20, 30, 40],
  );
});
