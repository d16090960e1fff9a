// Completed results wait in the stream, not in its readable side: the
// readable holds at most its highWaterMark, plus the rest of one input's
// outputs, which leave together.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AsyncIOStateEntry,
  AsyncIOTransformStream,
  CheckpointBarrier,
  type ResultFuture,
  Watermark,
} from "../mod.ts";
import { controlledFn, deferred, settle } from "./_deferred.ts";

/** A tiny seeded generator, so "random" orders repeat run after run. */
function lcg(seed: number) {
  return () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

const ORDERS = ["ordered", "unordered", "key-ordered"] as const;

test("AsyncIOTransformStream() never lets its readable hold more than its highWaterMark, in every order mode", async () => {
  const random = lcg(11);
  for (const order of ORDERS) {
    for (const highWaterMark of [1, 3]) {
      const { fn, calls } = controlledFn<number, number>();
      const stream = new AsyncIOTransformStream(fn, {
        capacity: 8,
        order,
        key: (x: number) => x % 3,
        readableStrategy: { highWaterMark },
      });
      const total = 40;
      const writing = ReadableStream.from(
        Array.from({ length: total }, (_, i) => i),
      ).pipeTo(stream.writable);
      const reader = stream.readable.getReader();
      const read: number[] = [];
      let mostHeld = 0;
      while (read.length < total) {
        await settle();
        const held = stream.stats.outputs - read.length;
        assert.ok(
          held <= highWaterMark,
          `${order}, highWaterMark ${highWaterMark}: the readable holds ${held}`,
        );
        mostHeld = Math.max(mostHeld, held);
        const open = calls.filter((call) => !("settled" in call));
        // Complete more often than read, so that results pile up.
        if (open.length > 0 && (held === 0 || random() < 0.7)) {
          const call = open[Math.floor(random() * open.length)]!;
          Object.assign(call, { settled: true });
          call.resolve(call.input);
        } else if (held > 0) {
          const { value } = await reader.read();
          read.push(value!);
        }
      }
      await writing;
      assert.equal((await reader.read()).done, true);
      assert.equal(mostHeld, highWaterMark, "the bound was reached");
      if (order === "ordered") {
        assert.deepEqual(read, Array.from({ length: total }, (_, i) => i));
      } else {
        assert.deepEqual(
          [...read].sort((a, b) => a - b),
          Array.from({ length: total }, (_, i) => i),
        );
      }
    }
  }
});

test("AsyncIOTransformStream() with a readable highWaterMark of 0 emits a result per read", async () => {
  for (const order of ORDERS) {
    const { fn, calls, callsReach } = controlledFn<number, number>();
    const stream = new AsyncIOTransformStream(fn, {
      capacity: 4,
      order,
      key: (x: number) => x,
      readableStrategy: { highWaterMark: 0 },
    });
    const writer = stream.writable.getWriter();
    const reader = stream.readable.getReader();
    // A pending read lets the writes in, and takes the first result.
    const first = reader.read();
    for (let i = 0; i < 4; i++) writer.write(i).catch(() => {});
    await callsReach(4);
    for (const call of calls) call.resolve(call.input * 10);
    await settle();
    assert.deepEqual(await first, { done: false, value: 0 });
    assert.equal(stream.stats.emitted, 1, `${order}: nothing waits unread`);
    for (let i = 1; i < 4; i++) {
      assert.deepEqual(await reader.read(), { done: false, value: i * 10 });
      await settle();
      assert.equal(stream.stats.emitted, i + 1, `${order}: one per read`);
    }
    await writer.close();
    assert.equal((await reader.read()).done, true);
  }
});

test("AsyncIOTransformStream() emits an input's outputs together, even past the readable's highWaterMark", async () => {
  const futures: ResultFuture<string>[] = [];
  const stream = new AsyncIOTransformStream<number, string>({
    asyncInvoke(_input, result) {
      futures.push(result);
    },
  }, { capacity: 4, readableStrategy: { highWaterMark: 1 } });
  const writer = stream.writable.getWriter();
  for (let i = 0; i < 3; i++) writer.write(i).catch(() => {});
  while (futures.length < 3) await settle();
  futures[0]!.complete(["a", "b", "c"]);
  futures[1]!.complete(["d"]);
  futures[2]!.complete(["e", "f"]);
  await settle();
  // The first input's three outputs overfill the readable; the rest wait.
  assert.equal(stream.stats.outputs, 3);
  assert.equal(stream.stats.emitted, 1);
  assert.deepEqual(stream.snapshot().entries, [
    { kind: "record", input: 1 },
    { kind: "record", input: 2 },
  ]);
  const reader = stream.readable.getReader();
  const read: string[] = [];
  for (let i = 0; i < 3; i++) read.push((await reader.read()).value!);
  await settle();
  assert.equal(stream.stats.emitted, 2, "one read under the mark lets one in");
  for (let i = 0; i < 3; i++) read.push((await reader.read()).value!);
  assert.deepEqual(read, ["a", "b", "c", "d", "e", "f"]);
  await writer.close();
  assert.equal((await reader.read()).done, true);
});

test("AsyncIOTransformStream() counts results held back for a full readable as not emitted", async () => {
  for (const onError of ["fail", "settle"] as const) {
    const { fn, calls, callsReach } = controlledFn<number, number>();
    const stream = new AsyncIOTransformStream(fn, {
      capacity: 4,
      onError,
      readableStrategy: { highWaterMark: 1 },
    });
    const writer = stream.writable.getWriter();
    for (let i = 0; i < 4; i++) writer.write(i).catch(() => {});
    await callsReach(4);
    for (const call of calls) call.resolve(call.input);
    await settle();
    assert.equal(stream.stats.emitted, 1, onError);
    assert.equal(stream.stats.pending, 3, onError);
    assert.equal(stream.stats.outputs, 1, onError);
    assert.deepEqual(stream.snapshot().entries.map((e) => e.kind), [
      "record",
      "record",
      "record",
    ]);
    assert.deepEqual(
      stream.snapshot().entries.map((e) => e.kind === "record" && e.input),
      [1, 2, 3],
    );
    // At capacity with every result held: the next write waits for a read.
    let accepted = false;
    const fifth = writer.write(4).then(() => accepted = true);
    await settle();
    assert.equal(accepted, false, `${onError}: capacity holds the input back`);
    const reader = stream.readable.getReader();
    await reader.read();
    await settle();
    assert.equal(stream.stats.emitted, 2, onError);
    assert.deepEqual(
      stream.snapshot().entries.map((e) => e.kind === "record" && e.input),
      [2, 3],
    );
    for (let i = 1; i < 4; i++) await reader.read();
    await callsReach(5);
    calls[4]!.resolve(4);
    await fifth;
    await reader.read();
    await writer.close();
    assert.equal((await reader.read()).done, true);
    assert.equal(stream.stats.emitted, 5);
  }
});

test("AsyncIOTransformStream() keeps results held back in snapshot() after a stop", async () => {
  for (const how of ["cancel", "abort"] as const) {
    const { fn, calls, callsReach } = controlledFn<number, number>();
    const stream = new AsyncIOTransformStream(fn, {
      capacity: 4,
      readableStrategy: { highWaterMark: 1 },
    });
    const writer = stream.writable.getWriter();
    for (let i = 0; i < 4; i++) writer.write(i).catch(() => {});
    await callsReach(4);
    for (const call of calls) call.resolve(call.input);
    await settle();
    if (how === "cancel") await stream.readable.cancel("enough");
    else await writer.abort("enough").catch(() => {});
    await settle();
    // A cancel discards what the readable held (read); an error drops it
    // unread. The held results never reached it, so they stay either way.
    assert.deepEqual(
      stream.snapshot().entries.map((e) => e.kind === "record" && e.input),
      how === "cancel" ? [1, 2, 3] : [0, 1, 2, 3],
    );
    assert.equal(stream.stats.emitted, how === "cancel" ? 1 : 0, how);
  }
});

test("AsyncIOTransformStream() never lets a watermark overtake a record held back for a full readable", async () => {
  for (const order of ORDERS) {
    const { fn, calls, callsReach } = controlledFn<number, number>();
    const stream = new AsyncIOTransformStream<
      number,
      number,
      Watermark
    >(fn, {
      capacity: 8,
      order,
      key: (x: number) => x,
      readableStrategy: { highWaterMark: 1 },
    });
    const writer = stream.writable.getWriter();
    const chunks = [0, 1, new Watermark(10), 2];
    for (const chunk of chunks) writer.write(chunk).catch(() => {});
    await callsReach(3);
    calls[1]!.resolve(1);
    await settle();
    calls[0]!.resolve(0);
    calls[2]!.resolve(2);
    await settle();
    // One result fills the readable; the rest, the watermark among them,
    // wait in the stream, in their places.
    assert.equal(stream.stats.emitted, 1, order);
    const entries = stream.snapshot().entries;
    assert.equal(entries.length, 3, order);
    assert.deepEqual(entries[entries.length - 2], {
      kind: "watermark",
      timestamp: 10,
    });
    const reader = stream.readable.getReader();
    const read: unknown[] = [];
    const done = deferred();
    (async () => {
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        read.push(r.value instanceof Watermark ? "W" : r.value);
      }
      done.resolve();
    })();
    await settle();
    await writer.close();
    await done.promise;
    const watermarkAt = read.indexOf("W");
    assert.deepEqual(
      [...read.slice(0, watermarkAt)].sort(),
      [0, 1],
      `${order}: ${read}`,
    );
    assert.deepEqual(read.slice(watermarkAt), ["W", 2], order);
  }
});

