import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncIOTransformStream } from "../mod.ts";

// Deadlines are stamped in batches (every 64 adds, or by a short timer); every
// one of them must still expire, wherever it falls in a batch.
test("AsyncIOTransformStream() times out each slow call among many fast ones", async () => {
  const slow = (n: number) => n % 50 === 49;
  const stream = new AsyncIOTransformStream(
    (n: number, { signal }) =>
      slow(n)
        ? new Promise<number>((_, reject) =>
          signal.addEventListener("abort", () => reject(signal.reason))
        )
        : Promise.resolve(n),
    {
      order: "unordered",
      capacity: 300,
      timeout: 30,
      onTimeout(n, result) {
        result.complete([-n]);
      },
    },
  );
  const inputs = Array.from({ length: 200 }, (_, i) => i);
  const outputs = await Array.fromAsync(
    ReadableStream.from(inputs).pipeThrough(stream),
  );
  assert.deepEqual(
    outputs.toSorted((a, b) => a - b),
    inputs.map((n) => (slow(n) ? -n : n)).toSorted((a, b) => a - b),
  );
  assert.equal(stream.stats.timedOut, 4);
});

test("AsyncIOTransformStream() times out a lone slow call that starts no batch", async () => {
  const stream = new AsyncIOTransformStream(
    (_: number) => new Promise<number>(() => {}),
    {
      timeout: 10,
      onTimeout(n, result) {
        result.complete([n + 0.5]);
      },
    },
  );
  assert.deepEqual(
    await Array.fromAsync(ReadableStream.from([1]).pipeThrough(stream)),
    [1.5],
  );
});
