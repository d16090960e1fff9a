// Issue 12, review defect 12: a concurrency above capacity is refused, not
// silently clamped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncIOTransformStream } from "../mod.ts";

test("AsyncIOTransformStream() refuses a concurrency greater than capacity with a RangeError", () => {
  assert.throws(
    () =>
      new AsyncIOTransformStream((n: number) => n, {
        capacity: 10,
        concurrency: 11,
      }),
    (error) =>
      error instanceof RangeError &&
      /concurrency/.test(error.message) &&
      /capacity/.test(error.message),
  );
  // The default capacity bounds it too.
  assert.throws(
    () => new AsyncIOTransformStream((n: number) => n, { concurrency: 101 }),
    RangeError,
  );
});

test("AsyncIOTransformStream() accepts a concurrency equal to capacity", async () => {
  const stream = new AsyncIOTransformStream((n: number) => n, {
    capacity: 3,
    concurrency: 3,
  });
  const output = await Array.fromAsync(
    ReadableStream.from([1, 2, 3, 4]).pipeThrough(stream),
  );
  assert.deepEqual(output, [1, 2, 3, 4]);
});
