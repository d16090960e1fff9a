import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncIOTransformStream } from "../mod.ts";
import { collect, controlledFn, settle } from "./_deferred.ts";

/** A tiny seeded generator, so "random" orders repeat run after run. */
function lcg(seed: number) {
  return () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

test("AsyncIOTransformStream() stops accepting input at capacity", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, { capacity: 2 });
  const { done } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  await writer.write(1);
  let secondAccepted = false;
  const second = writer.write(2).then(() => secondAccepted = true);
  const third = writer.write(3);
  await callsReach(2);
  await settle();
  assert.equal(
    secondAccepted,
    false,
    "the write that fills capacity stays pending",
  );
  assert.ok(writer.desiredSize! <= 0, `desiredSize is ${writer.desiredSize}`);
  assert.equal(calls.length, 2, "no call for an input beyond capacity");
  assert.equal(stream.stats.pending, 2);
  calls[0]!.resolve(1);
  await second;
  await callsReach(3);
  calls[1]!.resolve(2);
  calls[2]!.resolve(3);
  await third;
  await writer.close();
  await done;
});

test("AsyncIOTransformStream()'s write that fills capacity is taken though its promise waits: a stop rejects it, and snapshot() holds its input, as the README says", async () => {
  const { fn, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, { capacity: 2 });
  const { done } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  await writer.write(1);
  const filling = writer.write(2);
  const beyond = writer.write(3);
  await callsReach(2);
  const reason = new Error("stopped");
  await writer.abort(reason);
  await assert.rejects(filling, reason);
  await assert.rejects(beyond, reason);
  await assert.rejects(done, reason);
  // Only the input beyond capacity was refused.
  assert.deepEqual(stream.snapshot().entries, [
    { kind: "record", input: 1 },
    { kind: "record", input: 2 },
  ]);
  assert.equal(stream.stats.accepted, 2);
});

test("AsyncIOTransformStream() never has more calls pending than capacity", async () => {
  const random = lcg(7);
  for (const order of ["ordered", "unordered"] as const) {
    const capacity = 4;
    const { fn, calls } = controlledFn<number, number>();
    const stream = new AsyncIOTransformStream(fn, { capacity, order });
    const { chunks, done } = collect(stream.readable);
    const total = 60;
    const writing = ReadableStream.from(
      Array.from({ length: total }, (_, i) => i),
    )
      .pipeTo(stream.writable);
    const pending = () => calls.filter((call) => !("settled" in call));
    let maxPending = 0;
    while (chunks.length < total) {
      await settle();
      const open = pending();
      maxPending = Math.max(maxPending, open.length);
      assert.ok(open.length <= capacity, `${open.length} calls pending`);
      assert.ok(stream.stats.inFlight <= capacity);
      if (open.length === 0) continue;
      const call = open[Math.floor(random() * open.length)]!;
      Object.assign(call, { settled: true });
      call.resolve(call.input);
    }
    await writing;
    await done;
    assert.equal(
      maxPending,
      capacity,
      "the bound was reached, so it was tested",
    );
    if (order === "ordered") {
      assert.deepEqual(chunks, Array.from({ length: total }, (_, i) => i));
    } else {
      assert.deepEqual(
        [...chunks].sort((a, b) => a - b),
        Array.from({ length: total }, (_, i) => i),
      );
    }
  }
});

test("AsyncIOTransformStream() reads a source no further ahead than capacity and the highWaterMarks", async () => {
  const cases = [
    { capacity: 5, writableHWM: 1, readableHWM: 0, sourceHWM: 1 },
    { capacity: 3, writableHWM: 4, readableHWM: 2, sourceHWM: 0 },
    { capacity: 1, writableHWM: 1, readableHWM: 0, sourceHWM: 1 },
  ];
  for (const order of ["ordered", "unordered"] as const) {
    for (const { capacity, writableHWM, readableHWM, sourceHWM } of cases) {
      let pulled = 0;
      const source = new ReadableStream<number>({
        pull(controller) {
          controller.enqueue(pulled++);
        },
      }, { highWaterMark: sourceHWM });
      const { fn, calls } = controlledFn<number, number>();
      const stream = new AsyncIOTransformStream(fn, {
        capacity,
        order,
        writableStrategy: { highWaterMark: writableHWM },
        readableStrategy: { highWaterMark: readableHWM },
      });
      const reader = source.pipeThrough(stream).getReader();
      const bound = capacity + writableHWM + readableHWM + sourceHWM;
      let read = 0;
      let resolved = 0;
      let maxAhead = 0;
      const check = async () => {
        await settle(1); // a slow consumer: let the producer run ahead
        const ahead = pulled - read;
        maxAhead = Math.max(maxAhead, ahead);
        assert.ok(ahead <= bound, `${ahead} ahead, bound ${bound}`);
        assert.ok(
          stream.stats.pending <= capacity,
          `${stream.stats.pending} pending`,
        );
      };
      const resolveAll = () => {
        while (resolved < calls.length) {
          const call = calls[resolved++]!;
          call.resolve(call.input);
        }
      };
      for (let i = 0; i < 30; i++) {
        await check(); // calls pending: capacity fills up
        resolveAll();
        await check(); // results pile up for the slow reader
        let value: number | undefined = undefined;
        const reading = reader.read().then((result) => value = result.value);
        while (value === undefined) {
          resolveAll();
          await Promise.race([reading, settle(1)]);
        }
        if (order === "ordered") assert.equal(value, read);
        read++;
      }
      assert.ok(
        maxAhead >= capacity,
        `only ${maxAhead} ahead: capacity never filled`,
      );
      await reader.cancel();
    }
  }
});

test("AsyncIOTransformStream() honours a custom writable highWaterMark", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    capacity: 1,
    writableStrategy: { highWaterMark: 3 },
  });
  const { done } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  assert.equal(writer.desiredSize, 3);
  void writer.write(1);
  void writer.write(2);
  await callsReach(1);
  assert.equal(writer.desiredSize, 1, "one in the transform, one queued");
  calls[0]!.resolve(1);
  await callsReach(2);
  calls[1]!.resolve(2);
  await writer.close();
  await done;
});

test("AsyncIOTransformStream() frees a slot and unblocks successors on complete([])", async () => {
  const results: string[][] = [];
  const stream = new AsyncIOTransformStream<string, string>({
    asyncInvoke(input, result) {
      results.push([input]);
      setTimeout(() => result.complete(input === "skip" ? [] : [input]), 1);
    },
  }, { capacity: 1 });
  const output = await Array.fromAsync(
    ReadableStream.from(["a", "skip", "skip", "b"]).pipeThrough(stream),
  );
  assert.deepEqual(output, ["a", "b"]);
  assert.equal(stream.stats.emitted, 4);
});
