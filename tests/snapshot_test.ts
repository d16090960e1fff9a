import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AsyncIOState,
  AsyncIOTransformStream,
  type CallContext,
  mapAsync,
  Watermark,
} from "../mod.ts";
import { collect, controlledFn, settle } from "./_deferred.ts";

const record = <I>(input: I) => ({ kind: "record", input }) as const;
const watermark = (timestamp: number) =>
  ({ kind: "watermark", timestamp }) as const;

/** Writes inputs without waiting for capacity and lets the calls start. */
async function writeWithoutWaiting<T>(
  writable: WritableStream<T>,
  inputs: T[],
) {
  const writer = writable.getWriter();
  for (const input of inputs) void writer.write(input).catch(() => {});
  await settle();
  return writer;
}

test("AsyncIOTransformStream.snapshot() lists in-flight and held inputs with watermarks, in input order", async () => {
  const { fn, calls, callsReach } = controlledFn<string, string>();
  const stream = new AsyncIOTransformStream<string, string, Watermark>(fn);
  const { chunks, stop } = collect(stream.readable);
  await writeWithoutWaiting(stream.writable, ["a", "b", new Watermark(7), "c"]);
  await callsReach(3);
  calls[1]!.resolve("B"); // completed, but held behind "a"
  await settle();
  assert.deepEqual(stream.snapshot(), {
    version: 1,
    entries: [record("a"), record("b"), watermark(7), record("c")],
  });
  calls[0]!.resolve("A");
  await settle();
  assert.deepEqual(chunks.slice(0, 2), ["A", "B"]);
  assert.deepEqual(stream.snapshot(), {
    version: 1,
    entries: [record("c")],
  });
  await stop();
});

test("AsyncIOTransformStream.snapshot() lists unordered inputs in input order, whatever completed", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, { order: "unordered" });
  const { chunks, stop } = collect(stream.readable);
  await writeWithoutWaiting(stream.writable, [1, 2, 3, 4]);
  await callsReach(4);
  calls[2]!.resolve(3);
  await settle();
  assert.deepEqual(chunks, [3]);
  assert.deepEqual(stream.snapshot().entries, [
    record(1),
    record(2),
    record(4),
  ]);
  await stop();
});

test("AsyncIOTransformStream.snapshot() round-trips through JSON and structuredClone", async () => {
  const { fn, callsReach } = controlledFn<
    { id: number; tags: string[] },
    number
  >();
  const stream = new AsyncIOTransformStream<
    { id: number; tags: string[] },
    number,
    Watermark
  >(fn);
  const { stop } = collect(stream.readable);
  await writeWithoutWaiting(stream.writable, [
    { id: 1, tags: ["x"] },
    new Watermark(3),
    { id: 2, tags: [] },
  ]);
  await callsReach(2);
  const state = stream.snapshot();
  assert.deepEqual(JSON.parse(JSON.stringify(state)), state);
  assert.deepEqual(structuredClone(state), state);
  new AsyncIOTransformStream(fn, {
    restore: JSON.parse(JSON.stringify(state)),
  });
  await stop();
});

test("AsyncIOTransformStream() restored with a hanging snapshot and a new fn emits every result once and in order", async () => {
  const hanging = controlledFn<number, string>();
  const first = new AsyncIOTransformStream(hanging.fn, { capacity: 10 });
  const firstRun = collect(first.readable);
  await writeWithoutWaiting(first.writable, [1, 2, 3]);
  await hanging.callsReach(3);
  const state = JSON.parse(JSON.stringify(first.snapshot()));
  await firstRun.stop("crash");

  const calls: number[] = [];
  const second = new AsyncIOTransformStream(
    async (n: number, { attempt }: CallContext) => {
      calls.push(n);
      await new Promise((resolve) => setTimeout(resolve, 10 - 2 * n));
      return `${n}@${attempt}`;
    },
    { capacity: 10, restore: state },
  );
  const output = await Array.fromAsync(
    ReadableStream.from([4, 5]).pipeThrough(second),
  );
  assert.deepEqual(output, ["1@1", "2@1", "3@1", "4@1", "5@1"]);
  assert.deepEqual(calls, [1, 2, 3, 4, 5], "restored entries are called first");
});

