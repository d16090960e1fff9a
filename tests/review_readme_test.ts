// An audit of the README's promises for the core library: the cases below
// broke a sentence of it ("Options", "Usage", "Event time and
// exactly-once"), or pin one that no other test did.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  aimd,
  type AsyncIOOptions,
  AsyncIOTransformStream,
  orderedWait,
  unorderedWait,
  Watermark,
} from "../mod.ts";
import { within } from "./_within.ts";

const identity = (n: number) => n;
const prefix = "Cannot construct AsyncIOTransformStream as";

function assertThrowsOption(
  make: () => unknown,
  error: typeof RangeError | typeof TypeError,
  message: string,
): void {
  assert.throws(make, (thrown) => {
    assert.ok(thrown instanceof error, `got ${thrown}`);
    assert.equal((thrown as Error).message, `${prefix} ${message}`);
    return true;
  });
}

// "Bad options throw at construction": null is no option's value. Some of
// them took it as their default, while `timeout: null` or `concurrency: null`
// threw.
const nullCases: [unknown, typeof RangeError | typeof TypeError, string][] = [
  [
    { capacity: null },
    TypeError, // not a number: a wrong shape
    "capacity must be a positive integer: current value is null",
  ],
  [
    { order: null },
    TypeError,
    'order must be "ordered", "unordered" or "key-ordered": current value is null',
  ],
  [
    { onError: null },
    TypeError,
    'onError must be "fail", "settle" or a function: current value is null',
  ],
  [
    { retry: { maxAttempts: 2, multiplier: null } },
    TypeError, // not a number: a wrong shape
    "retry.multiplier must be a finite number of at least 1: current value is null",
  ],
  [
    { retry: { maxAttempts: 2, jitter: null } },
    TypeError, // not a number: a wrong shape
    "retry.jitter must be a number from 0 to 1: current value is null",
  ],
];

for (const [options, error, message] of nullCases) {
  test(`AsyncIOTransformStream() rejects null where an option has a default: ${message}`, () => {
    assertThrowsOption(
      () =>
        new AsyncIOTransformStream(
          identity,
          options as AsyncIOOptions<number, number>,
        ),
      error,
      message,
    );
  });
}

// The options table: `concurrency` is "≤ capacity (else a RangeError)", and
// defaults to `capacity`, which defaults to 100.
test("AsyncIOTransformStream() rejects a concurrency above capacity, and defaults it to capacity", () => {
  assertThrowsOption(
    () =>
      new AsyncIOTransformStream(identity, { capacity: 10, concurrency: 11 }),
    RangeError,
    "concurrency must be at most capacity (10): current value is 11",
  );
  assert.equal(new AsyncIOTransformStream(identity).stats.concurrency, 100);
  assert.equal(
    new AsyncIOTransformStream(identity, { capacity: 7 }).stats.concurrency,
    7,
  );
});

// "orderedWait(fn, options) and unorderedWait(fn, options) are Flink-named
// shorthands": they spread the options, which dropped inherited ones and
// turned a string or null into valid options.
for (const wait of [orderedWait, unorderedWait]) {
  test(`${wait.name}() rejects options that are not an object, as the constructor does`, () => {
    for (const options of [null, "fast", 42]) {
      assertThrowsOption(
        () => wait(identity, options as { capacity?: number }),
        TypeError,
        `options must be an object: current value is ${
          options === null ? "null" : JSON.stringify(options)
        }`,
      );
    }
  });

  test(`${wait.name}() honours options an object inherits, as the constructor does`, async () => {
    const options = Object.create({ capacity: 2 });
    const stream = wait((_: number) => new Promise<number>(() => {}), options);
    const writer = stream.writable.getWriter();
    for (let i = 0; i < 5; i++) writer.write(i).catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(stream.stats.pending, 2);
    await stream.readable.cancel();
  });
}

// "Durations (…, retry delays, …) `Infinity` means none": a retry delay of
// Infinity with nothing to cap it waited forever, so the stream never ended.
test("AsyncIOTransformStream() rejects a retry.delay of Infinity unless maxDelay caps it", () => {
  assertThrowsOption(
    () =>
      new AsyncIOTransformStream(identity, {
        retry: { maxAttempts: 2, delay: Infinity },
      }),
    RangeError,
    "retry.delay must be finite unless retry.maxDelay caps it: current value is Infinity",
  );
  new AsyncIOTransformStream(identity, {
    retry: { maxAttempts: 2, delay: Infinity, maxDelay: 10 },
  });
});

// "Results are copied when they complete … changing the array afterwards
// changes nothing": retryOnResult was handed the element's own copy.
test("AsyncIOTransformStream() keeps an input's outputs when retryOnResult changes the array it is given", async () => {
  const stream = new AsyncIOTransformStream<number, number>({
    asyncInvoke(n, result) {
      result.complete([n, n + 1]);
    },
  }, {
    retry: {
      maxAttempts: 2,
      retryOnResult(results) {
        (results as number[]).splice(0, Infinity, 666);
        return false;
      },
    },
  });
  const output = await Array.fromAsync(
    ReadableStream.from([1]).pipeThrough(stream),
  );
  assert.deepEqual(output, [1, 2]);
});