test("AsyncIOTransformStream() ends only once the reader has read the results held back", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    capacity: 4,
    readableStrategy: { highWaterMark: 1 },
  });
  const writer = stream.writable.getWriter();
  for (let i = 0; i < 3; i++) writer.write(i).catch(() => {});
  let closed = false;
  const closing = writer.close().then(() => closed = true);
  await callsReach(3);
  for (const call of calls) call.resolve(call.input);
  await settle();
  assert.equal(closed, false, "two results still wait for room");
  assert.equal(stream.stats.pending, 2);
  const reader = stream.readable.getReader();
  const read: number[] = [];
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    read.push(r.value);
  }
  await closing;
  assert.deepEqual(read, [0, 1, 2]);
  assert.equal(stream.stats.pending, 0);
});

test("AsyncIOTransformStream() fails with a readable size() that throws on a result held back, and keeps its input", async () => {
  const error = new Error("no size");
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    capacity: 4,
    readableStrategy: {
      highWaterMark: 1,
      size(chunk) {
        if (chunk === 2) throw error;
        return 1;
      },
    },
  });
  const writer = stream.writable.getWriter();
  for (let i = 0; i < 3; i++) writer.write(i).catch(() => {});
  await callsReach(3);
  for (const call of calls) call.resolve(call.input);
  await settle();
  assert.equal(stream.stats.emitted, 1);
  const reader = stream.readable.getReader();
  assert.deepEqual(await reader.read(), { done: false, value: 0 });
  // That read let 1 in; reading it lets 2 go, whose size() throws.
  assert.deepEqual(await reader.read(), { done: false, value: 1 });
  await assert.rejects(reader.read(), error);
  assert.equal(stream.stats.emitted, 2);
  assert.deepEqual(stream.snapshot().entries, [{ kind: "record", input: 2 }]);
  await assert.rejects(writer.closed, error);
});

