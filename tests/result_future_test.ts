import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncIOTransformStream, mapAsync, type ResultFuture } from "../mod.ts";
import { collect, settle } from "./_deferred.ts";

test("ResultFuture lets the first completion win and ignores every later one", async () => {
  const futures: ResultFuture<string>[] = [];
  const stream = new AsyncIOTransformStream<string, string>({
    asyncInvoke(_input, result) {
      futures.push(result);
    },
  });
  const { chunks, done } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  await writer.write("a");
  await writer.write("b");
  const [a, b] = futures as [ResultFuture<string>, ResultFuture<string>];
  a.complete(["a1"]);
  a.complete(["a2"]);
  a.completeExceptionally(new Error("too late"));
  b.complete(["b1"]);
  b.complete(["b2", "b3"]);
  await writer.close();
  await done;
  assert.deepEqual(chunks, ["a1", "b1"]);
});

test("ResultFuture ignores a completion after completeExceptionally", async () => {
  const error = new Error("boom");
  const stream = new AsyncIOTransformStream<string, string>({
    asyncInvoke(_input, result) {
      result.completeExceptionally(error);
      result.complete(["ignored"]);
    },
  });
  await assert.rejects(
    Array.fromAsync(ReadableStream.from(["a"]).pipeThrough(stream)),
    (reason) => reason === error,
  );
});

test("ResultFuture.complete([]) emits nothing but unblocks ordered successors", async () => {
  const futures: ResultFuture<string>[] = [];
  const stream = new AsyncIOTransformStream<string, string>({
    asyncInvoke(_input, result) {
      futures.push(result);
    },
  }, { capacity: 3 });
  const { chunks, done } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  await writer.write("a");
  await writer.write("b");
  futures[1]!.complete(["b"]);
  await settle();
  assert.deepEqual(chunks, [], "b waits behind a");
  futures[0]!.complete([]);
  await settle();
  assert.deepEqual(chunks, ["b"]);
  assert.equal(stream.stats.pending, 0);
  await writer.close();
  await done;
});

test("ResultFuture.complete() accepts any iterable", async () => {
  const stream = new AsyncIOTransformStream<number, number>({
    asyncInvoke(n, result) {
      result.complete(new Set([n, n + 1]));
    },
  });
  const output = await Array.fromAsync(
    ReadableStream.from([1, 10]).pipeThrough(stream),
  );
  assert.deepEqual(output, [1, 2, 10, 11]);
});

test("ResultFuture.complete() with a string fails the element with a TypeError rather than emitting its characters", async () => {
  const stream = new AsyncIOTransformStream<number, string>({
    asyncInvoke(n, result) {
      result.complete(`n${n}`);
    },
  });
  await assert.rejects(
    Array.fromAsync(ReadableStream.from([7]).pipeThrough(stream)),
    {
      name: "TypeError",
      message:
        'Cannot complete the element as results must be an iterable of outputs, not a string (wrap one output as [value]): current value is "n7"',
    },
  );
});

test("an onError handler that returns a string fails the stream with a TypeError rather than emitting its characters", async () => {
  const stream = new AsyncIOTransformStream<number, string>(
    () => Promise.reject(new Error("down")),
    { onError: () => "fallback" as unknown as string[] },
  );
  await assert.rejects(
    Array.fromAsync(ReadableStream.from([7]).pipeThrough(stream)),
    { name: "TypeError", message: /not a string/ },
  );
});

test("ResultFuture.complete() with a String object fails the element with a TypeError, as a string does", async () => {
  const stream = new AsyncIOTransformStream<number, string>({
    asyncInvoke(n, result) {
      result.complete(new String(`n${n}`) as unknown as string[]);
    },
  });
  await assert.rejects(
    Array.fromAsync(ReadableStream.from([7]).pipeThrough(stream)),
    {
      name: "TypeError",
      message:
        'Cannot complete the element as results must be an iterable of outputs, not a string (wrap one output as [value]): current value is new String("n7")',
    },
  );
});

test("an onTimeout fallback that completes with a String object fails the stream with a TypeError", async () => {
  const stream = new AsyncIOTransformStream<number, string>(
    () => new Promise<string>(() => {}),
    {
      timeout: 1,
      onTimeout(_n, result) {
        result.complete(new String("late") as unknown as string[]);
      },
    },
  );
  await assert.rejects(
    Array.fromAsync(ReadableStream.from([7]).pipeThrough(stream)),
    { name: "TypeError", message: /not a string.*new String\("late"\)/ },
  );
});

