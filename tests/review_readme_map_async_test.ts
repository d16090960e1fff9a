// An audit of the README's promises for mapAsync's sources: "Nothing runs
// until the first next()", and bad arguments throw at call time with
// "Cannot call mapAsync as".
import { test } from "node:test";
import assert from "node:assert/strict";
import { aimd, mapAsync } from "../mod.ts";

test("mapAsync() that throws at call time leaves a ReadableStream source unlocked", () => {
  const source = new ReadableStream<number>();
  assert.throws(
    () =>
      mapAsync(source, (n: number) => n, {
        capacity: 10,
        concurrency: aimd({ max: 20 }),
      }),
    RangeError,
  );
  assert.equal(source.locked, false);
});

test("mapAsync() that throws at call time does not open an async iterable's iterator", () => {
  let opened = 0;
  const source = {
    [Symbol.asyncIterator](): AsyncIterator<number> {
      opened++;
      return { next: () => Promise.resolve({ done: true, value: undefined }) };
    },
  };
  assert.throws(
    () =>
      mapAsync(source, (n: number) => n, {
        capacity: 10,
        concurrency: aimd({ max: 20 }),
      }),
    RangeError,
  );
  assert.equal(opened, 0);
});

test("mapAsync() rejects a locked ReadableStream source with a TypeError naming mapAsync", () => {
  const source = new ReadableStream<number>();
  const reader = source.getReader();
  assert.throws(
    () => mapAsync(source, (n: number) => n),
    new TypeError(
      "Cannot call mapAsync as source must not be locked: current value is a locked ReadableStream",
    ),
  );
  reader.releaseLock();
});
