// Issue 12, review defect 8: durations above 2^31 - 1 ms (the most that
// setTimeout holds) must not fire early: timeout, attemptTimeout, the retry
// delay and maxDelay, and rateLimit.interval. Infinity still means none.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AsyncIOOptions,
  AsyncIOTransformStream,
  type CallContext,
} from "../mod.ts";
import { settle } from "./_deferred.ts";
import { track, until, within } from "./_within.ts";

const LONG = 2 ** 31 + 10;
/** Long enough for a timer that overflowed to fire (it fires at once). */
const WATCH_MS = 100;

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Records the delay of every timer armed while `body` runs. The timers run
 * as usual: setTimeout is wrapped, not replaced.
 */
async function recordingTimers<T>(body: () => Promise<T>) {
  const delays: number[] = [];
  const original = globalThis.setTimeout;
  globalThis.setTimeout = ((...args: unknown[]) => {
    delays.push(Number(args[1] ?? 0));
    return Reflect.apply(original, globalThis, args);
  }) as typeof setTimeout;
  try {
    return { result: await body(), delays };
  } finally {
    globalThis.setTimeout = original;
  }
}

/**
 * Writes `inputs` to a stream over calls that stay pending unless `fn`
 * settles them, and watches it for WATCH_MS; cancels it at the end.
 */
async function watch(
  options: AsyncIOOptions<number, number>,
  inputs: number[],
  fn: (n: number, context: CallContext) => Promise<number> = () =>
    new Promise<number>(() => {}),
) {
  const contexts: CallContext[] = [];
  const stream = new AsyncIOTransformStream<number, number>(
    (n, context) => (contexts.push(context), fn(n, context)),
    options,
  );
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  const closed = track(reader.closed);
  void (async () => {
    while (!(await reader.read()).done); // reads on, so that input flows
  })().catch(() => {});
  const { delays } = await recordingTimers(async () => {
    for (const n of inputs) void writer.write(n).catch(() => {});
    await until(() => contexts.length > 0, "the first call");
    await settle(WATCH_MS);
  });
  // A timer longer than setTimeout holds fires at once; a chain of timers
  // re-arms rarely, while one that overflowed re-arms every few ms.
  const tooLong = delays.filter((delay) => delay > MAX_TIMER_MS);
  assert.deepEqual(tooLong, [], "timers longer than setTimeout holds");
  const long = delays.filter((delay) => delay >= 1_000);
  assert.ok(long.length <= 5, `${long.length} long timers armed in 100 ms`);
  const seen = {
    calls: contexts.length,
    aborted: contexts.filter(({ signal }) => signal.aborted).length,
    ended: closed.settled,
    timedOut: stream.stats.timedOut,
    retries: stream.stats.retries,
  };
  await within(reader.cancel("done watching"), "the cancel");
  return seen;
}

test("AsyncIOTransformStream() does not time out early with a timeout above 2^31 - 1 ms", async () => {
  assert.deepEqual(await watch({ timeout: LONG }, [1]), {
    calls: 1,
    aborted: 0,
    ended: false,
    timedOut: 0,
    retries: 0,
  });
});

test("AsyncIOTransformStream() does not expire an attempt early with an attemptTimeout above 2^31 - 1 ms", async () => {
  assert.deepEqual(
    await watch({ attemptTimeout: LONG, retry: { maxAttempts: 2 } }, [1]),
    { calls: 1, aborted: 0, ended: false, timedOut: 0, retries: 0 },
  );
});

test("AsyncIOTransformStream() does not retry at once with a retry delay of 2^32 ms", async () => {
  const fails = () => Promise.reject<number>(new Error("down"));
  assert.deepEqual(
    await watch({ retry: { maxAttempts: 3, delay: 2 ** 32 } }, [1], fails),
    { calls: 1, aborted: 0, ended: false, timedOut: 0, retries: 0 },
  );
});

test("AsyncIOTransformStream() does not retry at once when maxDelay caps a backoff at 2^32 ms", async () => {
  // The first backoff is 1 ms; the second would be 2^40 ms, capped at 2^32.
  const fails = () => Promise.reject<number>(new Error("down"));
  const retry = {
    maxAttempts: 3,
    delay: 1,
    multiplier: 2 ** 40,
    maxDelay: 2 ** 32,
  };
  assert.deepEqual(await watch({ retry }, [1], fails), {
    calls: 2,
    aborted: 0,
    ended: false,
    timedOut: 0,
    retries: 1,
  });
});

test("AsyncIOTransformStream() does not start early with a rateLimit.interval above 2^31 - 1 ms", async () => {
  const seen = await watch(
    { order: "unordered", rateLimit: { limit: 1, interval: LONG } },
    [1, 2, 3],
    (n) => Promise.resolve(n),
  );
  assert.equal(seen.calls, 1, "a call started before its window");
  assert.equal(seen.ended, false);
});

test("AsyncIOTransformStream() takes an Infinity timeout and attemptTimeout as none", async () => {
  const stream = new AsyncIOTransformStream(
    (n: number) => new Promise<number>((resolve) => setTimeout(resolve, 30, n)),
    { timeout: Infinity, attemptTimeout: Infinity },
  );
  const output = await within(
    Array.fromAsync(ReadableStream.from([1, 2]).pipeThrough(stream)),
    "the output",
  );
  assert.deepEqual(output, { ok: true, value: [1, 2] });
  assert.equal(stream.stats.timedOut, 0);
});
