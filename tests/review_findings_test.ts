// Regression tests from an independent review of the engine. Each one pins a
// guarantee of issues 12 and 17 in a state the existing tests do not reach.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AsyncIOTransformStream,
  type ResultFuture,
  Watermark,
} from "../mod.ts";
import { settle } from "./_deferred.ts";
import { until, within } from "./_within.ts";

// Without timeout or retry, calls share one AbortController (SignalSource),
// so the first aborted element fires the listeners of every later call while
// their elements are still RUNNING: a synchronous completion there is taken
// as the call's own outcome.
for (const policy of ["handler", "settle"] as const) {
  test(`AsyncIOTransformStream() never routes a stop to onError (${policy}), even when calls share a signal and complete from its abort listener`, async () => {
    const seen: unknown[] = [];
    const starts: number[] = [];
    // deno-lint-ignore no-explicit-any
    const options: any = {
      order: "unordered",
      onError: policy === "settle"
        ? "settle"
        : (error: unknown, input: number) => (seen.push([error, input]), []),
    };
    const stream = new AsyncIOTransformStream<number, unknown>({
      asyncInvoke(n: number, result: ResultFuture<unknown>) {
        starts.push(n);
        result.signal.addEventListener(
          "abort",
          () => result.completeExceptionally(result.signal.reason),
          { once: true },
        );
      },
    }, options);
    const writer = stream.writable.getWriter();
    for (const n of [1, 2, 3]) void writer.write(n).catch(() => {});
    await until(() => starts.length === 3, "three calls");
    const reason = new Error("stop");
    await within(stream.readable.cancel(reason), "the cancel");
    await settle(10);
    assert.deepEqual(seen, [], "onError saw the stop");
    assert.equal(stream.stats.failed, 0, "stats.failed counts the stop");
    assert.equal(stream.stats.failedAttempts, 0, "failedAttempts after stop");
    assert.equal(stream.stats.inFlight, 0);
    assert.deepEqual(
      stream.snapshot().entries.map((e) => e.kind === "record" && e.input),
      [1, 2, 3],
    );
  });
}

// A readable strategy's size() is user code that runs inside enqueue. If it
// stops the stream, the chunk it measures lands in an errored stream's queue:
// it is never delivered, so its input must stay unemitted, in snapshot().
test("AsyncIOTransformStream() keeps in snapshot() the input whose emission a readable size() stopped", async () => {
  const controller = new AbortController();
  const stream = new AsyncIOTransformStream<number, number>((n) => n, {
    signal: controller.signal,
    readableStrategy: {
      highWaterMark: 100,
      size(chunk) {
        if (chunk === 2) controller.abort(new Error("stop in size()"));
        return 1;
      },
    },
  });
  const writer = stream.writable.getWriter();
  for (const n of [1, 2, 3]) void writer.write(n).catch(() => {});
  await until(() => controller.signal.aborted, "the stop");
  await settle(10);
  const inputs = stream.snapshot().entries.map((e) =>
    e.kind === "record" && e.input
  );
  assert.ok(inputs.includes(2), `snapshot lost input 2: ${inputs}`);
  // 1's result waited unread in the readable, which dropped it: not
  // emitted either (e32a23b).
  assert.ok(inputs.includes(1), `snapshot lost input 1: ${inputs}`);
  assert.equal(
    stream.stats.emitted,
    0,
    "an emission after the stop was counted",
  );
});

// A reader's cancel while the object form's close() runs (the input has
// ended, every result was read) must not surface an internal TypeError from
// closing the already-cancelled readable side.
test("AsyncIOTransformStream() does not reject writer.close() with an internal TypeError when the reader cancels while close() runs", async () => {
  let release: (() => void) | undefined;
  let closes = 0;
  const stream = new AsyncIOTransformStream<number, number>({
    asyncInvoke(n: number, result: ResultFuture<number>) {
      result.complete([n]);
    },
    close() {
      closes++;
      return new Promise<void>((resolve) => release = resolve);
    },
  });
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  await writer.write(1);
  assert.deepEqual(await reader.read(), { value: 1, done: false });
  const closing = writer.close();
  await until(() => closes === 1, "close()");
  const reason = new Error("cancelled");
  await within(reader.cancel(reason), "the cancel");
  release!();
  const closed = await within(closing, "writer.close()");
  if (!closed.ok) {
    assert.ok(
      !(closed.reason instanceof TypeError),
      `writer.close() rejected with ${closed.reason}`,
    );
  }
  assert.equal(closes, 1);
});

// open() runs inside `new Promise(...)`, before the engine records it as
// pending: a stop from inside open() finds no open() to wait for.
test("AsyncFunction.close() waits for open() to settle when open() itself aborts options.signal", async () => {
  const controller = new AbortController();
  const log: string[] = [];
  let settleOpen: (() => void) | undefined;
  new AsyncIOTransformStream<number, number>({
    asyncInvoke(n: number, result: ResultFuture<number>) {
      result.complete([n]);
    },
    open() {
      log.push("open");
      controller.abort(new Error("stop inside open()"));
      return new Promise<void>((resolve) =>
        settleOpen = () => {
          log.push("open settled");
          resolve();
        }
      );
    },
    close() {
      log.push("close");
    },
  }, { signal: controller.signal });
  await settle(10);
  settleOpen!();
  await settle(10);
  assert.deepEqual(log, ["open", "open settled", "close"]);
});

