// Review of the splits after be094dc (concurrency_limit, map_async,
// _redis_worker, _element) and of e73dcd1, which follows a native promise in
// Element.#startPlain itself: the races that the refactor moved between
// files, pinned to what be094dc did. Each passes on be094dc and on main, and
// each fails under a mutation of the code it covers (an off-by-one in
// inFlightAtStart, a stale shared signal, a dropped state guard, a reordered
// option check, a handler's verdict lost).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AsyncIOOptions,
  AsyncIOTransformStream,
  type CallContext,
  type ResultFuture,
} from "../mod.ts";
import { collect, controlledFn, deferred, settle } from "./_deferred.ts";
import { until, within } from "./_within.ts";

/** How a stream fed `inputs` ended: its outputs, its error, its stats. */
async function runStream<O>(
  stream: AsyncIOTransformStream<number, O>,
  inputs: number[],
) {
  const { chunks, done } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  for (const input of inputs) void writer.write(input).catch(() => {});
  void writer.close().catch(() => {});
  const outcome = await within(done, "the stream's end");
  return {
    chunks,
    error: outcome.ok ? undefined : outcome.reason,
    stats: stream.stats,
  };
}

/** A thenable that is not a native promise: adopted, never followed directly. */
function thenable<T>(
  then: (
    resolve: (value: T) => void,
    reject: (reason: unknown) => void,
  ) => void,
): Promise<T> {
  return { then } as unknown as Promise<T>;
}

/** A native promise whose own `then` runs `script` with the callbacks. */
function scripted<T>(
  script: (
    onFulfilled: (value: T) => unknown,
    onRejected: (reason: unknown) => unknown,
  ) => void,
): Promise<T> {
  const promise = new Promise<T>(() => {});
  promise.then = ((onFulfilled, onRejected) => {
    script(onFulfilled!, onRejected!);
    return promise;
  }) as Promise<T>["then"];
  return promise;
}

test("AsyncIOTransformStream() follows a promise subclass's own then() once per call on the plain path", async () => {
  let thens = 0;
  class Counted<T> extends Promise<T> {
    override then<A = T, B = never>(
      onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
      onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
    ): Promise<A | B> {
      thens++;
      return super.then(onFulfilled, onRejected);
    }
  }
  const stream = new AsyncIOTransformStream(
    (n: number) => new Counted<number>((resolve) => resolve(n * 2)),
  );
  const { chunks, error } = await runStream(stream, [1, 2, 3]);
  assert.equal(error, undefined);
  assert.deepEqual(chunks, [2, 4, 6]);
  assert.equal(thens, 3);
});

test("AsyncIOTransformStream() takes the first callback of a native promise whose then() calls back twice, synchronously", async () => {
  const stream = new AsyncIOTransformStream((n: number) =>
    scripted<number>((onFulfilled, onRejected) => {
      if (n === 1) {
        onFulfilled(10);
        onFulfilled(11);
        onRejected(new Error("after the result"));
      } else {
        onFulfilled(20);
        throw new Error("then() throws after calling back");
      }
    })
  );
  const { chunks, error, stats } = await runStream(stream, [1, 2]);
  assert.equal(error, undefined);
  assert.deepEqual(chunks, [10, 20]);
  assert.equal(stats.failedAttempts, 0);
  assert.equal(stats.inFlight, 0);
  assert.equal(stats.emitted, 2);
});

test("AsyncIOTransformStream() fails with the first rejection of a native promise whose then() rejects, then fulfils", async () => {
  const error = new Error("first");
  const stream = new AsyncIOTransformStream((_: number) =>
    scripted<number>((onFulfilled, onRejected) => {
      onRejected(error);
      onFulfilled(1);
    })
  );
  const outcome = await runStream(stream, [1]);
  assert.equal(outcome.error, error);
  assert.deepEqual(outcome.chunks, []);
  assert.equal(outcome.stats.failedAttempts, 1);
  assert.equal(outcome.stats.failed, 1);
});

test("AsyncIOTransformStream() ignores a plain call that rejects or resolves after a stop, even from its abort listener", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const listened = (n: number, context: CallContext) => {
    const promise = fn(n, context);
    // Input 1 settles from inside the abort listener, during the stop.
    if (n === 1) {
      context.signal.addEventListener("abort", () => calls[0]!.resolve(1));
    }
    return promise;
  };
  const stream = new AsyncIOTransformStream(listened, { capacity: 4 });
  const { chunks, stop } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  for (const n of [1, 2, 3]) void writer.write(n).catch(() => {});
  await callsReach(3);
  await stop("consumer left");
  calls[1]!.reject(new Error("late rejection"));
  calls[2]!.resolve(3);
  await settle();
  assert.deepEqual(chunks, []);
  assert.ok(calls.every((call) => call.context.signal.aborted));
  const { inFlight, failedAttempts, failed, emitted } = stream.stats;
  assert.deepEqual({ inFlight, failedAttempts, failed, emitted }, {
    inFlight: 0,
    failedAttempts: 0,
    failed: 0,
    emitted: 0,
  });
});

test("AsyncIOTransformStream() times a plain call out even when its abort listener resolves it", async () => {
  const stream = new AsyncIOTransformStream(
    (n: number, { signal }) =>
      new Promise<number>((resolve) =>
        signal.addEventListener("abort", () => resolve(n))
      ),
    { timeout: 20 },
  );
  const { chunks, error, stats } = await runStream(stream, [1]);
  assert.ok(error instanceof DOMException);
  assert.equal(error.name, "TimeoutError");
  assert.equal(error.message, "The element timed out after 20 ms");
  assert.deepEqual(chunks, []);
  assert.equal(stats.timedOut, 1);
});

