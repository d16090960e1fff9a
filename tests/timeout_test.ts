import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncIOTransformStream, type ResultFuture } from "../mod.ts";
import { collect, controlledFn, deferred } from "./_deferred.ts";

const isTimeoutError = (reason: unknown) =>
  reason instanceof DOMException && reason.name === "TimeoutError";

test("AsyncIOTransformStream() errors with a TimeoutError after aborting the call's signal when no handler is given", async () => {
  const events: string[] = [];
  const stream = new AsyncIOTransformStream(
    (_: number, { signal }) =>
      new Promise<number>(() => {
        signal.addEventListener("abort", () => {
          events.push(`signal aborted with ${(signal.reason as Error).name}`);
        });
      }),
    { timeout: 20 },
  );
  await assert.rejects(
    Array.fromAsync(ReadableStream.from([1]).pipeThrough(stream)).finally(() =>
      events.push("stream errored")
    ),
    isTimeoutError,
  );
  assert.deepEqual(events, [
    "signal aborted with TimeoutError",
    "stream errored",
  ]);
  assert.equal(stream.stats.timedOut, 1);
});

test("AsyncIOTransformStream() emits a timeout fallback and drops the late result", async () => {
  const { fn, calls, callsReach } = controlledFn<string, string>();
  const handled: string[] = [];
  const stream = new AsyncIOTransformStream(fn, {
    timeout: 20,
    onTimeout(input, result) {
      handled.push(`${input} after abort: ${result.signal.aborted}`);
      result.complete([`${input}:fallback`]);
    },
  });
  const { chunks, done } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  await writer.write("a");
  await callsReach(1);
  while (chunks.length === 0) await new Promise((r) => setTimeout(r, 5));
  calls[0]!.resolve("a:late");
  await writer.close();
  await done;
  assert.deepEqual(chunks, ["a:fallback"]);
  assert.deepEqual(handled, ["a after abort: true"]);
  assert.equal(calls[0]!.context.signal.aborted, true);
});

test("AsyncFunction.timeout() may complete asynchronously, before its promise settles", async () => {
  const stream = new AsyncIOTransformStream<number, number>({
    asyncInvoke() {},
    async timeout(n, result) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      result.complete([-n]);
    },
  }, { timeout: 10 });
  const output = await Array.fromAsync(
    ReadableStream.from([1, 2]).pipeThrough(stream),
  );
  assert.deepEqual(output, [-1, -2]);
});

test("AsyncFunction.timeout() that leaves the element incomplete errors the stream with a TimeoutError", async () => {
  for (
    const timeout of [
      () => {},
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
      },
    ]
  ) {
    const stream = new AsyncIOTransformStream<number, number>({
      asyncInvoke() {},
      timeout,
    }, { timeout: 10 });
    await assert.rejects(
      Array.fromAsync(ReadableStream.from([1]).pipeThrough(stream)),
      isTimeoutError,
    );
  }
});

test("AsyncFunction.timeout() that throws errors the stream with its error", async () => {
  const error = new Error("handler failed");
  const stream = new AsyncIOTransformStream<number, number>({
    asyncInvoke() {},
    timeout() {
      throw error;
    },
  }, { timeout: 10 });
  await assert.rejects(
    Array.fromAsync(ReadableStream.from([1]).pipeThrough(stream)),
    (reason) => reason === error,
  );
});

test("AsyncIOTransformStream() ignores a result that arrives while the timeout handler runs", async () => {
  const call = deferred<ResultFuture<string>>();
  const handlerMayFinish = deferred();
  const stream = new AsyncIOTransformStream<string, string>({
    asyncInvoke(_input, result) {
      call.resolve(result);
    },
    async timeout(input, result) {
      (await call.promise).complete(["late"]); // the original attempt is stale
      await handlerMayFinish.promise;
      result.complete([`${input}:fallback`]);
    },
  }, { timeout: 10 });
  const output = Array.fromAsync(
    ReadableStream.from(["a"]).pipeThrough(stream),
  );
  await call.promise;
  await new Promise((resolve) => setTimeout(resolve, 30));
  handlerMayFinish.resolve();
  assert.deepEqual(await output, ["a:fallback"]);
});

test("AsyncIOTransformStream() keeps input order around a timed-out element", async () => {
  const { fn, calls, callsReach } = controlledFn<number, string>();
  const stream = new AsyncIOTransformStream(fn, {
    timeout: 20,
    onTimeout: (n, result) => result.complete([`${n}:timeout`]),
  });
  const { chunks, done } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  await writer.write(1);
  await writer.write(2);
  await callsReach(2);
  calls[1]!.resolve("2:ok");
  await writer.close();
  await done;
  assert.deepEqual(chunks, ["1:timeout", "2:ok"]);
  assert.equal(stream.stats.timedOut, 1);
});

test("AsyncIOTransformStream() does not time out an element that completed in time", async () => {
  const stream = new AsyncIOTransformStream(
    (n: number) => new Promise<number>((r) => setTimeout(() => r(n), 1)),
    { timeout: 10_000 },
  );
  const output = await Array.fromAsync(
    ReadableStream.from([1, 2, 3]).pipeThrough(stream),
  );
  assert.deepEqual(output, [1, 2, 3]);
  assert.equal(stream.stats.timedOut, 0);
});
