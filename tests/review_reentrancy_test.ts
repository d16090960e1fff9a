// Adversarial review of "user code is foreign", for reentrancy and hostile
// hooks: every hook the stream calls, called back into from inside, or
// returning something built to break the engine's own stack. Whatever it
// does, the stream must end the documented way through its one terminate:
// every call's signal aborted, close() run once, no error escaping to the
// host (an uncaught one or an unhandled rejection fails the test run).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AsyncFunction,
  AsyncIOTransformStream,
  CheckpointBarrier,
  mapAsync,
  Watermark,
} from "../mod.ts";
import { controlledFn } from "./_deferred.ts";
import { assertFailsWith } from "./_within.ts";

/** A native promise, as user code may return one, made hostile. */
const hostilePromises = {
  "own then() throws": (error: Error) => {
    const promise = Promise.resolve([]);
    Object.defineProperty(promise, "then", {
      value() {
        throw error;
      },
    });
    return promise;
  },
  "constructor getter throws": (error: Error) => {
    const promise = Promise.resolve([]);
    Object.defineProperty(promise, "constructor", {
      get() {
        throw error;
      },
    });
    return promise;
  },
};

for (const [how, hostile] of Object.entries(hostilePromises)) {
  test(`AsyncIOTransformStream() fails with its error when open() returns a native promise whose ${how}, and closes once`, async () => {
    const error = new Error(how);
    let closes = 0;
    const stream = new AsyncIOTransformStream<number, number>({
      asyncInvoke: (n, result) => result.complete([n]),
      open: () => hostile(error) as unknown as Promise<void>,
      close: () => void closes++,
    });
    await assertFailsWith(
      Array.fromAsync(ReadableStream.from([1]).pipeThrough(stream)),
      error,
    );
    assert.equal(closes, 1);
  });

  test(`AsyncIOTransformStream() fails with its error when onCheckpoint returns a native promise whose ${how}, and aborts the calls`, async () => {
    const error = new Error(how);
    const { fn, calls } = controlledFn<number, number>();
    const stream = new AsyncIOTransformStream<
      number,
      number,
      CheckpointBarrier
    >(
      fn,
      { onCheckpoint: () => hostile(error) as unknown as Promise<void> },
    );
    await assertFailsWith(
      Array.fromAsync(
        ReadableStream.from<number | CheckpointBarrier>([
          1,
          new CheckpointBarrier(1),
          2,
        ]).pipeThrough(stream),
      ),
      error,
    );
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.context.signal.reason, error);
    assert.deepEqual(stream.snapshot().entries, [
      { kind: "record", input: 1 },
    ]);
  });

  test(`AsyncIOTransformStream() fails with its error when the timeout handler returns a native promise whose ${how}, and closes once`, async () => {
    const error = new Error(how);
    let closes = 0;
    const signals: AbortSignal[] = [];
    const lookup: AsyncFunction<number, number> = {
      asyncInvoke: (_n, result) => void signals.push(result.signal),
      timeout: () => hostile(error) as unknown as Promise<void>,
      close: () => void closes++,
    };
    const stream = new AsyncIOTransformStream(lookup, { timeout: 5 });
    await assertFailsWith(
      Array.fromAsync(ReadableStream.from([1, 2]).pipeThrough(stream)),
      error,
    );
    assert.equal(closes, 1);
    assert.ok(signals.every((signal) => signal.aborted));
  });

  test(`AsyncIOTransformStream() fails with its error when the onError handler returns a native promise whose ${how}, and aborts the calls`, async () => {
    const error = new Error(how);
    const { fn, calls, callsReach } = controlledFn<number, number>();
    const stream = new AsyncIOTransformStream(fn, {
      onError: () => hostile(error) as unknown as Promise<number[]>,
    });
    const output = Array.fromAsync(
      ReadableStream.from([1, 2]).pipeThrough(stream),
    );
    await callsReach(2);
    calls[0]!.reject(new Error("the call failed"));
    await assertFailsWith(output, error);
    assert.equal(calls[1]!.context.signal.reason, error);
  });
}