test("AsyncIOTransformStream() restarts from a full queue and respects a smaller capacity", async () => {
  const hanging = controlledFn<number, number>();
  const first = new AsyncIOTransformStream(hanging.fn, { capacity: 4 });
  const firstRun = collect(first.readable);
  await writeWithoutWaiting(first.writable, [1, 2, 3, 4, 5, 6]);
  await hanging.callsReach(4);
  const state = first.snapshot();
  assert.deepEqual(state.entries, [1, 2, 3, 4].map(record), "a full queue");
  await firstRun.stop("crash");

  for (const capacity of [4, 1]) {
    const { fn, calls, callsReach } = controlledFn<number, number>();
    const restored = new AsyncIOTransformStream(fn, {
      capacity,
      restore: state,
    });
    const { chunks, done } = collect(restored.readable);
    const writing = ReadableStream.from([5, 6]).pipeThrough(
      new TransformStream(),
    ).pipeTo(restored.writable);
    for (let n = 1; n <= 6; n++) {
      await callsReach(n);
      await settle();
      assert.equal(
        calls.length,
        Math.min(n - 1 + capacity, 6),
        "capacity holds",
      );
      assert.ok(restored.stats.inFlight <= capacity);
      calls[n - 1]!.resolve(n * 10);
    }
    await writing;
    await done;
    assert.deepEqual(chunks, [10, 20, 30, 40, 50, 60], `capacity ${capacity}`);
  }
});

test("AsyncIOTransformStream.snapshot() still holds restored entries that wait for capacity", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const restore: AsyncIOState<number> = {
    version: 1,
    entries: [record(1), watermark(1), record(2), record(3)],
  };
  const stream = new AsyncIOTransformStream<number, number, Watermark>(fn, {
    capacity: 1,
    restore,
  });
  const { chunks, stop } = collect(stream.readable);
  await callsReach(1);
  assert.deepEqual(stream.snapshot(), restore);
  // The stats count the records of the snapshot, those that wait included.
  assert.equal(stream.stats.accepted, 3);
  assert.equal(stream.stats.pending, 3);
  assert.equal(stream.stats.inFlight, 1);
  calls[0]!.resolve(1);
  await callsReach(2);
  while (chunks.length < 2) await settle();
  assert.deepEqual(chunks, [1, new Watermark(1)]);
  assert.deepEqual(stream.snapshot().entries, [record(2), record(3)]);
  assert.equal(stream.stats.accepted, 3);
  assert.equal(stream.stats.pending, 2);
  assert.equal(stream.stats.emitted, 1);
  await stop();
  assert.deepEqual(stream.snapshot().entries, [record(2), record(3)]);
  assert.equal(stream.stats.pending, 2);
});

test("AsyncIOTransformStream() and mapAsync() stopped before they start count the restored records in stats as their snapshots hold them", async () => {
  const restore: AsyncIOState<number> = {
    version: 1,
    entries: [record(1), watermark(1), record(2)],
  };
  const signal = AbortSignal.abort(new Error("stopped at once"));
  const fn = (n: number) => n;
  const stream = new AsyncIOTransformStream<number, number, Watermark>(fn, {
    restore,
    signal,
  });
  const mapped = mapAsync<number, number, Watermark>([], fn, {
    restore,
    signal,
  });
  await assert.rejects(mapped.next(), /stopped at once/);
  for (const each of [stream, mapped]) {
    assert.deepEqual(each.snapshot().entries, restore.entries);
    const stats = each.stats;
    assert.equal(stats.accepted, 2);
    assert.equal(stats.pending, 2);
    assert.equal(stats.emitted, 0);
  }
});

test("AsyncIOTransformStream() gives each restored entry a fresh attempt and a fresh timeout", async () => {
  const state: AsyncIOState<number> = { version: 1, entries: [record(1)] };
  const seen: [number, boolean][] = [];
  const stream = new AsyncIOTransformStream(
    (n: number, { attempt, signal }: CallContext) => {
      seen.push([attempt, signal.aborted]);
      return n;
    },
    { restore: state, timeout: 1_000 },
  );
  const output = await Array.fromAsync(
    ReadableStream.from([2]).pipeThrough(stream),
  );
  assert.deepEqual(output, [1, 2]);
  assert.deepEqual(seen, [[1, false], [1, false]]);
});

