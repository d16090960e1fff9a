// Issue 12, review defect 1: results that come back synchronously while
// calls are queued must settle iteratively. The engine once recursed per
// result and overflowed the stack ("Maximum call stack size exceeded") from
// about 1,100 queued inputs. Each case sends 1,000,000 inputs through a
// function that returns plain values; only input 0 returns a promise, held
// until the stream is full, so that the rest queue up behind it. In a
// browser page, where a million take 30 to 100 s per case, 100,000 (still
// ninety times the old limit) keep the browser suite short.
import { test } from "node:test";
import assert from "node:assert/strict";
import { type AsyncIOOptions, AsyncIOTransformStream } from "../mod.ts";
import { deferred, settle } from "./_deferred.ts";

const N = "document" in globalThis ? 100_000 : 1_000_000;
const COUNT = N.toLocaleString("en-US");
/** Seconds, not milliseconds, per case: Bun's default 5 s is too short. */
const SLOW = { timeout: 120_000 };

/** 0..n-1, enqueued in batches so that the source is not the bottleneck. */
function numbers(n: number): ReadableStream<number> {
  let next = 0;
  return new ReadableStream<number>({
    pull(controller) {
      for (let k = 0; k < 1_000 && next < n; k++) controller.enqueue(next++);
      if (next === n) controller.close();
    },
  }, { highWaterMark: 0 });
}

/**
 * Runs N inputs through `fn` (doubling), holding input 0 until `capacity`
 * inputs are pending; `check` sees each output with its index.
 */
async function run(
  options: AsyncIOOptions<number, number> & { capacity: number },
  check: (output: number, index: number) => void,
  fn: (n: number) => number | Promise<number> = (n) => n * 2,
): Promise<number> {
  const head = deferred<number>();
  const stream = new AsyncIOTransformStream<number, number>(
    (n: number) => n === 0 ? head.promise : fn(n),
    options,
  );
  let count = 0;
  const done = numbers(N).pipeThrough(stream).pipeTo(
    new WritableStream<number>({
      write: (output) => check(output, count++),
    }),
  );
  while (stream.stats.pending < options.capacity) await settle(1);
  head.resolve(0);
  await done;
  return count;
}

test(
  `AsyncIOTransformStream() emits ${COUNT} synchronous results in order with concurrency 1`,
  SLOW,
  async () => {
    const count = await run(
      { concurrency: 1, capacity: 10_000 },
      (output, index) => {
        if (output !== index * 2) assert.equal(output, index * 2, `#${index}`);
      },
    );
    assert.equal(count, N);
  },
);

test(
  `AsyncIOTransformStream() emits ${COUNT} synchronous results of one key in order`,
  SLOW,
  async () => {
    const count = await run(
      { order: "key-ordered", key: () => "one key", capacity: 10_000 },
      (output, index) => {
        if (output !== index * 2) assert.equal(output, index * 2, `#${index}`);
      },
    );
    assert.equal(count, N);
  },
);

test(
  `AsyncIOTransformStream() emits ${COUNT} synchronous results unordered, each once`,
  SLOW,
  async () => {
    const seen = new Uint8Array(N);
    const count = await run(
      { order: "unordered", concurrency: 1, capacity: 10_000 },
      (output) => {
        seen[output / 2]!++;
      },
    );
    assert.equal(count, N);
    assert.equal(seen.every((times) => times === 1), true);
  },
);

test(
  `AsyncIOTransformStream() emits ${COUNT} results in order when most are cache hits at capacity 1000`,
  SLOW,
  async () => {
    // Every thousandth input misses the cache and waits a macrotask.
    const count = await run(
      { capacity: 1_000 },
      (output, index) => {
        if (output !== index * 2) assert.equal(output, index * 2, `#${index}`);
      },
      (n) =>
        n % 1_000 === 0
          ? new Promise((resolve) => setTimeout(() => resolve(n * 2), 0))
          : n * 2,
    );
    assert.equal(count, N);
  },
);