for (const when of ["synchronously", "from a promise"] as const) {
  test(`AsyncIOTransformStream() with batch fails with the error of a result array whose length getter throws (${when}), and aborts the other batch call`, async () => {
    const error = new Error("a hostile length");
    const signals: AbortSignal[] = [];
    const stream = new AsyncIOTransformStream<number, number>(
      (inputs: number[], { signal }) => {
        signals.push(signal);
        if (inputs[0] === 1) return new Promise<number[]>(() => {});
        const outputs = new Proxy([...inputs], {
          get(target, property, receiver) {
            if (property === "length") throw error;
            return Reflect.get(target, property, receiver);
          },
        });
        return when === "synchronously" ? outputs : Promise.resolve(outputs);
      },
      { batch: { maxSize: 2, maxWait: 0 }, concurrency: 2 },
    );
    const output = Array.fromAsync(
      ReadableStream.from([1, 2, 3, 4]).pipeThrough(stream),
    );
    await assertFailsWith(output, error);
    assert.equal(stream.stats.inFlight, 0);
    assert.equal(signals.length, 2);
    assert.equal(signals[0]!.reason, error); // [1, 2], still running
  });
}

/** A Proxy of a watermark, as `instanceof` sees one, whose timestamp throws. */
function watermarkWithThrowingTimestamp(error: Error): Watermark {
  return new Proxy(new Watermark(5), {
    get(target, property, receiver) {
      if (property === "timestamp") throw error;
      return Reflect.get(target, property, receiver);
    },
  });
}

test("AsyncIOTransformStream() fails with the error of a watermark Proxy whose timestamp getter throws, and snapshot() still answers", async () => {
  const error = new Error("a hostile timestamp");
  const { fn, calls } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream<number, number, Watermark>(fn);
  const writer = stream.writable.getWriter();
  await writer.write(1);
  await assertFailsWith(
    writer.write(watermarkWithThrowingTimestamp(error)),
    error,
  );
  assert.deepEqual(stream.snapshot().entries, [{ kind: "record", input: 1 }]);
  assert.equal(calls[0]!.context.signal.reason, error);
});

test("mapAsync() fails with the error of a watermark Proxy whose timestamp getter throws, and snapshot() still answers", async () => {
  const error = new Error("a hostile timestamp");
  const { fn, calls } = controlledFn<number, number>();
  const iterator = mapAsync<number, number, Watermark>(
    [1, watermarkWithThrowingTimestamp(error), 2],
    fn,
  );
  await assertFailsWith(iterator.next(), error);
  assert.deepEqual(iterator.snapshot().entries, [{ kind: "record", input: 1 }]);
  assert.equal(calls[0]!.context.signal.reason, error);
});

test("AsyncIOTransformStream() calls fn, key, onCheckpoint and the retry predicates with no this, as it calls onError and onTimeout: no internal object reaches them", async () => {
  const thisOf = new Map<string, unknown>();
  const stream = new AsyncIOTransformStream<number, number, CheckpointBarrier>(
    function (this: unknown, n) {
      thisOf.set("fn", this);
      return n === 2 ? Promise.reject(new Error("once")) : n;
    },
    {
      order: "key-ordered",
      key(this: unknown, n) {
        thisOf.set("key", this);
        return n;
      },
      onCheckpoint(this: unknown) {
        thisOf.set("onCheckpoint", this);
      },
      retry: {
        maxAttempts: 2,
        retryOnError(this: unknown) {
          thisOf.set("retryOnError", this);
          return false;
        },
        retryOnResult(this: unknown) {
          thisOf.set("retryOnResult", this);
          return false;
        },
      },
      onError(this: unknown) {
        thisOf.set("onError", this);
        return [];
      },
    },
  );
  // The function form's plain path: no retry.
  const plain = new AsyncIOTransformStream(function (this: unknown, n: number) {
    thisOf.set("fn, plain path", this);
    return n;
  });
  await Array.fromAsync(
    ReadableStream.from<number | CheckpointBarrier>([
      1,
      new CheckpointBarrier(1),
      2,
    ]).pipeThrough(stream),
  );
  await Array.fromAsync(ReadableStream.from([1]).pipeThrough(plain));
  assert.deepEqual(
    [...thisOf.keys()].sort(),
    [
      "fn",
      "fn, plain path",
      "key",
      "onCheckpoint",
      "onError",
      "retryOnError",
      "retryOnResult",
    ],
  );
  for (const [hook, self] of thisOf) assert.equal(self, undefined, hook);
});

