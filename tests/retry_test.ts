import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AsyncIOTransformStream,
  type CallContext,
  type OutputOrder,
  type ResultFuture,
} from "../mod.ts";
import { retryDelay } from "../src/_backoff.ts";
import type { RetryPolicy } from "../src/_config.ts";
import { collect, controlledFn, deferred, settle } from "./_deferred.ts";

const ORDERS: OutputOrder[] = ["ordered", "unordered"];
const sorted = (numbers: number[]) => [...numbers].sort((a, b) => a - b);

// Flink's AsyncWaitOperatorTest#testProcessingTimeWithRetry… ports: odd inputs
// complete with [] and even inputs with [2x]; empty results are retried.
for (const order of ORDERS) {
  for (const completions of [1, 10]) {
    test(`AsyncIOTransformStream() retries empty results up to maxAttempts (${order}, complete called ${completions}×)`, async () => {
      const calls = new Map<number, number>();
      const stream = new AsyncIOTransformStream<number, number>({
        asyncInvoke(n, result) {
          calls.set(n, (calls.get(n) ?? 0) + 1);
          setTimeout(() => {
            for (let i = 0; i < completions; i++) {
              result.complete(n % 2 === 1 ? [] : [2 * n]);
            }
          }, 1);
        },
      }, {
        order,
        capacity: 6,
        retry: {
          maxAttempts: 3,
          delay: 1,
          retryOnResult: (results) => results.length === 0,
        },
      });
      const output = await Array.fromAsync(
        ReadableStream.from([1, 2, 3, 4, 5, 6]).pipeThrough(stream),
      );
      if (order === "ordered") assert.deepEqual(output, [4, 8, 12]);
      else assert.deepEqual(sorted(output), [4, 8, 12]);
      assert.deepEqual(
        [...calls].sort(([a], [b]) => a - b),
        [[1, 3], [2, 1], [3, 3], [4, 1], [5, 3], [6, 1]],
        "odd inputs are called maxAttempts times, no more",
      );
      assert.equal(stream.stats.retries, 6);
    });
  }

  test(`AsyncIOTransformStream() bounds retries of always-failing calls by the timeout handler (${order})`, async () => {
    let calls = 0;
    const stream = new AsyncIOTransformStream<number, number>({
      asyncInvoke(_n, result) {
        calls++;
        setTimeout(() => result.completeExceptionally(new Error("down")), 5);
      },
      timeout(_n, result) {
        result.complete([-1]);
      },
    }, {
      order,
      timeout: 60,
      retry: { maxAttempts: 1_000, delay: 5 },
    });
    const output = await Array.fromAsync(
      ReadableStream.from([1, 2]).pipeThrough(stream),
    );
    assert.deepEqual(output, [-1, -1]);
    // The documented bound: every retry waits at least `delay` and starts
    // within the budget, so an element makes at most
    // min(maxAttempts, 1 + timeout / delay) calls.
    const bound = 2 * Math.min(1_000, 1 + 60 / 5);
    assert.ok(calls >= 2 && calls <= bound, `${calls} calls, bound ${bound}`);
    assert.equal(stream.stats.timedOut, 2);
  });
}

test("retryDelay() grows exponentially up to maxDelay: 100, 200, 400, 800, 1600, 2000, 2000", () => {
  const policy: RetryPolicy<unknown, unknown> = {
    maxAttempts: 10,
    delay: 100,
    multiplier: 2,
    maxDelay: 2000,
    jitter: 0,
    retryOnError: () => true,
    retryOnResult: undefined,
  };
  const delays = [1, 2, 3, 4, 5, 6, 7].map((n) => retryDelay(policy, n));
  assert.deepEqual(delays, [100, 200, 400, 800, 1600, 2000, 2000]);
});

/** A policy of `delay` growing by a multiplier that overflows by attempt 3. */
function overflowing(
  delay: number,
  maxDelay: number,
  jitter: number,
): RetryPolicy<unknown, unknown> {
  return {
    maxAttempts: 10,
    delay,
    multiplier: 1e300,
    maxDelay,
    jitter,
    retryOnError: () => true,
    retryOnResult: undefined,
  };
}

test("retryDelay() stays finite when delay × multiplier^n overflows and maxDelay is Infinity", () => {
  for (const random of [() => 0, () => 0.5, () => 1]) {
    for (const jitter of [0, 0.5, 1]) {
      const delay = retryDelay(overflowing(1, Infinity, jitter), 3, random);
      assert.ok(Number.isFinite(delay), `jitter ${jitter}: ${delay}`);
      assert.ok(delay >= 0);
    }
  }
  assert.equal(retryDelay(overflowing(1, Infinity, 0), 3), Number.MAX_VALUE);
});