test("AsyncIOTransformStream() takes a barrier written while results are held back only once reads have let them out: they are not in its state", async () => {
  for (const order of ["ordered", "unordered"] as const) {
    const { fn, calls, callsReach } = controlledFn<number, number>();
    const states: (readonly AsyncIOStateEntry<number>[])[] = [];
    const stream = new AsyncIOTransformStream<
      number,
      number,
      CheckpointBarrier
    >(fn, {
      capacity: 8,
      order,
      readableStrategy: { highWaterMark: 1 },
      onCheckpoint: (state) => void states.push(state.entries),
    });
    const writer = stream.writable.getWriter();
    for (let i = 0; i < 4; i++) writer.write(i).catch(() => {});
    await callsReach(4);
    for (const call of calls.slice(0, 3)) call.resolve(call.input);
    await settle();
    // 0 fills the readable; 1 and 2 are held back, 3 is pending.
    assert.equal(stream.stats.emitted, 1, order);
    let taken = false;
    writer.write(new CheckpointBarrier(1)).then(() => taken = true);
    await settle();
    assert.equal(taken, false, `${order}: a write waits for the reader`);
    assert.equal(states.length, 0, order);
    const reader = stream.readable.getReader();
    const read: unknown[] = [];
    for (let i = 0; i < 4; i++) {
      const { value } = await reader.read();
      read.push(value instanceof CheckpointBarrier ? "B" : value);
    }
    assert.deepEqual(read, [0, 1, 2, "B"], order);
    assert.deepEqual(states, [[{ kind: "record", input: 3 }]], order);
    calls[3]!.resolve(3);
    assert.deepEqual(await reader.read(), { done: false, value: 3 });
    await writer.close();
    assert.equal((await reader.read()).done, true);
  }
});

