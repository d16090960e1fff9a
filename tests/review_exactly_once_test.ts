// Review of snapshot()/restore and the exactly-once promise across feature
// combinations (exactly_once_combinations_property_test.ts is the property):
// the directed tests for what it and the review found.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AsyncFunction,
  type AsyncIOState,
  AsyncIOTransformStream,
  type OutputOrder,
  Watermark,
} from "../mod.ts";

const records = (stream: { snapshot(): AsyncIOState<number> }) =>
  stream.snapshot().entries.map((e) =>
    e.kind === "record" ? e.input : `w${e.timestamp}`
  );

for (const order of ["ordered", "unordered"] as OutputOrder[]) {
  test(`AsyncIOTransformStream.snapshot() taken by a sink as it receives an input's last output no longer holds that input (${order})`, async () => {
    // Deno's pipeTo hands a chunk to the sink within the enqueue: a sink
    // that commits each output with a snapshot must not find the input of
    // what it commits still there, or a restore replays it.
    const outputs: AsyncFunction<number, string> = {
      asyncInvoke(n, result) {
        void Promise.resolve().then(() =>
          result.complete(n % 2 ? [`${n}b`] : [`${n}a`, `${n}b`])
        );
      },
    };
    const stream = new AsyncIOTransformStream<number, string, Watermark>(
      outputs,
      { order, capacity: 4 },
    );
    const seen: [string | number, unknown[]][] = [];
    await ReadableStream.from<number | Watermark>([1, 2, new Watermark(2), 3])
      .pipeThrough(stream)
      .pipeTo(
        new WritableStream({
          write(chunk) {
            const name = chunk instanceof Watermark
              ? `w${chunk.timestamp}`
              : chunk;
            seen.push([name, records(stream)]);
          },
        }),
      );
    for (const [chunk, state] of seen) {
      const name = String(chunk);
      const done = name.endsWith("b") ? Number(name[0]) : name;
      assert.ok(
        !state.includes(done),
        `a snapshot taken as ${name} arrived still holds ${done}: ${state}`,
      );
      if (name.endsWith("a")) {
        assert.ok(state.includes(Number(name[0])), `${name}: not all out`);
      }
    }
    assert.equal(seen.length, 5);
  });
}

test("AsyncIOTransformStream.snapshot() after a sink stops the stream through options.signal on receiving an output no longer holds that output's input", async () => {
  // Take two results, stop, and keep the state to resume from later: the
  // second result's input must not be in it, or resuming emits it again.
  const enough = new AbortController();
  const stream = new AsyncIOTransformStream(
    (n: number) => Promise.resolve(n * 10),
    { capacity: 4, signal: enough.signal },
  );
  const taken: number[] = [];
  await ReadableStream.from([1, 2, 3, 4, 5]).pipeThrough(stream).pipeTo(
    new WritableStream({
      write(chunk) {
        taken.push(chunk);
        if (taken.length === 2) enough.abort(new Error("enough"));
      },
    }),
  ).catch(() => {});
  const state = records(stream);
  assert.deepEqual(taken, [10, 20]);
  assert.ok(!state.includes(1) && !state.includes(2), `state: ${state}`);
  assert.deepEqual(state, [3, 4, 5].slice(0, state.length), "in order");
});
