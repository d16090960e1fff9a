// One rule for reading options, as WebIDL reads a dictionary: every option,
// top level or nested, is read once with a plain get (an inherited one
// counts, a getter runs once), and checked from that one read.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  aimd,
  AsyncIOTransformStream,
  type CallContext,
  gradient2,
  mapAsync,
  orderedWait,
  type ResultFuture,
  unorderedWait,
  vegas,
} from "../mod.ts";
import {
  redisStreamSink,
  redisStreamSource,
  redisWorker,
} from "../src/redis.ts";

/** Counts the reads of every getter, by its path ("retry.delay"). */
class Reads {
  readonly counts: Record<string, number> = {};

  /**
   * An object that inherits `values` through counting getters on its
   * prototype. A value that is a plain object becomes such an object too.
   */
  inherited(values: Record<string, unknown>, path = ""): object {
    const proto = {};
    for (const [name, given] of Object.entries(values)) {
      const key = path + name;
      const value = isPlain(given) ? this.inherited(given, `${key}.`) : given;
      this.counts[key] = 0;
      Object.defineProperty(proto, name, {
        enumerable: true,
        get: () => {
          this.counts[key]!++;
          return value;
        },
      });
    }
    return Object.create(proto);
  }

  /** Asserts that every getter ran exactly once. */
  assertEachOnce(): void {
    const notOnce = Object.entries(this.counts).filter(([, n]) => n !== 1);
    assert.deepEqual(Object.fromEntries(notOnce), {});
  }
}

function isPlain(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" &&
    Object.getPrototypeOf(value) === Object.prototype;
}

const double = (n: number) => Promise.resolve(n * 2);

/** Every option of the per-input stream, each with a valid value. */
function streamOptions(): Record<string, unknown> {
  return {
    order: "unordered",
    capacity: 4,
    concurrency: 2,
    timeout: 10_000,
    attemptTimeout: 5_000,
    onTimeout: () => {},
    onError: "fail",
    retry: {
      maxAttempts: 2,
      delay: 1,
      multiplier: 2,
      maxDelay: 10,
      jitter: 0.5,
      retryOnError: () => true,
      retryOnResult: () => false,
    },
    key: (n: number) => n,
    rateLimit: { limit: 100, interval: 10 },
    signal: new AbortController().signal,
    restore: { version: 1, entries: [] },
    onCheckpoint: () => {},
    writableStrategy: { highWaterMark: 2, size: () => 1 },
    readableStrategy: { highWaterMark: 2 },
  };
}

/** The stream's options that a Redis worker takes too: its calls' options. */
function perInputOptions(): Record<string, unknown> {
  const {
    restore: _restore,
    onCheckpoint: _onCheckpoint,
    writableStrategy: _writableStrategy,
    readableStrategy: _readableStrategy,
    ...perInput
  } = streamOptions();
  return perInput;
}

test("AsyncIOTransformStream() reads every option, nested ones included, once from an inherited getter, and uses it", async () => {
  const reads = new Reads();
  const options = reads.inherited(streamOptions());
  const stream = new AsyncIOTransformStream<number, number>(
    double,
    options as never,
  );
  reads.assertEachOnce();
  const output = await Array.fromAsync(
    ReadableStream.from([1, 2, 3]).pipeThrough(stream),
  );
  assert.deepEqual(output.sort(), [2, 4, 6]);
  reads.assertEachOnce(); // nothing is read again while it runs
});

test("AsyncIOTransformStream() reads a writableStrategy without size once, and batch options once", () => {
  const reads = new Reads();
  const options = reads.inherited({
    batch: { maxSize: 2, maxWait: 5 },
    capacity: 4,
    writableStrategy: { highWaterMark: 3 },
    readableStrategy: { highWaterMark: 1 },
  });
  new AsyncIOTransformStream<number, number>(
    (ns: number[]) => Promise.resolve(ns),
    options as never,
  );
  reads.assertEachOnce();
});

for (const size of [() => 1, undefined]) {
  test(
    `AsyncIOTransformStream() reads a readableStrategy's members once${
      size === undefined ? ", an undefined size() included" : ""
    }`,
    async () => {
      // The stream's account of unread results and the platform both need
      // size(): they get it from one read of the caller's object.
      const reads = new Reads();
      const options = reads.inherited({
        readableStrategy: { highWaterMark: 2, size },
      });
      const stream = new AsyncIOTransformStream<number, number>(
        double,
        options as never,
      );
      reads.assertEachOnce();
      const output = await Array.fromAsync(
        ReadableStream.from([1, 2, 3]).pipeThrough(stream),
      );
      assert.deepEqual(output, [2, 4, 6]);
      reads.assertEachOnce();
    },
  );
}

test("mapAsync() reads every option once from an inherited getter", async () => {
  const reads = new Reads();
  const { writableStrategy: _w, readableStrategy: _r, ...options } =
    streamOptions();
  const mapped = mapAsync([1, 2, 3], double, reads.inherited(options));
  reads.assertEachOnce();
  assert.deepEqual((await Array.fromAsync(mapped)).sort(), [2, 4, 6]);
  reads.assertEachOnce();
});

