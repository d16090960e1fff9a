// Issue 12, review defects 2 and 6: errors that come from user code in odd
// places (an iterator that throws inside complete(), a thenable whose `then`
// throws, a queuing strategy whose size() throws) must fail the stream
// through the one terminate: every other call's signal aborts and close()
// runs once.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AsyncIOTransformStream,
  mapAsync,
  type ResultFuture,
  Watermark,
} from "../mod.ts";
import { deferred, settle } from "./_deferred.ts";
import { assertFailsWith, until, within } from "./_within.ts";

function throwingIterable(error: Error): Iterable<number> {
  return {
    [Symbol.iterator]: () => ({
      next(): IteratorResult<number> {
        throw error;
      },
    }),
  };
}

function* yieldsThenThrows(error: Error): Iterable<number> {
  yield 1;
  throw error;
}

test("ResultFuture.complete() with an iterator that throws fails the stream with the iterator's error", async () => {
  for (const make of [throwingIterable, yieldsThenThrows]) {
    for (const when of ["synchronously", "later"] as const) {
      const error = new Error(`${make.name}, ${when}`);
      const stream = new AsyncIOTransformStream<number, number>({
        asyncInvoke(_n, result) {
          if (when === "synchronously") result.complete(make(error));
          else setTimeout(() => result.complete(make(error)), 1);
        },
      });
      await assertFailsWith(
        Array.fromAsync(ReadableStream.from([1, 2]).pipeThrough(stream)),
        error,
      );
    }
  }
});

test("ResultFuture.complete() with an iterator that throws in a timeout handler fails the stream with the iterator's error", async () => {
  const fromMethod = new Error("from timeout()");
  const objectForm = new AsyncIOTransformStream<number, number>({
    asyncInvoke() {},
    timeout: (_n, result) => result.complete(throwingIterable(fromMethod)),
  }, { timeout: 10 });
  await assertFailsWith(
    Array.fromAsync(ReadableStream.from([1, 2]).pipeThrough(objectForm)),
    fromMethod,
  );
  const fromOption = new Error("from onTimeout");
  const functionForm = new AsyncIOTransformStream<number, number>(
    () => new Promise<number>(() => {}),
    {
      timeout: 10,
      onTimeout: (_n, result) => result.complete(throwingIterable(fromOption)),
    },
  );
  await assertFailsWith(
    Array.fromAsync(ReadableStream.from([1, 2]).pipeThrough(functionForm)),
    fromOption,
  );
});

/** An object-form stream whose calls stay pending unless `settle` says. */
function heldCalls(
  settleCall: (n: number, result: ResultFuture<number>) => unknown,
) {
  const signals = new Map<number, AbortSignal>();
  const counts = { open: 0, close: 0 };
  const fn = {
    open: () => void counts.open++,
    asyncInvoke(n: number, result: ResultFuture<number>) {
      signals.set(n, result.signal);
      return settleCall(n, result) as void;
    },
    close: () => void counts.close++,
  };
  return { fn, signals, counts };
}

function assertAbortedWith(signals: Iterable<AbortSignal>, reason: unknown) {
  for (const signal of signals) {
    assert.equal(signal.aborted, true, "a call's signal did not abort");
    assert.equal(signal.reason, reason);
  }
}

test("AsyncIOTransformStream() fails when fn returns a thenable whose then() throws, and aborts the other calls", async () => {
  const error = new Error("then() throws");
  const thenable = {
    then() {
      throw error;
    },
  } as unknown as Promise<number>;
  const signals: AbortSignal[] = [];
  const stream = new AsyncIOTransformStream<number, number>(
    (n, { signal }) => {
      if (n === 3) return thenable;
      signals.push(signal);
      return new Promise<number>(() => {});
    },
    { order: "unordered" },
  );
  const writer = stream.writable.getWriter();
  for (const n of [1, 2]) void writer.write(n);
  await until(() => signals.length === 2, "two calls");
  void writer.write(3).catch(() => {});
  await assertFailsWith(stream.readable.getReader().closed, error);
  assertAbortedWith(signals, error);
});

test("AsyncIOTransformStream() and mapAsync() fail when fn returns a native promise whose own then() throws", async () => {
  const error = new Error("own then() throws");
  const hostile = () => {
    const promise = new Promise<number>(() => {});
    promise.then = () => {
      throw error;
    };
    return promise;
  };
  for (const timeout of [undefined, 60_000]) {
    const options = timeout === undefined ? {} : { timeout };
    const stream = new AsyncIOTransformStream<number, number>(
      hostile,
      options,
    );
    await assertFailsWith(
      ReadableStream.from([1]).pipeThrough(stream).pipeTo(new WritableStream()),
      error,
    );
    const iterator = mapAsync([1], hostile, options);
    const outcome = await within(iterator.next(), "mapAsync's first result");
    assert.equal(outcome.ok, false, "mapAsync did not fail");
    if (!outcome.ok) assert.equal(outcome.reason, error);
  }
});

