// Markers are recognised by a brand that every copy of the library shares,
// not by their class: a Watermark or CheckpointBarrier made by a second copy
// (two versions in one dependency graph) is a marker to this copy's streams,
// and an object that merely looks like one stays a record.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AsyncIOState,
  AsyncIOTransformStream,
  CheckpointBarrier,
  mapAsync,
  Watermark,
} from "../mod.ts";
import { controlledFn, deferred, settle } from "./_deferred.ts";
import { readAll } from "./_read_all.ts";
import { secondCopy } from "./_second_copy.ts";
import { toArray } from "./_sources.ts";

const copy = await secondCopy();

test("secondCopy() loads classes apart from this copy's", () => {
  assert.notEqual(copy.Watermark, Watermark);
  assert.notEqual(copy.CheckpointBarrier, CheckpointBarrier);
  assert.notEqual(
    Object.getPrototypeOf(new copy.Watermark(1)),
    Watermark.prototype,
  );
});

test("AsyncIOTransformStream() keeps a Watermark from another copy of the library as a watermark that no record crosses", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream<number, number, Watermark>(fn, {
    order: "unordered",
  });
  const foreign = new copy.Watermark(5);
  const writer = stream.writable.getWriter();
  const output = readAll(stream.readable);
  for (const chunk of [1, foreign, 2]) void writer.write(chunk);
  void writer.close();
  await callsReach(2);
  await settle();
  assert.deepEqual(calls.map((call) => call.input), [1, 2]);
  calls[1]!.resolve(20); // after the watermark: must wait for it
  await settle();
  calls[0]!.resolve(10);
  const chunks = await output;
  assert.deepEqual(chunks, [10, foreign, 20]);
  assert.equal(chunks[1], foreign, "the very object written comes out");
});

test("AsyncIOTransformStream() snapshots at a CheckpointBarrier from another copy, holding a foreign watermark's timestamp, and restores from it", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const checkpoints: [AsyncIOState<number>, CheckpointBarrier][] = [];
  const stream = new AsyncIOTransformStream<
    number,
    number,
    Watermark | CheckpointBarrier
  >(fn, {
    onCheckpoint: (state, barrier) => void checkpoints.push([state, barrier]),
  });
  const barrier = new copy.CheckpointBarrier(7);
  const writer = stream.writable.getWriter();
  const output = readAll(stream.readable);
  for (const chunk of [1, new copy.Watermark(5), barrier]) {
    void writer.write(chunk);
  }
  await callsReach(1);
  await settle();
  assert.equal(checkpoints.length, 1, "onCheckpoint calls");
  const [state, seen] = checkpoints[0]!;
  assert.equal(seen, barrier);
  assert.deepEqual(state.entries, [
    { kind: "record", input: 1 },
    { kind: "watermark", timestamp: 5 },
  ]);
  calls[0]!.resolve(10);
  void writer.close();
  const chunks = await output;
  assert.equal(chunks[0], barrier, "the barrier leaves ahead, as written");
  assert.deepEqual(chunks.slice(1).map(show), [10, "w5"]);

  const restored = new AsyncIOTransformStream<number, number, Watermark>(
    (n) => Promise.resolve(n * 10),
    { restore: JSON.parse(JSON.stringify(state)) },
  );
  const resumed = await readAll(
    ReadableStream.from<number>([]).pipeThrough(restored),
  );
  assert.deepEqual(resumed.map(show), [10, "w5"]);
});

test("mapAsync() passes a Watermark and a CheckpointBarrier from another copy of the library through as markers", async () => {
  const states: AsyncIOState<number>[] = [];
  const watermark = new copy.Watermark(10);
  const barrier = new copy.CheckpointBarrier(7);
  const inputs: number[] = [];
  const mapped = mapAsync<number, number, Watermark | CheckpointBarrier>(
    [1, watermark, 2, barrier, 3],
    (n) => {
      inputs.push(n);
      return new Promise<number>((resolve) => setTimeout(resolve, 5, n));
    },
    { order: "unordered", onCheckpoint: (state) => void states.push(state) },
  );
  const output = await toArray(mapped);
  assert.deepEqual(inputs, [1, 2, 3]);
  // A barrier leaves ahead of the pending inputs: they are in its snapshot.
  assert.deepEqual(output, [barrier, 1, watermark, 2, 3]);
  assert.equal(output[0], barrier);
  assert.equal(output[2], watermark);
  assert.deepEqual(states[0]!.entries, [
    { kind: "record", input: 1 },
    { kind: "watermark", timestamp: 10 },
    { kind: "record", input: 2 },
  ]);
});

test("mapAsync() snapshot() holds a foreign watermark that a pending async read delivers after return()", async () => {
  const late = deferred<IteratorResult<number | Watermark>>();
  let reads = 0;
  const source: AsyncIterable<number | Watermark> = {
    [Symbol.asyncIterator]: () => ({
      next: () =>
        ++reads <= 1
          ? Promise.resolve({ done: false, value: 1 })
          : late.promise,
      return: () => Promise.resolve({ done: true, value: undefined }),
    }),
  };
  const { fn, callsReach } = controlledFn<number, number>();
  const mapped = mapAsync<number, number, Watermark>(source, fn, {
    capacity: 4,
  });
  const first = mapped.next();
  await callsReach(1);
  await settle();
  assert.equal(reads, 2, "the second read is pending");
  await mapped.return();
  await first;
  late.resolve({ done: false, value: new copy.Watermark(5) });
  await settle();
  assert.deepEqual(mapped.snapshot().entries, [
    { kind: "record", input: 1 },
    { kind: "watermark", timestamp: 5 },
  ]);
});

