// mapAsync's results wait for next() in its own buffer, where, as in the
// engine, they count as not handed out: the engine emits into it as results
// are ready (its output does not hold back), and reads no further input
// while one waits. The engine's output is wrapped to count what went in,
// against what next() handed out.
import { test } from "node:test";
import assert from "node:assert/strict";
import { configOf } from "../src/_config.ts";
import { Engine } from "../src/_engine.ts";
import { MappedIterator } from "../src/_mapped_iterator.ts";
import type { Output } from "../src/_output.ts";
import { type Call, controlledFn, settle } from "./_deferred.ts";
import {
  type CallContext,
  CheckpointBarrier,
  mapAsync,
  type MapAsyncIterator,
} from "../mod.ts";

/** A tiny seeded generator, so "random" orders repeat run after run. */
function lcg(seed: number) {
  return () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

/** mapAsync's iterator, whose engine's output counts the chunks it took. */
function countedMapAsync(
  source: Iterable<number>,
  fn: (input: number, context: CallContext) => Promise<number>,
  options: Record<string, unknown>,
) {
  const counts = { enqueued: 0 };
  const config = configOf<number, number, never>(fn, options);
  const iterator = new MappedIterator<number, number, never>(
    (output) => {
      const counted: Output<number> = {
        get backpressure() {
          return output.backpressure;
        },
        holdsBack: output.holdsBack,
        enqueue(chunk, from) {
          counts.enqueued++;
          return output.enqueue(chunk, from);
        },
        close: () => output.close(),
        error: (reason) => output.error(reason),
      };
      return new Engine<number, number, never>(config, counted, true);
    },
    source[Symbol.iterator](),
    true,
  );
  return { iterator, counts };
}

test("mapAsync() reads no further than capacity ahead of what next() handed out, whatever completes, in every order mode", async () => {
  const random = lcg(5);
  for (const order of ["ordered", "unordered", "key-ordered"]) {
    const { fn, calls } = controlledFn<number, number>();
    const total = 30;
    const capacity = 6;
    let reads = 0;
    const source = function* () {
      for (let i = 0; i < total; i++) {
        reads++;
        yield i;
      }
    };
    const { iterator, counts } = countedMapAsync(source(), fn, {
      capacity,
      order,
      key: (x: number) => x % 2,
    });
    const read: number[] = [];
    let mostAhead = 0;
    // A next() left waiting takes the next result as it comes.
    let waiting = false;
    const request = () => {
      waiting = true;
      iterator.next().then((r) => {
        read.push(r.value as number);
        waiting = false;
      });
    };
    request();
    while (read.length < total) {
      await settle();
      const open = calls.filter((c: Call<number, number>) => !("s" in c));
      const ahead = reads - read.length;
      assert.ok(ahead <= capacity, `${order}: read ${ahead} ahead`);
      mostAhead = Math.max(mostAhead, ahead);
      // Results pile up while no next() waits.
      const held = counts.enqueued - read.length;
      if (open.length > 0 && (waiting || random() < 0.7)) {
        const call = open[Math.floor(random() * open.length)]!;
        Object.assign(call, { s: true });
        call.resolve(call.input);
      } else if (held > 0) {
        read.push((await iterator.next()).value as number);
      } else if (!waiting) {
        request();
      }
    }
    assert.equal((await iterator.next()).done, true);
    assert.equal(mostAhead, capacity, "the bound was reached");
    assert.deepEqual(
      order === "ordered" ? read : [...read].sort((a, b) => a - b),
      Array.from({ length: total }, (_, i) => i),
    );
  }
});

test("mapAsync() counts results held back for its consumer as not emitted", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const { iterator } = countedMapAsync([0, 1, 2, 3], fn, { capacity: 4 });
  const first = iterator.next();
  await callsReach(4);
  for (const call of calls) call.resolve(call.input);
  assert.equal((await first).value, 0);
  await settle();
  // Three wait for next(), out of the engine: all three are unemitted.
  assert.equal(iterator.stats.emitted, 1);
  assert.equal(iterator.stats.pending, 3);
  assert.deepEqual(
    iterator.snapshot().entries.map((e) => e.kind === "record" && e.input),
    [1, 2, 3],
  );
  await iterator.return();
  assert.deepEqual(
    iterator.snapshot().entries.map((e) => e.kind === "record" && e.input),
    [1, 2, 3],
  );
});

test("mapAsync() hands the results waiting for next() to an onCheckpoint that reads the iterator, ahead of its barrier", async () => {
  const barrier = new CheckpointBarrier(1);
  const { fn, calls, callsReach } = controlledFn<number, number>();
  async function* source() {
    yield 0;
    yield 1;
    yield 2;
    // Read while nothing waited for next(); meanwhile 0 is handed out, and
    // 1 and 2 wait for next(), ahead of the barrier.
    await settle(20);
    yield barrier;
  }
  const states: unknown[][] = [];
  const inside: Promise<IteratorResult<unknown>>[] = [];
  // deno-lint-ignore prefer-const
  let mapped: MapAsyncIterator<number | CheckpointBarrier, number>;
  mapped = mapAsync<number, number, CheckpointBarrier>(source(), fn, {
    onCheckpoint(state) {
      states.push(state.entries.map((e) => e.kind === "record" && e.input));
      // Takes 1 and 2 while the barrier is being taken.
      inside.push(mapped.next(), mapped.next());
    },
  });
  const first = mapped.next();
  await callsReach(3);
  for (const call of calls) call.resolve(call.input);
  assert.deepEqual(await first, { done: false, value: 0 });
  while (inside.length === 0) await settle();
  const rest = (async () => {
    const values = (await Promise.all(inside)).map((r) => r.value);
    for await (const value of mapped) values.push(value);
    return values;
  })();
  const values = await Promise.race([rest, settle(500).then(() => "stuck")]);
  assert.deepEqual(values, [1, 2, barrier]);
  assert.deepEqual(states, [[]], "1 and 2 left the engine before the barrier");
});
