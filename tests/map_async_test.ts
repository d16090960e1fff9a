import { test } from "node:test";
import assert from "node:assert/strict";
import { type AsyncFunction, type AsyncIOState, mapAsync } from "../mod.ts";
import { controlledFn, deferred, settle } from "./_deferred.ts";
import { asyncSource, toArray } from "./_sources.ts";

async function* numbers(count: number) {
  for (let n = 1; n <= count; n++) yield n;
}

test("mapAsync() maps an array, a sync generator, an async generator and a ReadableStream", async () => {
  const double = (n: number) => n * 2;
  function* sync() {
    yield* [1, 2, 3];
  }
  assert.deepEqual(await toArray(mapAsync([1, 2, 3], double)), [2, 4, 6]);
  assert.deepEqual(await toArray(mapAsync(sync(), double)), [2, 4, 6]);
  assert.deepEqual(await toArray(mapAsync(numbers(3), double)), [2, 4, 6]);
  const stream = new ReadableStream<number>({
    start(controller) {
      for (const n of [1, 2, 3]) controller.enqueue(n);
      controller.close();
    },
  });
  assert.deepEqual(await toArray(mapAsync(stream, double)), [2, 4, 6]);
  assert.equal(stream.locked, false, "the reader is released at the end");
});

test("mapAsync() yields in input order when calls complete in reverse", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const output = toArray(mapAsync([1, 2, 3], fn));
  await callsReach(3);
  for (const call of [...calls].reverse()) call.resolve(call.input * 10);
  assert.deepEqual(await output, [10, 20, 30]);
});

test("mapAsync() yields as calls complete in unordered mode", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const output = toArray(mapAsync([1, 2, 3], fn, { order: "unordered" }));
  await callsReach(3);
  for (const index of [2, 0, 1]) {
    calls[index]!.resolve(calls[index]!.input);
    await settle();
  }
  assert.deepEqual(await output, [3, 1, 2]);
});

test("mapAsync() runs one call per key and keeps each key's order in key-ordered mode", async () => {
  const { fn, calls, callsReach } = controlledFn<string, string>();
  const iterator = mapAsync(["a1", "b1", "a2", "b2"], fn, {
    order: "key-ordered",
    key: (input) => input[0],
  });
  const output = toArray(iterator);
  await callsReach(2);
  await settle();
  assert.deepEqual(calls.map((call) => call.input), ["a1", "b1"]);
  calls[1]!.resolve("B1");
  await callsReach(3);
  assert.equal(calls[2]!.input, "b2");
  calls[2]!.resolve("B2");
  calls[0]!.resolve("A1");
  await callsReach(4);
  calls[3]!.resolve("A2");
  assert.deepEqual(await output, ["B1", "B2", "A1", "A2"]);
});

test("mapAsync() takes the object form: zero or more outputs per input, open() and close() once", async () => {
  const events: string[] = [];
  const fn: AsyncFunction<number, string> = {
    open() {
      events.push("open");
    },
    asyncInvoke(n, result) {
      queueMicrotask(() =>
        result.complete(Array.from({ length: n }, (_, i) => `${n}.${i}`))
      );
    },
    close() {
      events.push("close");
    },
  };
  const output = await toArray(mapAsync([0, 1, 2], fn));
  assert.deepEqual(output, ["1.0", "2.0", "2.1"]);
  assert.deepEqual(events, ["open", "close"]);
});

test("mapAsync() runs nothing before the first next()", async () => {
  const { iterator, log } = asyncSource([1, 2]);
  let opened = 0;
  let calls = 0;
  const mapped = mapAsync(iterator, {
    open: () => void opened++,
    asyncInvoke: (n: number, result) => {
      calls++;
      result.complete([n]);
    },
  });
  await settle(5);
  assert.deepEqual({ reads: log.reads, opened, calls }, {
    reads: 0,
    opened: 0,
    calls: 0,
  });
  assert.deepEqual(await mapped.next(), { done: false, value: 1 });
  assert.equal(opened, 1);
});