// Issue 14: "A watermark closes the open batch, so event time never waits
// for maxWait." In key-ordered mode an input whose key is busy joins a batch
// only once its predecessor completes, after the watermark closed the batch
// it would have joined: the watermark then waits for maxWait behind it.
test(
  "AsyncIOTransformStream() with batch, key-ordered, emits a watermark without waiting for maxWait behind a same-key input",
  {
    timeout: 20_000,
  },
  async () => {
    const stream = new AsyncIOTransformStream<number, number, Watermark>(
      (inputs: number[]) => Promise.resolve(inputs),
      {
        batch: { maxSize: 10, maxWait: 60_000 },
        order: "key-ordered",
        key: () => "one key",
        capacity: 10,
      },
    );
    const writer = stream.writable.getWriter();
    const reader = stream.readable.getReader();
    for (const chunk of [1, 2, new Watermark(5)]) {
      void writer.write(chunk).catch(() => {});
    }
    const outputs: unknown[] = [];
    const watermark = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        outputs.push(value);
        if (value instanceof Watermark) return;
      }
    })();
    const result = await within(watermark, "the watermark", 3_000).catch((
      error,
    ) => ({ ok: false as const, reason: error }));
    await reader.cancel(new Error("test over"));
    assert.equal(result.ok, true, `only ${outputs} came out within 3 s`);
    assert.deepEqual(outputs, [1, 2, new Watermark(5)]);
  },
);

// The same race without a shared signal: #terminate aborts the elements one
// at a time, so an abort listener that fails every pending call (a
// "connection closed" handler) settles calls whose elements are still
// RUNNING, and their retry predicate sees the stream's stop reason.
test("AsyncIOTransformStream() never shows the stop reason to retryOnError when one call's abort listener fails the other pending calls", async () => {
  const pending = new Set<ResultFuture<number>>();
  const seen: unknown[] = [];
  let starts = 0;
  const stream = new AsyncIOTransformStream<number, number>({
    asyncInvoke(_n: number, result: ResultFuture<number>) {
      starts++;
      pending.add(result);
      result.signal.addEventListener("abort", () => {
        for (const each of pending) {
          each.completeExceptionally(result.signal.reason);
        }
        pending.clear();
      }, { once: true });
    },
  }, {
    order: "unordered",
    retry: {
      maxAttempts: 3,
      delay: 5,
      retryOnError: (error) => (seen.push(error), true),
    },
  });
  const writer = stream.writable.getWriter();
  for (const n of [1, 2, 3]) void writer.write(n).catch(() => {});
  await until(() => starts === 3, "three calls");
  await within(stream.readable.cancel(new Error("stop")), "the cancel");
  await settle(30);
  assert.deepEqual(seen, [], "retryOnError saw the stop");
  assert.equal(stream.stats.failedAttempts, 0, "failed attempts after stop");
  assert.equal(starts, 3, "attempts after the stop");
});

// The same without close(): end() awaits the drain and a resolved close()
// before closing the readable side, so a reader that cancels right after the
// last result (a `for await` that breaks on it) always wins the race. A
// TransformStream rejects writer.close() with the cancel reason there.
test("AsyncIOTransformStream() rejects writer.close() with the cancel reason, not a TypeError, when the reader cancels on the last result", async () => {
  let release: ((output: number) => void) | undefined;
  const stream = new AsyncIOTransformStream<number, number>((_n) =>
    new Promise<number>((resolve) => release = resolve)
  );
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  void writer.write(1);
  const closing = writer.close();
  await until(() => release !== undefined, "the call");
  const reason = new Error("got what I needed");
  const read = reader.read().then(() => reader.cancel(reason));
  release!(1);
  await within(read, "the read and cancel");
  const closed = await within(closing, "writer.close()");
  assert.deepEqual(closed, { ok: false, reason });
});

// Issue 12, defect 2 covers iterators that throw; an array passes
// `Array.isArray` and is kept by reference, so a getter on one of its
// indices runs only at emission: here inside another call's complete(),
// which throws, while the stream hangs without failing or closing.
test("ResultFuture.complete() with an array whose element getter throws fails the stream with the getter's error", async () => {
  const futures: ResultFuture<number>[] = [];
  let closes = 0;
  const stream = new AsyncIOTransformStream<number, number>({
    asyncInvoke(n: number, result: ResultFuture<number>) {
      futures[n] = result;
    },
    close() {
      closes++;
    },
  });
  const writer = stream.writable.getWriter();
  for (const n of [0, 1]) void writer.write(n).catch(() => {});
  const output = Array.fromAsync(stream.readable);
  await until(() => futures.length === 2, "two calls");
  const error = new Error("a hostile getter");
  const hostile = [7];
  Object.defineProperty(hostile, 0, {
    get() {
      throw error;
    },
  });
  futures[1]!.complete(hostile); // emitted only after input 0
  assert.doesNotThrow(() => futures[0]!.complete([0]), "complete(0) threw");
  assert.deepEqual(await within(output, "the output"), {
    ok: false,
    reason: error,
  });
  assert.equal(closes, 1);
});

// The batch function form reads `outputs[i]` in the promise reaction that
// distributes them: the getter's throw becomes an unhandled rejection, and
// the inputs after it never settle.
test("AsyncIOTransformStream() with batch fails with the error of a throwing index getter on the batch result, instead of hanging", async () => {
  const error = new Error("a hostile batch getter");
  const stream = new AsyncIOTransformStream<number, number>(
    (inputs: number[]) => {
      const outputs = [...inputs];
      Object.defineProperty(outputs, 1, {
        get() {
          throw error;
        },
      });
      return Promise.resolve(outputs);
    },
    { batch: { maxSize: 3, maxWait: 0 } },
  );
  const output = Array.fromAsync(
    ReadableStream.from([1, 2, 3]).pipeThrough(stream),
  );
  assert.deepEqual(await within(output, "the output"), {
    ok: false,
    reason: error,
  });
  assert.equal(stream.stats.inFlight, 0);
});
