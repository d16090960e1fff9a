// mapAsync()'s snapshot holds every input read from the source and not yet
// handed out by next(): results that left the engine and wait in the
// iterator's buffer count as not handed out, and no input read waits outside
// the engine. Restoring from any snapshot, after the outputs handed out so
// far, so gives every output exactly once.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AsyncFunction,
  type AsyncIOState,
  mapAsync,
  type MapAsyncIterator,
  Watermark,
} from "../mod.ts";
import { controlledFn, settle } from "./_deferred.ts";
import { asyncSource, syncSource, toArray } from "./_sources.ts";

const inputs = (state: AsyncIOState<unknown>) =>
  state.entries.map((entry) =>
    entry.kind === "record" ? entry.input : `w${entry.timestamp}`
  );

/** Takes `count` values with next(), as a consumer that then pauses would. */
async function take<T>(iterator: MapAsyncIterator<T, unknown>, count: number) {
  const values: T[] = [];
  for (let i = 0; i < count; i++) {
    const result = await iterator.next();
    assert.equal(result.done, false);
    values.push(result.value);
  }
  return values;
}

for (const order of ["ordered", "unordered"] as const) {
  test(`mapAsync() snapshot() holds the inputs of results that wait for next(), ${order}, and restoring from it yields each output once`, async () => {
    const { fn, calls, callsReach } = controlledFn<number, number>();
    const { iterator } = syncSource([1, 2, 3, 4, 5]);
    const mapped = mapAsync(iterator, fn, { order, capacity: 3 });
    const first = mapped.next();
    await callsReach(3);
    for (const call of calls) call.resolve(call.input * 10);
    assert.deepEqual(await first, { done: false, value: 10 });
    await settle();
    // 20 and 30 left the engine but no consumer has seen them.
    const state = mapped.snapshot();
    assert.deepEqual(inputs(state), [2, 3]);
    assert.equal(mapped.stats.emitted, 1);
    assert.equal(mapped.stats.pending, 2);
    assert.equal(mapped.stats.outputs, 1);
    await mapped.return();

    const resumed = mapAsync([4, 5], (n: number) => n * 10, {
      order,
      restore: JSON.parse(JSON.stringify(state)),
    });
    const rest = await toArray(resumed);
    assert.deepEqual([10, ...rest].sort((a, b) => a - b), [10, 20, 30, 40, 50]);
  });
}

test("mapAsync() snapshot() keeps a watermark that waits for next() in its place", async () => {
  const mapped = mapAsync<number, number, Watermark>(
    [1, new Watermark(5), 2],
    (n) => Promise.resolve(n),
    { order: "unordered", capacity: 3 },
  );
  assert.deepEqual(await take(mapped, 1), [1]);
  await settle();
  assert.deepEqual(inputs(mapped.snapshot()), ["w5", 2]);
  assert.equal(mapped.stats.emitted, 1);
  await mapped.return();
});

test("mapAsync() keeps an input with several outputs in snapshot() until its last output is handed out", async () => {
  const split: AsyncFunction<number, string> = {
    asyncInvoke(n, result) {
      result.complete([`${n}a`, `${n}b`, `${n}c`]);
    },
  };
  const { iterator, log } = syncSource([1, 2]);
  const mapped = mapAsync(iterator, split, { capacity: 2 });
  assert.deepEqual(await take(mapped, 1), ["1a"]);
  await settle();
  assert.equal(log.reads, 1, "read on while outputs wait for next()");
  assert.deepEqual(inputs(mapped.snapshot()), [1]);
  assert.deepEqual(await take(mapped, 1), ["1b"]);
  assert.deepEqual(inputs(mapped.snapshot()), [1]);
  assert.equal(mapped.stats.emitted, 0);
  assert.equal(mapped.stats.outputs, 2);
  assert.deepEqual(await take(mapped, 1), ["1c"]);
  assert.equal(mapped.stats.emitted, 1);
  await settle();
  assert.deepEqual(inputs(mapped.snapshot()), [2]);
  assert.deepEqual(await take(mapped, 3), ["2a", "2b", "2c"]);
  assert.deepEqual(inputs(mapped.snapshot()), []);
  assert.deepEqual(await mapped.next(), { done: true, value: undefined });
});

test("mapAsync() snapshot() still holds the results nobody saw after return() or a failure", async () => {
  for (const stop of ["return", "failure"] as const) {
    const error = new Error("lookup failed");
    const { fn, calls, callsReach } = controlledFn<number, number>();
    const mapped = mapAsync([1, 2, 3, 4], fn, { capacity: 4 });
    const first = mapped.next();
    await callsReach(4);
    calls[0]!.resolve(1);
    calls[1]!.resolve(2);
    assert.deepEqual(await first, { done: false, value: 1 });
    if (stop === "return") {
      await mapped.return();
    } else {
      calls[2]!.reject(error);
      await settle();
      await assert.rejects(mapped.next(), error);
    }
    assert.deepEqual(inputs(mapped.snapshot()), [2, 3, 4], stop);
    assert.equal(mapped.stats.emitted, 1, stop);
  }
});

test("mapAsync() snapshot() holds every input read from an async source and not handed out", async () => {
  const { iterator, log } = asyncSource([1, 2, 3, 4, 5, 6], { end: false });
  const mapped = mapAsync(iterator, (n: number) => Promise.resolve(n), {
    capacity: 2,
  });
  let handedOut = 0;
  for (const count of [1, 3, 1]) {
    handedOut += (await take(mapped, count)).length;
    await settle();
    // Results wait for next(), so the engine takes no input now: an input
    // read may not wait outside it, where snapshot() would miss it.
    assert.equal(log.reads, mapped.stats.accepted);
    assert.equal(inputs(mapped.snapshot()).length, log.reads - handedOut);
    assert.equal(mapped.stats.pending, log.reads - handedOut);
  }
  await mapped.return();
});

test("mapAsync() snapshot() in unordered mode lists the inputs of waiting results first, and keeps watermarks in place", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const mapped = mapAsync<number, number, Watermark>(
    [1, 2, 3, new Watermark(5), 4],
    fn,
    { order: "unordered", capacity: 8 },
  );
  const first = mapped.next();
  await callsReach(4);
  calls[1]!.resolve(20);
  assert.deepEqual(await first, { done: false, value: 20 });
  calls[2]!.resolve(30); // waits for next(); input 1 is still running
  await settle();
  assert.deepEqual(inputs(mapped.snapshot()), [3, 1, "w5", 4]);
  await mapped.return();
});