test("mapAsync() reads no further ahead than capacity while calls run", async () => {
  const { fn, callsReach } = controlledFn<number, number>();
  const { iterator, log } = asyncSource(
    Array.from({ length: 20 }, (_, i) => i),
  );
  const mapped = mapAsync(iterator, fn, { capacity: 3 });
  void mapped.next();
  await callsReach(3);
  await settle(10);
  assert.equal(log.reads, 3);
  await mapped.return();
});

test("mapAsync() reads no further while a result waits for the consumer", async () => {
  const { iterator, log } = asyncSource(
    Array.from({ length: 100 }, (_, i) => i),
  );
  const mapped = mapAsync(iterator, (n: number) => n, { capacity: 4 });
  assert.deepEqual(await mapped.next(), { done: false, value: 0 });
  await settle(10);
  const reads = log.reads;
  assert.ok(reads <= 4 + 2, `read ${reads} ahead of a consumer that read 1`);
  await settle(10);
  assert.equal(log.reads, reads, "still reading without demand");
  const rest = await toArray(mapped);
  assert.equal(rest.length, 99);
});

test("mapAsync() resolves concurrent next() calls in order", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const mapped = mapAsync([1, 2], fn, { order: "unordered" });
  const results = [mapped.next(), mapped.next(), mapped.next()];
  await callsReach(2);
  calls[1]!.resolve(20);
  calls[0]!.resolve(10);
  assert.deepEqual(await Promise.all(results), [
    { done: false, value: 20 },
    { done: false, value: 10 },
    { done: true, value: undefined },
  ]);
});

test("mapAsync() retries, times out to a fallback and rate-limits as the stream does", async () => {
  let attempts = 0;
  const retried = mapAsync([1], (n: number, { attempt }) => {
    attempts++;
    if (attempt < 3) throw new Error(`attempt ${attempt}`);
    return n;
  }, { retry: { maxAttempts: 3 } });
  assert.deepEqual(await toArray(retried), [1]);
  assert.equal(attempts, 3);
  assert.equal(retried.stats.retries, 2);

  const timedOut = mapAsync(
    [1, 2],
    (n: number) => n === 1 ? new Promise<number>(() => {}) : n,
    {
      timeout: 20,
      onTimeout: (n, result) => result.complete([-n]),
    },
  );
  assert.deepEqual(await toArray(timedOut), [-1, 2]);
  assert.equal(timedOut.stats.timedOut, 1);

  const limited = mapAsync([1, 2, 3], (n: number) => n, {
    rateLimit: { limit: 2, interval: 30 },
  });
  assert.deepEqual(await toArray(limited), [1, 2, 3]);
  assert.equal(limited.stats.rateLimited, 1);
});

test("mapAsync() yields 100,000 synchronous results without growing the stack", async () => {
  let count = 0;
  for await (const _ of mapAsync(numbers(100_000), (n: number) => n)) count++;
  assert.equal(count, 100_000);
});

test("mapAsync() validates its arguments at call time, naming mapAsync", () => {
  assert.throws(
    () => mapAsync([1], (n: number) => n, { capacity: 0 }),
    new RangeError(
      "Cannot call mapAsync as capacity must be a positive integer: current value is 0",
    ),
  );
  assert.throws(
    () => mapAsync(42 as unknown as number[], (n: number) => n),
    new TypeError(
      "Cannot call mapAsync as source must be an AsyncIterable, an Iterable or a ReadableStream: current value is 42",
    ),
  );
  assert.throws(
    () => mapAsync([1], "nope" as unknown as (n: number) => number),
    TypeError,
  );
  assert.throws(
    () =>
      mapAsync([1], (n: number) => n, {
        restore: { version: 2 } as unknown as AsyncIOState<number>,
      }),
    (error: Error) =>
      error instanceof TypeError &&
      error.message.startsWith("Cannot call mapAsync as restore.version"),
  );
});