test("retryDelay() keeps a zero delay zero, not NaN, when the multiplier overflows", () => {
  assert.equal(retryDelay(overflowing(0, Infinity, 0), 3), 0);
  assert.equal(retryDelay(overflowing(0, 1_000, 0), 3), 0);
  assert.equal(retryDelay(overflowing(0, 1_000, 1), 3, () => 1), 0);
});

test("retryDelay() caps an overflowing delay at maxDelay, with or without jitter", () => {
  assert.equal(retryDelay(overflowing(5, 1_000, 0), 3), 1_000);
  assert.equal(retryDelay(overflowing(5, 1_000, 1), 3, () => 0), 1_000);
  assert.equal(retryDelay(overflowing(5, 1_000, 1), 3, () => 1), 0);
  assert.equal(retryDelay(overflowing(5, 1_000, 0.5), 3, () => 0.5), 750);
});

test("retryDelay() randomises the jitter fraction of each delay", () => {
  const policy: RetryPolicy<unknown, unknown> = {
    maxAttempts: 3,
    delay: 100,
    multiplier: 1,
    maxDelay: Infinity,
    jitter: 0.5,
    retryOnError: () => true,
    retryOnResult: undefined,
  };
  assert.equal(retryDelay(policy, 1, () => 0), 100);
  assert.equal(retryDelay(policy, 1, () => 0.5), 75);
  assert.equal(retryDelay(policy, 1, () => 1), 50);
});

test("AsyncIOTransformStream() waits the same backoff sequence for every element", async () => {
  // Backoff timers are recorded and fired at once, so the test takes no time.
  const realSetTimeout = globalThis.setTimeout;
  const delays: number[] = [];
  globalThis.setTimeout = ((callback: () => void, delay?: number) => {
    delays.push(delay ?? 0);
    return realSetTimeout(callback, 0);
  }) as typeof setTimeout;
  try {
    const stream = new AsyncIOTransformStream(
      (n: number, { attempt }: CallContext) =>
        attempt < 8 ? Promise.reject(new Error("again")) : n,
      {
        capacity: 1, // one element at a time, so the delays do not interleave
        retry: { maxAttempts: 8, delay: 100, multiplier: 2, maxDelay: 2000 },
      },
    );
    const output = await Array.fromAsync(
      ReadableStream.from([1, 2, 3]).pipeThrough(stream),
    );
    assert.deepEqual(output, [1, 2, 3]);
  } finally {
    globalThis.setTimeout = realSetTimeout;
  }
  const sequence = [100, 200, 400, 800, 1600, 2000, 2000];
  assert.deepEqual(delays, [...sequence, ...sequence, ...sequence]);
});

test("AsyncIOTransformStream() gives each attempt a fresh signal and attempt number", async () => {
  const seen: CallContext[] = [];
  const stream = new AsyncIOTransformStream(
    (n: number, context: CallContext) => {
      seen.push(context);
      return context.attempt < 3 ? Promise.reject(new Error("again")) : n;
    },
    { retry: { maxAttempts: 3 } },
  );
  await Array.fromAsync(ReadableStream.from([1]).pipeThrough(stream));
  assert.deepEqual(seen.map((context) => context.attempt), [1, 2, 3]);
  const signals = new Set(seen.map((context) => context.signal));
  assert.equal(signals.size, 3);
});

test("AsyncIOTransformStream() retries only the errors retryOnError accepts", async () => {
  const fatal = new Error("fatal");
  let calls = 0;
  const stream = new AsyncIOTransformStream(
    (_: number, { attempt }: CallContext) => {
      calls++;
      return Promise.reject(attempt === 1 ? new Error("transient") : fatal);
    },
    {
      retry: {
        maxAttempts: 5,
        retryOnError: (error) => (error as Error).message === "transient",
      },
    },
  );
  await assert.rejects(
    Array.fromAsync(ReadableStream.from([1]).pipeThrough(stream)),
    (reason) => reason === fatal,
  );
  assert.equal(calls, 2);
});

