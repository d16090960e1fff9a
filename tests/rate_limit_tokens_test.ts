// Issue 12, review defects 7 and 9: with the rate limit and a concurrency
// below capacity, starts keep input order (key order in key-ordered mode)
// and a token is taken only by a call that starts; and the limiter's memory
// does not grow with `limit`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { type AsyncIOOptions, AsyncIOTransformStream } from "../mod.ts";
import { within } from "./_within.ts";

async function startsOf(
  options: AsyncIOOptions<number, number>,
  count: number,
  call: (n: number) => Promise<number>,
) {
  const starts: { input: number; at: number }[] = [];
  const stream = new AsyncIOTransformStream<number, number>((n) => {
    starts.push({ input: n, at: performance.now() });
    return call(n);
  }, options);
  const inputs = Array.from({ length: count }, (_, i) => i);
  const output = await within(
    Array.fromAsync(ReadableStream.from(inputs).pipeThrough(stream)),
    "the output",
    20_000,
  );
  assert.equal(output.ok, true);
  return starts;
}

for (const order of ["ordered", "unordered", "key-ordered"] as const) {
  test(
    `AsyncIOTransformStream() starts rate-limited calls in input order with concurrency below capacity (${order})`,
    {
      timeout: 30_000,
    },
    async () => {
      const key = (n: number) => n % 2;
      const starts = await startsOf(
        {
          order,
          ...(order === "key-ordered" ? { key } : {}),
          capacity: 50,
          concurrency: 2,
          rateLimit: { limit: 4, interval: 40 },
        },
        40,
        // Calls that end while tokens come free: the limiter then has tokens
        // while no slot is free.
        (n) =>
          new Promise((resolve) => setTimeout(resolve, 3 + (n % 3) * 6, n)),
      );
      const inputs = starts.map(({ input }) => input);
      if (order === "key-ordered") {
        for (const k of [0, 1]) {
          const ofKey = inputs.filter((n) => key(n) === k);
          assert.deepEqual(ofKey, ofKey.toSorted((a, b) => a - b), `key ${k}`);
        }
      } else {
        assert.deepEqual(inputs, inputs.toSorted((a, b) => a - b));
      }
    },
  );
}

test(
  "AsyncIOTransformStream() spends rate-limit tokens only on calls that start",
  {
    timeout: 30_000,
  },
  async () => {
    // Concurrency 1 and calls that end in a microtask: each window's tokens
    // come free together while one call at most can run. A limiter that hands
    // them all out, then re-queues the calls that could not start, starts
    // about one call per window instead of `limit`.
    const limit = 5;
    const interval = 100;
    const count = 30;
    const starts = await startsOf(
      { capacity: 50, concurrency: 1, rateLimit: { limit, interval } },
      count,
      (n) => Promise.resolve(n),
    );
    assert.equal(starts.length, count);
    // Allowed: `count` starts within (count / limit - 1) intervals, 500 ms; a
    // generous bound for late timers, far below the ~2.5 s that waste takes.
    const span = starts.at(-1)!.at - starts[0]!.at;
    assert.ok(span < 1_500, `${count} starts took ${span.toFixed(0)} ms`);
    assert.deepEqual(
      starts.map(({ input }) => input),
      Array.from({ length: count }, (_, i) => i),
    );
  },
);

/** The resident set size, where the runtime tells it (not in browsers). */
function rss(): number | undefined {
  const runtime = globalThis as unknown as {
    Deno?: { memoryUsage(): { rss: number } };
    process?: { memoryUsage?(): { rss: number } };
  };
  return runtime.Deno?.memoryUsage().rss ??
    runtime.process?.memoryUsage?.().rss;
}

for (const limit of [1e8, Number.MAX_SAFE_INTEGER]) {
  test(`AsyncIOTransformStream() takes rateLimit.limit ${limit} in constant memory`, async () => {
    const before = rss();
    const stream = new AsyncIOTransformStream((n: number) => n * 2, {
      rateLimit: { limit, interval: 1_000 },
    });
    const after = rss();
    if (before !== undefined && after !== undefined) {
      const grown = (after - before) / 2 ** 20;
      assert.ok(grown < 32, `the resident set grew by ${grown.toFixed(0)} MiB`);
    }
    const output = await within(
      Array.fromAsync(ReadableStream.from([1, 2, 3]).pipeThrough(stream)),
      "the output",
    );
    assert.deepEqual(output, { ok: true, value: [2, 4, 6] });
  });
}