for (const wait of [orderedWait, unorderedWait]) {
  test(`${wait.name}() reads every option once, inherited ones included, with the caller's object as the getters' this`, async () => {
    const reads = new Reads();
    const { order: _order, ...values } = streamOptions();
    const stream = wait(double, reads.inherited(values) as never);
    reads.assertEachOnce();
    const output = await Array.fromAsync(
      ReadableStream.from([1, 2, 3]).pipeThrough(stream),
    );
    assert.deepEqual(output.sort(), [2, 4, 6]);
    // A class's getter that reads a private field runs on the instance.
    class Options {
      #capacity = 2;
      get capacity() {
        return this.#capacity;
      }
    }
    const limited = wait(
      (_: number) => new Promise<number>(() => {}),
      new Options(),
    );
    const writer = limited.writable.getWriter();
    for (let i = 0; i < 5; i++) writer.write(i).catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(limited.stats.pending, 2);
    await limited.readable.cancel();
  });
}

test("an inherited option is checked as an own one: a bad one throws", () => {
  const bad = (values: Record<string, unknown>) =>
    Object.create(values) as never;
  assert.throws(
    () => new AsyncIOTransformStream(double, bad({ capacity: 0 })),
    RangeError,
  );
  assert.throws(
    () =>
      new AsyncIOTransformStream(double, {
        retry: bad({ maxAttempts: 2, jitter: 2 }),
      }),
    /retry\.jitter must be a number from 0 to 1/,
  );
  assert.throws(
    () =>
      new AsyncIOTransformStream((ns: number[]) => Promise.resolve(ns), {
        batch: bad({ maxSize: 0, maxWait: 1 }),
      }),
    /batch\.maxSize must be a positive integer/,
  );
  assert.throws(() => mapAsync([1], double, bad({ order: "sorted" })), {
    name: "TypeError",
    message: /^Cannot call mapAsync as order must be/,
  });
});

test("the built-in limits read each of their options once from an inherited getter", () => {
  for (
    const [make, values] of [
      [aimd, { initial: 2, min: 1, max: 8, backoffRatio: 0.8 }],
      [aimd, { timeoutIsDrop: false }],
      [vegas, { initial: 2, min: 1, max: 8, alpha: 2, beta: 4 }],
      [gradient2, {
        initial: 2,
        min: 1,
        max: 8,
        smoothing: 0.5,
        rttTolerance: 2,
        longWindow: 100,
        queueSize: 2,
      }],
    ] as const
  ) {
    const reads = new Reads();
    (make as (options: object) => unknown)(reads.inherited(values));
    reads.assertEachOnce();
  }
});

/** A send that never answers, and the commands sent to it. */
function silentSend() {
  const sent: string[][] = [];
  return {
    sent,
    send: (args: string[]) => {
      sent.push(args);
      return new Promise<never>(() => {});
    },
  };
}

test("redisStreamSource() and redisStreamSink() read each option once from an inherited getter", async () => {
  const { send } = silentSend();
  const reads = new Reads();
  const source = redisStreamSource(
    reads.inherited({
      send,
      stream: "in",
      group: "g",
      consumer: "c",
      count: 5,
      blockMs: 10,
      claimIdleMs: 100,
      claimIntervalMs: 50,
      startId: "0",
      onDeleted: () => {},
    }) as never,
  );
  const sink = redisStreamSink(
    reads.inherited({
      send,
      group: "g",
      output: "out",
      deadLetter: "dead",
      doneRetentionMs: 1_000,
      batchSize: 10,
      onCommit: () => {},
    }) as never,
  );
  reads.assertEachOnce();
  await source.cancel();
  await sink.abort();
});

test("redisWorker() reads every option once from an inherited getter, the stream's included, and checks an inherited one", async () => {
  const { send } = silentSend();
  const calls: CallContext[] = [];
  const values = {
    send,
    blockingSend: send,
    input: "in",
    output: "out",
    group: "g",
    consumer: "c",
    fn: (_: unknown, context: CallContext) => {
      calls.push(context);
      return { a: "1" };
    },
    deadLetter: "dead",
    count: 2,
    blockMs: 10,
    claimIdleMs: 60_000,
    claimIntervalMs: 1_000,
    doneRetentionMs: 1_000,
    batchSize: 10,
    ...perInputOptions(),
    key: () => 1,
  };
  const reads = new Reads();
  const worker = redisWorker(reads.inherited(values) as never);
  reads.assertEachOnce();
  await worker.stop();
  // An inherited value is checked: it is not left behind by a copy.
  for (
    const [bad, message] of [
      [{ capacity: 0 }, /capacity must be a positive integer/],
      [{ retry: { maxAttempts: 0 } }, /retry\.maxAttempts must be/],
      [{ rateLimit: { limit: 1, interval: -1 } }, /rateLimit\.interval/],
      [{ batch: { maxSize: 2, maxWait: 1 } }, /batch must be undefined/],
    ] as const
  ) {
    const retry = "retry" in bad ? Object.create(bad.retry) : undefined;
    const options = Object.create({
      ...values,
      ...bad,
      ...(retry === undefined ? {} : { retry }),
    });
    assert.throws(() => redisWorker(options), message);
  }
});