test("mapAsync() lets a ReadableStream source go when it stops early", async () => {
  let cancelled: unknown = "not cancelled";
  const stream = new ReadableStream<number>({
    pull(controller) {
      controller.enqueue(1);
    },
    cancel(reason) {
      cancelled = reason;
    },
  });
  for await (const _ of mapAsync(stream, (n: number) => n)) break;
  await settle();
  assert.equal((cancelled as DOMException).name, "AbortError");
  assert.equal(stream.locked, false);
});

test("mapAsync() iterators are their own async iterator", async () => {
  const mapped = mapAsync([1], (n: number) => n);
  assert.equal(mapped[Symbol.asyncIterator](), mapped);
  const done = deferred<number[]>();
  done.resolve(await toArray(mapped));
  assert.deepEqual(await done.promise, [1]);
});

test("mapAsync() follows options.onError: settle records, or a handler's fallback", async () => {
  const lookup = (n: number) => {
    if (n === 2) throw new Error("404");
    return n * 10;
  };
  const settled = await toArray(mapAsync([1, 2, 3], lookup, {
    onError: "settle",
  }));
  assert.deepEqual(settled.map((record) => record.status), [
    "fulfilled",
    "rejected",
    "fulfilled",
  ]);
  assert.deepEqual(settled[0], { status: "fulfilled", input: 1, value: 10 });
  const recovered = await toArray(mapAsync([1, 2, 3], lookup, {
    onError: (_error, input) => [-input],
  }));
  assert.deepEqual(recovered, [10, -2, 30]);
});

test("mapAsync() batches inputs into one call with options.batch", async () => {
  const batches: number[][] = [];
  const lookup = (ids: number[]) => {
    batches.push(ids);
    return Promise.resolve(ids.map((id) => id * 10));
  };
  const mapped = mapAsync([1, 2, 3, 4, 5], lookup, {
    batch: { maxSize: 2, maxWait: 5 },
  });
  assert.deepEqual(await toArray(mapped), [10, 20, 30, 40, 50]);
  assert.deepEqual(batches, [[1, 2], [3, 4], [5]]);
  assert.equal(mapped.stats.batches, 3);
});

test("mapAsync() setConcurrency() bounds the calls in flight from then on", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const mapped = mapAsync([1, 2, 3, 4], fn, { capacity: 4, concurrency: 4 });
  mapped.setConcurrency(1);
  const output = toArray(mapped);
  await callsReach(1);
  await settle(5);
  assert.equal(calls.length, 1);
  calls[0]!.resolve(1);
  await callsReach(2);
  mapped.setConcurrency(4);
  await callsReach(4);
  for (const call of calls.slice(1)) call.resolve(call.input);
  assert.deepEqual(await output, [1, 2, 3, 4]);
  assert.throws(
    () => mapped.setConcurrency(5),
    new RangeError(
      "Cannot set the concurrency as it must be at most capacity (4): current value is 5",
    ),
  );
});

test("mapAsync() removes its listener from options.signal after end, failure and break", async () => {
  for (const end of ["end", "failure", "break"] as const) {
    const controller = new AbortController();
    const signal = controller.signal;
    // A set, as removing a listener twice is allowed and changes nothing.
    const listeners = new Set<unknown>();
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    Object.assign(signal, {
      addEventListener(...args: Parameters<typeof add>) {
        listeners.add(args[1]);
        add(...args);
      },
      removeEventListener(...args: Parameters<typeof remove>) {
        listeners.delete(args[1]);
        remove(...args);
      },
    });
    const mapped = mapAsync([1, 2, 3], (n: number) => {
      if (end === "failure") throw new Error("x");
      return new Promise<number>((resolve) => setTimeout(resolve, 1, n));
    }, { signal, timeout: 60_000 });
    let seen = 0;
    try {
      for await (const _ of mapped) {
        if (seen++ === 0) assert.equal(listeners.size, 1, `${end}: running`);
        if (end === "break") break;
      }
    } catch (error) {
      if (end !== "failure") throw error;
    }
    assert.equal(seen, end === "end" ? 3 : end === "break" ? 1 : 0);
    assert.equal(listeners.size, 0, `${end}: a listener left behind`);
  }
});