test("AsyncIOTransformStream() fails when asyncInvoke() returns a thenable whose then() throws, and closes once", async () => {
  const error = new Error("then() throws");
  const { fn, signals, counts } = heldCalls((n) =>
    n === 3
      ? {
        then() {
          throw error;
        },
      }
      : undefined
  );
  const stream = new AsyncIOTransformStream<number, number>(fn, {
    order: "unordered",
  });
  const writer = stream.writable.getWriter();
  for (const n of [1, 2]) void writer.write(n);
  await until(() => signals.size === 2, "two calls");
  void writer.write(3).catch(() => {});
  await assertFailsWith(stream.readable.getReader().closed, error);
  signals.delete(3);
  assertAbortedWith(signals.values(), error);
  await settle(10);
  assert.deepEqual(counts, { open: 1, close: 1 });
});

const throwsOnMarker = (error: Error) => (chunk: unknown) => {
  if (chunk instanceof Watermark) throw error;
  return 1;
};

test("AsyncIOTransformStream() fails when readableStrategy.size() throws on a watermark, aborts the calls and closes once", async () => {
  const error = new Error("size() throws");
  const first = deferred<number>();
  const { fn, signals, counts } = heldCalls((n, result) => {
    if (n === 1) first.promise.then((value) => result.complete([value]));
  });
  const stream = new AsyncIOTransformStream<number, number, Watermark>(fn, {
    order: "unordered",
    readableStrategy: { highWaterMark: 10, size: throwsOnMarker(error) },
  });
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  for (const chunk of [1, new Watermark(5), 2]) {
    void writer.write(chunk).catch(() => {});
  }
  await until(() => signals.size === 2, "two calls");
  first.resolve(10); // emits 1, then the watermark, whose size() throws
  await assertFailsWith(reader.closed, error);
  assertAbortedWith([signals.get(2)!], error);
  await settle(10);
  assert.deepEqual(counts, { open: 1, close: 1 });
});

test("AsyncIOTransformStream() fails when writableStrategy.size() throws on a watermark, aborts the calls and closes once", async () => {
  const error = new Error("size() throws");
  const { fn, signals, counts } = heldCalls(() => {});
  const stream = new AsyncIOTransformStream<number, number, Watermark>(fn, {
    order: "unordered",
    writableStrategy: { highWaterMark: 1, size: throwsOnMarker(error) },
  });
  const writer = stream.writable.getWriter();
  for (const n of [1, 2]) void writer.write(n);
  await until(() => signals.size === 2, "two calls");
  await assert.rejects(writer.write(new Watermark(5)), (e) => e === error);
  await assertFailsWith(stream.readable.getReader().closed, error);
  assertAbortedWith(signals.values(), error);
  await settle(10);
  assert.deepEqual(counts, { open: 1, close: 1 });
});

/** A revoked Proxy: reading its prototype or any property throws a TypeError. */
function revoked(): Promise<number> {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy as unknown as Promise<number>;
}

test("AsyncIOTransformStream() fails with a TypeError when user code returns a revoked Proxy, and holds no call", async () => {
  const never = () => new Promise<number>(() => {});
  const cases: [string, () => AsyncIOTransformStream<number, number>][] = [
    ["fn, one call per input", () => new AsyncIOTransformStream(revoked)],
    [
      "fn, with an attempt timeout",
      () => new AsyncIOTransformStream(revoked, { attemptTimeout: 60_000 }),
    ],
    ["asyncInvoke", () =>
      new AsyncIOTransformStream<number, number>({
        asyncInvoke: revoked as unknown as () => void,
      })],
    ["onTimeout", () =>
      new AsyncIOTransformStream(never, {
        timeout: 1,
        onTimeout: revoked as unknown as () => void,
      })],
    [
      "onError",
      () =>
        new AsyncIOTransformStream(() => Promise.reject(new Error("failed")), {
          onError: revoked as unknown as () => never[],
        }),
    ],
  ];
  for (const [name, make] of cases) {
    const stream = make();
    const outcome = await within(
      ReadableStream.from([1]).pipeThrough(stream).pipeTo(new WritableStream()),
      name,
    );
    assert.equal(outcome.ok, false, `${name}: the stream did not fail`);
    if (!outcome.ok) assert.ok(outcome.reason instanceof TypeError, name);
    assert.equal(stream.stats.inFlight, 0, `${name}: a call is still held`);
  }
});