for (const symbol of [Symbol.asyncIterator, Symbol.iterator]) {
  test(`mapAsync() reads a source's ${symbol.description} once, and calls it on the source`, async () => {
    let reads = 0;
    const thisValues: unknown[] = [];
    const source = {
      get [symbol]() {
        reads++;
        return function (this: unknown) {
          thisValues.push(this);
          return [1, 2][Symbol.iterator]();
        };
      },
    };
    const mapped = mapAsync(source as unknown as Iterable<number>, double);
    assert.equal(reads, 1);
    assert.deepEqual(await Array.fromAsync(mapped), [2, 4]);
    assert.equal(reads, 1);
    assert.deepEqual(thisValues, [source]);
  });
}

/**
 * Flink's object form, its methods inherited through counting getters,
 * recording which method ran and on what; `replace()` then gives it own
 * methods that record as "replaced", as code that swaps them would.
 */
function countedAsyncFunction(reads: Reads) {
  const ran: [string, unknown][] = [];
  const fn = reads.inherited({
    asyncInvoke(this: unknown, n: number, result: ResultFuture<number>) {
      ran.push(["asyncInvoke", this]);
      if (n !== 2) result.complete([n * 2]); // 2 waits for its timeout
    },
    timeout(this: unknown, n: number, result: ResultFuture<number>) {
      ran.push(["timeout", this]);
      result.complete([-n]);
    },
    open(this: unknown) {
      ran.push(["open", this]);
    },
    close(this: unknown) {
      ran.push(["close", this]);
    },
  });
  const replace = () => {
    for (const name of ["asyncInvoke", "timeout", "open", "close"]) {
      Object.defineProperty(fn, name, {
        value: () => ran.push(["replaced", name]),
      });
    }
  };
  return { fn: fn as never, ran, replace };
}

test("AsyncIOTransformStream() and mapAsync() read fn's methods (asyncInvoke, timeout, open, close) once, at construction, as a TransformStream reads its transformer's, and call those on fn", async () => {
  const run = async (
    make: (fn: never) => AsyncIterable<number> | ReadableStream<number>,
  ) => {
    const reads = new Reads();
    const { fn, ran, replace } = countedAsyncFunction(reads);
    const output = make(fn);
    reads.assertEachOnce();
    replace(); // too late: the methods read at construction run
    assert.deepEqual(await Array.fromAsync(output), [2, -2, 6]);
    reads.assertEachOnce();
    assert.deepEqual(ran.map(([name]) => name), [
      "open",
      "asyncInvoke",
      "asyncInvoke",
      "asyncInvoke",
      "timeout",
      "close",
    ]);
    for (const [name, self] of ran) assert.equal(self, fn, name);
  };
  await run((fn) =>
    ReadableStream.from([1, 2, 3]).pipeThrough(
      new AsyncIOTransformStream<number, number>(fn, { timeout: 50 }),
    )
  );
  await run((fn) => mapAsync([1, 2, 3], fn, { timeout: 50 }));
});

test("redisWorker() reads fn's methods once, at construction, and calls those on fn, as the stream does", async () => {
  const { send } = silentSend();
  const reads = new Reads();
  const { fn, ran, replace } = countedAsyncFunction(reads);
  const worker = redisWorker({
    send,
    input: "in",
    output: "out",
    group: "g",
    consumer: "c",
    fn,
  });
  reads.assertEachOnce();
  replace();
  await new Promise((resolve) => setTimeout(resolve, 0));
  await worker.stop();
  reads.assertEachOnce();
  assert.deepEqual(ran.map(([name]) => name), ["open", "close"]);
  for (const [name, self] of ran) assert.equal(self, fn, name);
});

test("AsyncIOTransformStream() with batch reads fn's asyncInvokeBatch once, at construction, and calls it on fn", async () => {
  const reads = new Reads();
  const thisValues: unknown[] = [];
  const fn = reads.inherited({
    asyncInvokeBatch(
      this: unknown,
      ns: number[],
      futures: ResultFuture<number>[],
    ) {
      thisValues.push(this);
      ns.forEach((n, i) => futures[i]!.complete([n * 2]));
    },
  });
  const stream = new AsyncIOTransformStream<number, number>(fn as never, {
    batch: { maxSize: 2, maxWait: 0 },
  });
  reads.assertEachOnce();
  Object.defineProperty(fn, "asyncInvokeBatch", { value: () => {} });
  assert.deepEqual(
    await Array.fromAsync(ReadableStream.from([1, 2]).pipeThrough(stream)),
    [2, 4],
  );
  reads.assertEachOnce();
  assert.ok(thisValues.length > 0);
  for (const self of thisValues) assert.equal(self, fn);
});