// "It round-trips through structuredClone whenever the inputs do, and
// through JSON when the watermarks' timestamps are finite too."
test("AsyncIOTransformStream.snapshot() keeps an Infinity watermark through structuredClone, and restore names it after JSON", async () => {
  const stream = new AsyncIOTransformStream<number, number, Watermark>(
    (_) => new Promise<number>(() => {}),
  );
  const writer = stream.writable.getWriter();
  await writer.write(1);
  await writer.write(new Watermark(Infinity));
  const state = stream.snapshot();
  await writer.abort();
  const cloned = structuredClone(state);
  assert.deepEqual(cloned.entries[1], {
    kind: "watermark",
    timestamp: Infinity,
  });
  new AsyncIOTransformStream((n: number) => n, { restore: cloned });
  assertThrowsOption(
    () =>
      new AsyncIOTransformStream((n: number) => n, {
        restore: JSON.parse(JSON.stringify(state)),
      }),
    TypeError,
    "restore.entries[1].timestamp must be a number: current value is null",
  );
});

// "Every other error is retried by default, an attemptTimeout's TimeoutError
// included, which retryOnError sees"; "The stream's own … total timeout never
// reach retryOnError".
test("retryOnError sees an attemptTimeout's TimeoutError, and never the total timeout's", async () => {
  const seen: unknown[] = [];
  const retried = new AsyncIOTransformStream(
    (n: number, { attempt }) =>
      attempt === 1 ? new Promise<number>(() => {}) : n,
    {
      attemptTimeout: 20,
      timeout: 60_000,
      retry: { maxAttempts: 2, retryOnError: (e) => (seen.push(e), true) },
    },
  );
  assert.deepEqual(
    await Array.fromAsync(ReadableStream.from([1]).pipeThrough(retried)),
    [1],
  );
  assert.equal(seen.length, 1);
  assert.ok(seen[0] instanceof DOMException);
  assert.equal(seen[0].name, "TimeoutError");

  const totalSeen: unknown[] = [];
  const timedOut = new AsyncIOTransformStream(
    (_: number) => new Promise<string>(() => {}),
    {
      timeout: 20,
      retry: { maxAttempts: 3, retryOnError: (e) => (totalSeen.push(e), true) },
      onError: (error) => [(error as Error).name],
    },
  );
  assert.deepEqual(
    await Array.fromAsync(ReadableStream.from([1]).pipeThrough(timedOut)),
    ["TimeoutError"],
  );
  assert.deepEqual(totalSeen, []);
});

// "Keys are compared as Map keys are (SameValueZero)": 0 and -0 are one key,
// and so is NaN.
test("AsyncIOTransformStream() in key-ordered mode takes 0 and -0 as one key, and NaN as one key", async () => {
  for (const keys of [[0, -0], [NaN, NaN]]) {
    let inFlight = 0;
    let most = 0;
    const stream = new AsyncIOTransformStream(async (i: number) => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      return i;
    }, { order: "key-ordered", key: (i) => keys[i] });
    assert.deepEqual(
      await Array.fromAsync(ReadableStream.from([0, 1]).pipeThrough(stream)),
      [0, 1],
    );
    assert.equal(most, 1, `keys ${keys} ran at once`);
  }
});

// The same for the built-in limits: aimd() took `timeoutIsDrop: null` as
// its default, true, where every other bound of theirs rejects null.
test("aimd() rejects a timeoutIsDrop of null", () => {
  assert.throws(
    () => aimd({ timeoutIsDrop: null as unknown as boolean }),
    new TypeError(
      "Cannot create the aimd limit as timeoutIsDrop must be a boolean: current value is null",
    ),
  );
});

// "User code is foreign" and "Stopping": a writable size() that returns a
// size the platform refuses (NaN, negative, Infinity, not a number) errors
// the writable side without telling the stream, as a throwing one does. The
// readable side then never settled, calls ran on and close() never ran.
for (const size of [NaN, -1, Infinity, "2 kB"]) {
  test(
    `AsyncIOTransformStream() fails, aborts the calls and closes once when writableStrategy.size() returns ${
      String(size)
    }`,
    async () => {
      const signals: AbortSignal[] = [];
      let closed = 0;
      const stream = new AsyncIOTransformStream<number, number, Watermark>({
        asyncInvoke: (_, result) => void signals.push(result.signal),
        close: () => void closed++,
      }, {
        writableStrategy: {
          highWaterMark: 4,
          size: (chunk) => chunk instanceof Watermark ? size as number : 1,
        },
      });
      const writer = stream.writable.getWriter();
      await writer.write(1);
      await assert.rejects(writer.write(new Watermark(5)), RangeError);
      const closedReadable = await within(
        stream.readable.getReader().closed,
        "the readable side",
      );
      assert.equal(closedReadable.ok, false);
      assert.ok(
        !closedReadable.ok && closedReadable.reason instanceof RangeError,
      );
      assert.equal(signals.length, 1);
      assert.ok(signals[0]!.aborted, "the call's signal did not abort");
      await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(closed, 1);
    },
  );
}