test("AsyncIOTransformStream() fails with the last error once maxAttempts are spent", async () => {
  const stream = new AsyncIOTransformStream(
    (_: number, { attempt }: CallContext) =>
      Promise.reject(new Error(`attempt ${attempt}`)),
    { retry: { maxAttempts: 3 } },
  );
  await assert.rejects(
    Array.fromAsync(ReadableStream.from([1]).pipeThrough(stream)),
    { message: "attempt 3" },
  );
  assert.equal(stream.stats.failedAttempts, 3);
  assert.equal(stream.stats.retries, 2);
});

test("AsyncIOTransformStream() fails the stream when a retry predicate throws", async () => {
  const error = new Error("predicate broke");
  const stream = new AsyncIOTransformStream((n: number) => n, {
    retry: {
      maxAttempts: 3,
      retryOnResult: () => {
        throw error;
      },
    },
  });
  await assert.rejects(
    Array.fromAsync(ReadableStream.from([1]).pipeThrough(stream)),
    (reason) => reason === error,
  );
});

test("AsyncIOTransformStream() cancels a pending backoff when the timeout runs out, and times out once", async () => {
  let calls = 0;
  let handled = 0;
  const stream = new AsyncIOTransformStream<number, string>({
    asyncInvoke(_n, result) {
      calls++;
      result.completeExceptionally(new Error("down"));
    },
    timeout(n, result) {
      handled++;
      result.complete([`${n}:fallback`]);
    },
  }, { timeout: 20, retry: { maxAttempts: 3, delay: 60_000 } });
  const output = await Array.fromAsync(
    ReadableStream.from([1]).pipeThrough(stream),
  );
  assert.deepEqual(output, ["1:fallback"]);
  assert.equal(calls, 1, "the minute-long backoff never ended in a call");
  assert.equal(handled, 1);
  assert.equal(stream.stats.timedOut, 1);
});

test("AsyncIOTransformStream() makes no further attempt when cancelled during a backoff", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    retry: { maxAttempts: 3, delay: 200 },
  });
  const { stop } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  await writer.write(1);
  await callsReach(1);
  calls[0]!.reject(new Error("down"));
  await settle();
  await stop("cancelled in backoff");
  await settle(400); // longer than the backoff
  assert.equal(calls.length, 1);
  assert.equal(stream.stats.retries, 0);
});

test("AsyncIOTransformStream() drops a result that arrives during a backoff", async () => {
  const first = deferred<ResultFuture<string>>();
  const stream = new AsyncIOTransformStream<string, string>({
    asyncInvoke(input, result) {
      if (result.attempt === 1) {
        first.resolve(result);
        result.completeExceptionally(new Error("down"));
      } else {
        setTimeout(() => result.complete([`${input}@${result.attempt}`]), 20);
      }
    },
  }, { retry: { maxAttempts: 2, delay: 20 } });
  const output = Array.fromAsync(
    ReadableStream.from(["a"]).pipeThrough(stream),
  );
  (await first.promise).complete(["late result of attempt 1"]);
  assert.deepEqual(await output, ["a@2"]);
});

test("AsyncIOTransformStream() waits for pending retries when the input ends", async () => {
  for (const order of ORDERS) {
    const stream = new AsyncIOTransformStream(
      (n: number, { attempt }: CallContext) =>
        attempt === 1 ? Promise.reject(new Error("down")) : n * 10,
      { order, retry: { maxAttempts: 2, delay: 15 } },
    );
    const { chunks, done } = collect(stream.readable);
    const writer = stream.writable.getWriter();
    await writer.write(1);
    await writer.write(2);
    await writer.close();
    await done;
    assert.deepEqual(sorted(chunks), [10, 20], order);
  }
});

// A throwing retry predicate is a configuration bug, not a failed input: it
// fails the stream even where onError would recover a failed input.
test("AsyncIOTransformStream() fails the stream when a retry predicate throws, whatever onError says", async () => {
  for (const onError of ["settle", () => ["recovered"]] as const) {
    for (const predicate of ["retryOnError", "retryOnResult"] as const) {
      const bug = new Error(`${predicate} broke`);
      const stream = new AsyncIOTransformStream(
        (n: number) => {
          if (predicate === "retryOnError") throw new Error("call failed");
          return n;
        },
        {
          onError,
          retry: {
            maxAttempts: 3,
            [predicate]: () => {
              throw bug;
            },
          },
        } as never,
      );
      await assert.rejects(
        Array.fromAsync(ReadableStream.from([1]).pipeThrough(stream)),
        (reason) => reason === bug,
        `${predicate} under onError ${String(onError)}`,
      );
    }
  }
});