test("AsyncIOTransformStream() gives each plain call the signal of the controller it shares", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, { capacity: 200 });
  const { stop } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  for (let n = 0; n < 130; n++) void writer.write(n).catch(() => {});
  await callsReach(130);
  const signals = calls.map((call) => call.context.signal);
  // Up to 64 calls share one controller, then a fresh one is taken.
  assert.equal(new Set(signals.slice(0, 64)).size, 1);
  assert.equal(new Set(signals.slice(64, 128)).size, 1);
  assert.notEqual(signals[63], signals[64]);
  assert.notEqual(signals[127], signals[128]);
  await stop("done");
  assert.ok(signals.every((signal) => signal.aborted));
});

test("AsyncIOTransformStream() gives plain calls of later deadline batches their own signal", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    timeout: 300,
    onTimeout: (n, result) => result.complete([-n]),
  });
  const { chunks, stop } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  void writer.write(1).catch(() => {});
  await callsReach(1);
  await settle(100); // the first deadline batch is stamped by now
  void writer.write(2).catch(() => {});
  await callsReach(2);
  const [first, second] = calls.map((call) => call.context.signal);
  assert.notEqual(first, second);
  await until(() => first!.aborted, "the first call's timeout");
  assert.equal(second!.aborted, false);
  calls[0]!.resolve(1); // too late: ignored
  calls[1]!.resolve(2);
  await until(() => chunks.length === 2, "both outputs");
  assert.deepEqual(chunks, [-1, 2]);
  await stop("done");
});

test("onTimeout: the first completion wins; a throw, a second completion or one after a stop are ignored", async () => {
  const kept: ResultFuture<string>[] = [];
  const stream = new AsyncIOTransformStream<number, string>(
    (n, { signal }) =>
      new Promise((resolve) => {
        // The late result of input 1 arrives from its abort listener.
        if (n === 1) signal.addEventListener("abort", () => resolve("late"));
      }),
    {
      capacity: 4,
      timeout: 20,
      onTimeout(n, result) {
        if (n === 1) {
          result.complete(["1:first"]);
          result.complete(["1:second"]);
          result.completeExceptionally(new Error("after completing"));
          throw new Error("thrown after completing");
        }
        if (n === 2) {
          return Promise.resolve().then(() => result.complete(["2:async"]));
        }
        kept.push(result); // input 3: completed only after the stop
        return new Promise<void>(() => {});
      },
    },
  );
  const { chunks, stop } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  for (const n of [1, 2, 3]) void writer.write(n).catch(() => {});
  await until(() => chunks.length === 2 && kept.length === 1, "two outputs");
  assert.deepEqual(chunks, ["1:first", "2:async"]);
  await stop("done");
  kept[0]!.complete(["3:after stop"]);
  kept[0]!.completeExceptionally(new Error("after stop"));
  await settle();
  assert.deepEqual(chunks, ["1:first", "2:async"]);
  assert.equal(stream.stats.failed, 0);
});

test("onTimeout: a handler that throws, or whose thenable settles without completing, fails the element", async () => {
  const thrown = new Error("handler threw");
  const rejected = new Error("handler's thenable rejected");
  const cases: [
    AsyncIOOptions<number, number>["onTimeout"],
    (error: unknown) => void,
  ][] = [
    [() => {
      throw thrown;
    }, (error) => assert.equal(error, thrown)],
    [
      () => thenable<void>((_, reject) => reject(rejected)),
      (error) => assert.equal(error, rejected),
    ],
    [() => thenable<void>((resolve) => resolve()), (error) => {
      assert.ok(error instanceof DOMException);
      assert.equal(error.message, "The element timed out after 10 ms");
    }],
    [() => 42 as never, (error) => {
      assert.ok(error instanceof DOMException);
      assert.equal(error.name, "TimeoutError");
    }],
  ];
  for (const [onTimeout, check] of cases) {
    const stream = new AsyncIOTransformStream(
      (_: number) => new Promise<number>(() => {}),
      { timeout: 10, onTimeout: onTimeout! },
    );
    const { error, stats } = await runStream(stream, [1]);
    check(error);
    assert.equal(stats.failed, 1);
  }
});

test("onError: a handler that throws, rejects, resolves after a stop or returns a non-iterable is decided as before", async () => {
  const failing = (_: number, __: CallContext): Promise<number> =>
    Promise.reject(new Error("call failed"));
  const thrown = new Error("handler threw");
  const throwing = await runStream(
    new AsyncIOTransformStream(failing, {
      onError: () => {
        throw thrown;
      },
    }),
    [1],
  );
  assert.equal(throwing.error, thrown);
  const rejecting = await runStream(
    new AsyncIOTransformStream(failing, {
      onError: () => thenable<number[]>((_, reject) => reject(thrown)),
    }),
    [1],
  );
  assert.equal(rejecting.error, thrown);
  const recovered = await runStream(
    new AsyncIOTransformStream(failing, {
      onError: (_, n) => thenable<number[]>((resolve) => resolve([n, n])),
    }),
    [1, 2],
  );
  assert.equal(recovered.error, undefined);
  assert.deepEqual(recovered.chunks, [1, 1, 2, 2]);
  const notIterable = await runStream(
    new AsyncIOTransformStream(failing, { onError: () => 5 as never }),
    [1],
  );
  assert.ok(notIterable.error instanceof TypeError);

  const late = deferred<number[]>();
  const stream = new AsyncIOTransformStream(failing, {
    onError: () => late.promise,
  });
  const { chunks, stop } = collect(stream.readable);
  void stream.writable.getWriter().write(1).catch(() => {});
  await until(() => stream.stats.failed === 1, "the error handler's call");
  await stop("done");
  late.resolve([7]);
  await settle();
  assert.deepEqual(chunks, []);
});