test("an onError handler that returns a String object fails the stream with a TypeError, as a string does", async () => {
  const stream = new AsyncIOTransformStream<number, string>(
    () => Promise.reject(new Error("down")),
    { onError: () => new String("fallback") as unknown as string[] },
  );
  await assert.rejects(
    Array.fromAsync(ReadableStream.from([7]).pipeThrough(stream)),
    { name: "TypeError", message: /not a string/ },
  );
});

test("mapAsync's ResultFuture.complete() with a String object fails the iteration with a TypeError", async () => {
  const mapped = mapAsync<number, string>([7], {
    asyncInvoke(_n, result) {
      result.complete(new String("ab") as unknown as string[]);
    },
  });
  await assert.rejects(Array.fromAsync(mapped), {
    name: "TypeError",
    message: /not a string/,
  });
});

test("ResultFuture.complete() takes an iterable whose toStringTag claims to be a String", async () => {
  const stream = new AsyncIOTransformStream<number, string>({
    asyncInvoke(_n, result) {
      const lookalike = {
        [Symbol.toStringTag]: "String",
        *[Symbol.iterator]() {
          yield "ab";
        },
      };
      result.complete(lookalike);
    },
  });
  const output = await Array.fromAsync(
    ReadableStream.from([7]).pipeThrough(stream),
  );
  assert.deepEqual(output, ["ab"]);
});

test("ResultFuture.complete() with something not iterable fails the element with a TypeError", async () => {
  const stream = new AsyncIOTransformStream<number, number>({
    asyncInvoke(n, result) {
      result.complete(n as unknown as Iterable<number>);
    },
  });
  await assert.rejects(
    Array.fromAsync(ReadableStream.from([7]).pipeThrough(stream)),
    {
      name: "TypeError",
      message:
        "Cannot complete the element as results must be iterable: current value is 7",
    },
  );
});

test("AsyncFunction.asyncInvoke() counts a synchronous throw as completeExceptionally", async () => {
  const error = new Error("thrown");
  const stream = new AsyncIOTransformStream<number, number>({
    asyncInvoke() {
      throw error;
    },
  });
  await assert.rejects(
    Array.fromAsync(ReadableStream.from([1]).pipeThrough(stream)),
    (reason) => reason === error,
  );
});

test("AsyncFunction.asyncInvoke() counts a rejected returned promise as completeExceptionally", async () => {
  const error = new Error("rejected");
  const stream = new AsyncIOTransformStream<number, number>({
    async asyncInvoke() {
      await settle();
      throw error;
    },
  });
  await assert.rejects(
    Array.fromAsync(ReadableStream.from([1]).pipeThrough(stream)),
    (reason) => reason === error,
  );
});

test("AsyncIOTransformStream() counts a throw or rejection of the function form as a failure", async () => {
  for (
    const fn of [
      (): number => {
        throw new Error("sync");
      },
      (): Promise<number> => Promise.reject(new Error("async")),
    ]
  ) {
    await assert.rejects(
      Array.fromAsync(
        ReadableStream.from([1]).pipeThrough(
          new AsyncIOTransformStream(fn),
        ),
      ),
      /sync|async/,
    );
  }
});

test("ResultFuture and the call context carry attempt 1 and an unaborted signal", async () => {
  const seen: [number, boolean][] = [];
  const stream = new AsyncIOTransformStream<number, number>({
    asyncInvoke(n, result) {
      seen.push([result.attempt, result.signal.aborted]);
      result.complete([n]);
    },
  });
  await ReadableStream.from([1]).pipeThrough(stream).pipeTo(
    new WritableStream(),
  );
  const contexts: [number, boolean][] = [];
  await ReadableStream.from([1]).pipeThrough(
    new AsyncIOTransformStream((n: number, { attempt, signal }) => {
      contexts.push([attempt, signal.aborted]);
      return n;
    }),
  ).pipeTo(new WritableStream());
  assert.deepEqual(seen, [[1, false]]);
  assert.deepEqual(contexts, [[1, false]]);
});

test("ResultFuture methods work when passed on as callbacks", async () => {
  const stream = new AsyncIOTransformStream<number, number>({
    asyncInvoke(n, result) {
      const { complete, completeExceptionally } = result;
      Promise.resolve([n * 2]).then(complete, completeExceptionally);
    },
  });
  const output = await Array.fromAsync(
    ReadableStream.from([1, 2]).pipeThrough(stream),
  );
  assert.deepEqual(output, [2, 4]);
  const error = new Error("detached");
  const failing = new AsyncIOTransformStream<number, number>({
    asyncInvoke(_n, result) {
      Promise.reject(error).catch(result.completeExceptionally);
    },
  });
  await assert.rejects(
    Array.fromAsync(ReadableStream.from([1]).pipeThrough(failing)),
    (reason) => reason === error,
  );
});