test("AsyncIOTransformStream.snapshot() still holds every unemitted input after a failure, the failed one included", async () => {
  for (const order of ["ordered", "unordered"] as const) {
    const { fn, calls, callsReach } = controlledFn<number, number>();
    const stream = new AsyncIOTransformStream(fn, { order });
    const { chunks, done } = collect(stream.readable);
    await writeWithoutWaiting(stream.writable, [1, 2, 3, 4]);
    await callsReach(4);
    calls[0]!.resolve(1);
    await settle();
    calls[3]!.resolve(4);
    calls[2]!.reject(new Error("3 failed"));
    await done.catch(() => {});
    const emitted = new Set(chunks);
    const expected = [2, 3, 4].filter((n) => !emitted.has(n));
    assert.deepEqual(stream.snapshot().entries, expected.map(record), order);
  }
});

test("AsyncIOTransformStream.snapshot() still holds the timed-out input after a timeout error", async () => {
  const stream = new AsyncIOTransformStream(
    (_: number) => new Promise<number>(() => {}),
    { timeout: 10 },
  );
  await Array.fromAsync(ReadableStream.from([1, 2]).pipeThrough(stream)).catch(
    () => {},
  );
  assert.deepEqual(stream.snapshot().entries, [record(1), record(2)]);
});

test("AsyncIOTransformStream() rejects a malformed restore state with a TypeError that says what is wrong", () => {
  const prefix = "Cannot construct AsyncIOTransformStream as";
  const cases: [unknown, string][] = [
    [null, "restore must be a state from snapshot(): current value is null"],
    [
      [],
      "restore.version must be 1, the only format this version reads: current value is undefined",
    ],
    [
      { version: 2, entries: [] },
      "restore.version must be 1, the only format this version reads: current value is 2",
    ],
    [
      { version: 1 },
      "restore.entries must be an array: current value is undefined",
    ],
    [
      { version: 1, entries: [7] },
      "restore.entries[0] must be an object: current value is 7",
    ],
    [
      { version: 1, entries: [record(1), { kind: "marker" }] },
      'restore.entries[1].kind must be "record" or "watermark": current value is "marker"',
    ],
    [
      { version: 1, entries: [{ kind: "record" }] },
      "restore.entries[0].input must be present: current value is undefined",
    ],
    [
      { version: 1, entries: [{ kind: "watermark", timestamp: "3" }] },
      'restore.entries[0].timestamp must be a number: current value is "3"',
    ],
  ];
  for (const [restore, message] of cases) {
    assert.throws(
      () =>
        new AsyncIOTransformStream((n: number) => n, {
          restore: restore as AsyncIOState<number>,
        }),
      { name: "TypeError", message: `${prefix} ${message}` },
    );
  }
});

test("AsyncIOTransformStream() and mapAsync() admit restored inputs only as results are read, not past capacity", async () => {
  const restore = {
    version: 1 as const,
    entries: Array.from({ length: 10 }, (_, input) => ({
      kind: "record" as const,
      input,
    })),
  };
  let calls = 0;
  const fn = (n: number) => (calls++, Promise.resolve(n));

  const stream = new AsyncIOTransformStream(fn, { capacity: 2, restore });
  await settle(20);
  // Nobody reads: one result fills the readable side (its highWaterMark is
  // 1), the other waits in the stream, unemitted, and the other inputs
  // wait, uncalled: nine in the snapshot.
  assert.equal(calls, 2, "called fn for results nobody reads");
  assert.equal(stream.snapshot().entries.length, 9);
  await stream.readable.cancel();

  calls = 0;
  const mapped = mapAsync([], fn, { capacity: 2, restore });
  assert.deepEqual(await mapped.next(), { done: false, value: 0 });
  await settle(20);
  assert.equal(calls, 2, "called fn for results nobody reads");
  assert.equal(mapped.snapshot().entries.length, 9);
  await mapped.return();
});