test("AsyncIOTransformStream() calls a queuing strategy's size() with no this, as a TransformStream does, not on the caller's strategy object", async () => {
  const thisOf = (
    make: (
      writable: QueuingStrategy<number>,
      readable: QueuingStrategy<number>,
    ) => TransformStream<number, number>,
  ) => {
    const seen = new Map<string, unknown>();
    const strategy = (side: string): QueuingStrategy<number> => ({
      highWaterMark: 2,
      size(this: unknown) {
        seen.set(side, this);
        return 1;
      },
    });
    const stream = make(strategy("writable"), strategy("readable"));
    return { seen, stream };
  };
  const platform = thisOf((w, r) => new TransformStream({}, w, r));
  const ours = thisOf((w, r) =>
    new AsyncIOTransformStream<number, number>((n: number) => n, {
      writableStrategy: w,
      readableStrategy: r,
    })
  );
  for (const { stream } of [platform, ours]) {
    // Written, and enqueued with no read pending: both sizes are taken.
    const writer = stream.writable.getWriter();
    await writer.write(1);
    await writer.close();
    assert.deepEqual(await Array.fromAsync(stream.readable), [1]);
  }
  assert.deepEqual([...platform.seen], [
    ["writable", undefined],
    ["readable", undefined],
  ]);
  assert.deepEqual([...ours.seen].sort(), [...platform.seen].sort());
});

/** A Proxy of `signal` (it passes `instanceof AbortSignal`) whose `trap` throws. */
function signalWithThrowing(
  signal: AbortSignal,
  trap: string,
  error: Error,
): AbortSignal {
  return new Proxy(signal, {
    get(target, property) {
      if (property === trap) throw error;
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

for (const trap of ["aborted", "addEventListener"]) {
  test(`AsyncIOTransformStream() and mapAsync() fail with the error of an options.signal Proxy whose ${trap} throws, instead of hanging`, async () => {
    const error = new Error(`a hostile ${trap}`);
    const signal = signalWithThrowing(
      new AbortController().signal,
      trap,
      error,
    );
    let opens = 0;
    const stream = new AsyncIOTransformStream<number, number>({
      asyncInvoke: (n, result) => result.complete([n]),
      open: () => void opens++,
    }, { signal });
    await assertFailsWith(
      Array.fromAsync(ReadableStream.from([1]).pipeThrough(stream)),
      error,
    );
    assert.equal(opens, 0);
    await assertFailsWith(
      Array.fromAsync(mapAsync([1], (n: number) => n, { signal })),
      error,
    );
  });
}

test("AsyncIOTransformStream() stops with the reason of an options.signal Proxy whose reason getter throws", async () => {
  const controller = new AbortController();
  const signal = signalWithThrowing(
    controller.signal,
    "reason",
    new Error("a hostile reason"),
  );
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, { signal });
  const output = Array.fromAsync(
    ReadableStream.from([1]).pipeThrough(stream),
  );
  await callsReach(1);
  controller.abort("stopped");
  await assertFailsWith(output, "stopped");
  assert.equal(calls[0]!.context.signal.reason, "stopped");
});

test("mapAsync() hands out an iterator with no close(), error() or enqueue() of the engine's, which duck-typing code would call", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const iterator = mapAsync([1, 2], fn);
  const first = iterator.next();
  await callsReach(2);
  // What a helper that releases anything with a close() method would do.
  for (const name of ["close", "error", "enqueue", "backpressure"]) {
    assert.equal(name in iterator, false, name);
  }
  calls[0]!.resolve(10);
  assert.deepEqual(await first, { done: false, value: 10 });
  await iterator.return();
  assert.equal(calls[1]!.context.signal.aborted, true);
});