test("AsyncIOTransformStream() gives objects that only look like markers to the async function as records", async () => {
  class OwnWatermark { // a user's class of the same name and shape
    readonly timestamp = 3;
  }
  Object.defineProperty(OwnWatermark, "name", { value: "Watermark" });
  const records: object[] = [
    { timestamp: 1 },
    { id: 2 },
    new OwnWatermark(),
    Object.assign(Object.create(null), { timestamp: 4 }),
    structuredClone(new Watermark(5)), // a clone keeps neither class nor brand
    // Only the brand's exact value counts: a Proxy that answers every key.
    new Proxy({ timestamp: 6 }, { get: () => "watermark?" }),
  ];
  const seen: object[] = [];
  // Returns a count, not the record: resolving with it would read `then`.
  const stream = new AsyncIOTransformStream<object, number>((record) =>
    Promise.resolve(seen.push(record))
  );
  const output = await readAll(
    ReadableStream.from(records).pipeThrough(stream),
  );
  assert.equal(seen.length, records.length, "records given to the function");
  records.forEach((record, i) => assert.equal(seen[i], record, `record ${i}`));
  assert.deepEqual(output, [1, 2, 3, 4, 5, 6]);
});

test('AsyncIOTransformStream() takes an object that carries the brand under Symbol.for("@async-io/async-io.marker.v1") as a marker, whatever its class', async () => {
  // The key is what every version of the library reads: it must not change.
  const key = Symbol.for("@async-io/async-io.marker.v1");
  const watermark: object = { [key]: "watermark", timestamp: 5 };
  const barrier: object = { [key]: "checkpoint-barrier", id: 7 };
  assert.ok(watermark instanceof Watermark);
  assert.ok(barrier instanceof CheckpointBarrier);
  const barriers: unknown[] = [];
  const stream = new AsyncIOTransformStream<
    number,
    number,
    Watermark | CheckpointBarrier
  >(
    (n) => Promise.resolve(n * 10),
    { onCheckpoint: (_, seen) => void barriers.push(seen) },
  );
  const output = await readAll(
    ReadableStream.from([1, watermark, barrier, 2])
      .pipeThrough(stream),
  );
  assert.deepEqual(barriers, [barrier]);
  assert.equal(output.length, 4);
  assert.equal(output[output.indexOf(watermark)], watermark);
  assert.deepEqual(output.filter((chunk) => typeof chunk === "number"), [
    10,
    20,
  ]);
});

test("AsyncIOTransformStream() fails with the error of a Proxy whose get trap throws when the brand is read, and gives it to no call", async () => {
  const error = new Error("no such key");
  const hostile = new Proxy({}, {
    get: (_, key) => {
      if (typeof key === "symbol") throw error;
      return undefined;
    },
  });
  const inputs: unknown[] = [];
  const stream = new AsyncIOTransformStream<unknown, unknown>((input) => {
    inputs.push(input);
    return Promise.resolve(input);
  });
  const writer = stream.writable.getWriter();
  const output = readAll(stream.readable);
  await assert.rejects(writer.write(hostile), (reason) => reason === error);
  await assert.rejects(output, (reason) => reason === error);
  assert.deepEqual(inputs, []);
});

test("instanceof Watermark and instanceof CheckpointBarrier hold for markers of any copy, and for nothing else", () => {
  assert.ok(new copy.Watermark(1) instanceof Watermark);
  assert.ok(new Watermark(1) instanceof copy.Watermark);
  assert.ok(new copy.CheckpointBarrier(1) instanceof CheckpointBarrier);
  assert.ok(new CheckpointBarrier(1) instanceof copy.CheckpointBarrier);
  assert.ok(!(new copy.Watermark(1) instanceof CheckpointBarrier));
  assert.ok(!(new copy.CheckpointBarrier(1) instanceof Watermark));
  for (const value of [{ timestamp: 1 }, { id: 1 }, null, 1, "w", undefined]) {
    assert.ok(!(value instanceof Watermark), `${value} instanceof Watermark`);
    assert.ok(!(value instanceof CheckpointBarrier), `${value} is a barrier`);
  }
});

test("instanceof Watermark and instanceof CheckpointBarrier throw what a Proxy's get trap throws, as their JSDoc says", () => {
  const trapError = new Error("get trap");
  const hostile = new Proxy({}, {
    get() {
      throw trapError;
    },
  });
  assert.throws(() => hostile instanceof Watermark, trapError);
  assert.throws(() => hostile instanceof CheckpointBarrier, trapError);
});

