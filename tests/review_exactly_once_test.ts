// Review of snapshot()/restore and the exactly-once promise across feature
// combinations (exactly_once_combinations_property_test.ts is the property):
// the directed tests for what it and the review found.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AsyncFunction,
  type AsyncIOState,
  AsyncIOTransformStream,
  mapAsync,
  type OutputOrder,
  Watermark,
} from "../mod.ts";
import { controlledFn, settle } from "./_deferred.ts";

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

test("mapAsync() and AsyncIOTransformStream() restored from a snapshot of a restored run that never admitted its backlog emit each input once, watermarks in place", async () => {
  const entry = (n: number) => ({ kind: "record" as const, input: n });
  const restore: AsyncIOState<number> = {
    version: 1,
    entries: [
      entry(1),
      { kind: "watermark", timestamp: 1 },
      ...[2, 3, 4, 5].map(entry),
    ],
  };
  const fn = (n: number) => Promise.resolve(n * 10);
  const show = (chunks: unknown[]) =>
    chunks.map((c) => c instanceof Watermark ? `w${c.timestamp}` : c);
  for (const front of ["mapAsync", "stream"] as const) {
    // Run 1 hands out one result and stops with most of its backlog
    // unadmitted: capacity 1, and nobody reads on.
    let first: unknown[];
    let state: AsyncIOState<number>;
    if (front === "mapAsync") {
      const mapped = mapAsync<number, number, Watermark>([6], fn, {
        capacity: 1,
        restore,
      });
      first = [(await mapped.next()).value];
      await new Promise((resolve) => setTimeout(resolve, 5));
      await mapped.return();
      state = mapped.snapshot();
    } else {
      const stop = new AbortController();
      const stream = new AsyncIOTransformStream<number, number, Watermark>(
        fn,
        { capacity: 1, restore, signal: stop.signal },
      );
      const reader = stream.readable.getReader();
      first = [(await reader.read()).value];
      await new Promise((resolve) => setTimeout(resolve, 5));
      stop.abort(new Error("crash"));
      await reader.closed.catch(() => {});
      state = stream.snapshot();
    }
    assert.ok(state.entries.length > 1, `${front}: the backlog was admitted`);
    // Run 2 restores it, through JSON, and reads the rest of the source.
    const again = JSON.parse(JSON.stringify(state));
    const rest = front === "mapAsync"
      ? await Array.fromAsync(
        mapAsync<number, number, Watermark>([6], fn, {
          capacity: 2,
          restore: again,
        }),
      )
      : await Array.fromAsync(
        ReadableStream.from<number | Watermark>([6]).pipeThrough(
          new AsyncIOTransformStream<number, number, Watermark>(fn, {
            capacity: 2,
            restore: again,
          }),
        ),
      );
    assert.deepEqual(
      show([...first, ...rest]),
      [10, "w1", 20, 30, 40, 50, 60],
      front,
    );
  }
});

const strategies = {
  "": { highWaterMark: 2 },
  ", with a size()": {
    highWaterMark: 5,
    size: (chunk: unknown) => chunk instanceof Watermark ? 0 : 2,
  },
};
for (
  const stop of ["a failure", "options.signal", "writable.abort()"] as const
) {
  for (const [sized, readableStrategy] of Object.entries(strategies)) {
    test(`AsyncIOTransformStream.snapshot() after ${stop} holds the inputs whose results waited unread in the readable${sized}`, async () => {
      // The readable errors and drops what it holds: no reader gets those
      // results, so their inputs must stay in the state a restore resumes from.
      const { fn, calls, callsReach } = controlledFn<number, number>();
      const abort = new AbortController();
      const stream = new AsyncIOTransformStream<number, number, Watermark>(fn, {
        capacity: 6,
        signal: abort.signal,
        readableStrategy,
      });
      const writer = stream.writable.getWriter();
      for (const chunk of [1, 2, 3, new Watermark(3), 4]) {
        void writer.write(chunk).catch(() => {});
      }
      await callsReach(4);
      const reader = stream.readable.getReader();
      calls[0]!.resolve(10);
      calls[1]!.resolve(20);
      calls[2]!.resolve(30); // 10, 20, 30 and the watermark wait in the readable
      await settle();
      assert.deepEqual(await reader.read(), { done: false, value: 10 });
      const reason = new Error(stop);
      if (stop === "a failure") calls[3]!.reject(reason);
      else if (stop === "options.signal") abort.abort(reason);
      else void writer.abort(reason);
      await settle();
      await assert.rejects(reader.read(), reason);
      assert.deepEqual(records(stream), [2, 3, "w3", 4]);
      const { accepted, emitted, pending, outputs } = stream.stats;
      assert.deepEqual(
        { accepted, emitted, pending, outputs },
        { accepted: 4, emitted: 1, pending: 3, outputs: 1 },
        "stats as the snapshot",
      );
    });
  }
}