test("AsyncIOTransformStream() holds nothing back under an infinite readable highWaterMark, or for results of size 0", async () => {
  const strategies: [string, QueuingStrategy<number>][] = [
    ["infinite", { highWaterMark: Infinity }],
    ["size 0", { highWaterMark: 1, size: () => 0 }],
  ];
  for (const [name, readableStrategy] of strategies) {
    const { fn, calls, callsReach } = controlledFn<number, number>();
    const stream = new AsyncIOTransformStream<number, number>(fn, {
      capacity: 4,
      readableStrategy,
    });
    const writer = stream.writable.getWriter();
    for (let i = 0; i < 4; i++) writer.write(i).catch(() => {});
    await callsReach(4);
    for (const call of calls) call.resolve(call.input);
    await settle();
    // No read yet: every result is in the readable, none in the stream.
    assert.equal(stream.stats.emitted, 4, name);
    assert.deepEqual(stream.snapshot().entries, [], name);
    await writer.close(); // nothing to wait for a reader
    const reader = stream.readable.getReader();
    const read: number[] = [];
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      read.push(r.value);
    }
    assert.deepEqual(read, [0, 1, 2, 3], name);
  }
});

test("AsyncIOTransformStream() never times out a result held back for a full readable", async () => {
  for (const order of ORDERS) {
    const { fn, calls, callsReach } = controlledFn<number, number>();
    const stream = new AsyncIOTransformStream(fn, {
      capacity: 4,
      order,
      key: (x: number) => x,
      timeout: 20,
      readableStrategy: { highWaterMark: 1 },
    });
    const writer = stream.writable.getWriter();
    for (let i = 0; i < 3; i++) writer.write(i).catch(() => {});
    await callsReach(3);
    for (const call of calls) call.resolve(call.input);
    await settle();
    assert.equal(stream.stats.emitted, 1, order);
    // Well past the timeout: the held results completed before it.
    await settle(100);
    assert.equal(stream.stats.timedOut, 0, order);
    const reader = stream.readable.getReader();
    const read: number[] = [];
    for (let i = 0; i < 3; i++) read.push((await reader.read()).value!);
    assert.deepEqual([...read].sort(), [0, 1, 2], order);
    await writer.close();
    assert.equal((await reader.read()).done, true);
  }
});