test("instanceof a subclass of Watermark keeps its own meaning, and the stream still sees the subclass's instances as watermarks", async () => {
  class LateWatermark extends Watermark {}
  const late = new LateWatermark(9);
  assert.ok(late instanceof LateWatermark);
  assert.ok(late instanceof Watermark);
  assert.ok(late instanceof copy.Watermark);
  assert.ok(!(new Watermark(9) instanceof LateWatermark));
  assert.ok(!(new copy.Watermark(9) instanceof LateWatermark));
  const stream = new AsyncIOTransformStream<number, number, Watermark>(
    (n) => Promise.resolve(n * 10),
  );
  const output = await readAll(
    ReadableStream.from<number | Watermark>([1, late, 2]).pipeThrough(stream),
  );
  assert.deepEqual(output, [10, late, 20]);
});

function show(chunk: unknown): unknown {
  return chunk instanceof Watermark ? `w${chunk.timestamp}` : chunk;
}

test("AsyncIOTransformStream() fails with a TypeError on a watermark whose timestamp is not a number, and its snapshot restores", async () => {
  const key = Symbol.for("@async-io/async-io.marker.v1");
  const watermarks: [object, string][] = [
    [{ [key]: "watermark" }, "undefined"], // a brand alone
    [new Watermark("5" as unknown as number), '"5"'], // from plain JS
    [{ [key]: "watermark", timestamp: 5n }, "5n"],
  ];
  for (const [watermark, shown] of watermarks) {
    const { fn, callsReach } = controlledFn<number, number>();
    const stream = new AsyncIOTransformStream<number, number, Watermark>(fn);
    const writer = stream.writable.getWriter();
    void writer.write(1).catch(() => {});
    await callsReach(1);
    const refused = new TypeError(
      `Cannot accept the watermark as its timestamp must be a number: current value is ${shown}`,
    );
    await assert.rejects(writer.write(watermark as Watermark), refused);
    await assert.rejects(stream.readable.getReader().read(), refused);
    const state = stream.snapshot();
    assert.deepEqual(state.entries, [{ kind: "record", input: 1 }], shown);
    // What the stream gives, it takes back.
    new AsyncIOTransformStream((n: number) => n, { restore: state });
  }
});

test("mapAsync() fails with a TypeError on a watermark whose timestamp is not a number, and leaves one read after a stop out of its snapshot", async () => {
  const key = Symbol.for("@async-io/async-io.marker.v1");
  const branded = { [key]: "watermark" } as unknown as Watermark;
  const mapped = mapAsync<number, number, Watermark>(
    [1, branded],
    () => new Promise<number>(() => {}),
  );
  await assert.rejects(
    mapped.next(),
    new TypeError(
      "Cannot accept the watermark as its timestamp must be a number: current value is undefined",
    ),
  );
  new AsyncIOTransformStream((n: number) => n, { restore: mapped.snapshot() });

  // One that a pending async read delivers after return(): the engine never
  // saw it, and its entry would be one restore refuses.
  const late = deferred<IteratorResult<number | Watermark>>();
  let reads = 0;
  const source: AsyncIterable<number | Watermark> = {
    [Symbol.asyncIterator]: () => ({
      next: () =>
        ++reads <= 1
          ? Promise.resolve({ done: false, value: 1 })
          : late.promise,
      return: () => Promise.resolve({ done: true, value: undefined }),
    }),
  };
  const { fn, callsReach } = controlledFn<number, number>();
  const stopped = mapAsync<number, number, Watermark>(source, fn, {
    capacity: 4,
  });
  const first = stopped.next();
  await callsReach(1);
  await settle();
  await stopped.return();
  await first;
  late.resolve({ done: false, value: branded });
  await settle();
  const state = stopped.snapshot();
  assert.deepEqual(state.entries, [{ kind: "record", input: 1 }]);
  new AsyncIOTransformStream((n: number) => n, { restore: state });
});

test("instanceof Watermark and CheckpointBarrier hold across subclasses and copies as the brand and the prototype chain say", () => {
  const other = copy;
  class Late extends Watermark {}
  class Later extends Late {}
  class OtherLate extends other.Watermark {}
  class Barrier extends CheckpointBarrier {}
  // The base classes go by the brand, whatever the class or copy.
  for (const each of [new Late(1), new Later(1), new OtherLate(1)]) {
    assert.ok(each instanceof Watermark);
    assert.ok(each instanceof other.Watermark);
    assert.ok(!(each instanceof CheckpointBarrier));
  }
  assert.ok(new Barrier(1) instanceof CheckpointBarrier);
  assert.ok(!(new Barrier(1) instanceof Watermark));
  // Subclasses go by the prototype chain.
  assert.ok(new Later(1) instanceof Late);
  assert.ok(!(new Late(1) instanceof Later));
  assert.ok(!(new Watermark(1) instanceof Late));
  assert.ok(!(new OtherLate(1) instanceof Late));
  assert.ok(!(new Late(1) instanceof OtherLate));
  // A bound class defers to its target: the brand again.
  assert.ok(new other.Watermark(1) instanceof Watermark.bind(null));
  for (const value of [null, 1, { timestamp: 1 }] as unknown[]) {
    assert.ok(!((value as object) instanceof Watermark));
  }
});
