// An audit of the README's promises for mapAsync's sources: "Nothing runs
// until the first next()", and bad arguments throw at call time with
// "Cannot call mapAsync as".
import { test } from "node:test";
import assert from "node:assert/strict";
import { aimd, type ConcurrencyLimit, mapAsync } from "../mod.ts";

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

test("mapAsync() whose limit's bind throws closes the async iterable's iterator it opened", () => {
  let opened = 0;
  let returned = 0;
  const source = {
    [Symbol.asyncIterator](): AsyncIterator<number> {
      opened++;
      return {
        next: () => Promise.resolve({ done: true, value: undefined }),
        return: () => {
          returned++;
          return Promise.resolve({ done: true, value: undefined });
        },
      };
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
  assert.deepEqual({ opened, returned }, { opened: 1, returned: 1 });
});

test("mapAsync() checks its source before any of a concurrencyLimit's code runs", () => {
  const bound: number[] = [];
  const limit: ConcurrencyLimit = {
    limit: 2,
    update() {},
    bind: (capacity) => void bound.push(capacity),
  };
  const locked = new ReadableStream<number>();
  const reader = locked.getReader();
  const broken = new Error("no iterator today");
  const sources: [unknown, RegExp | Error][] = [
    [locked, /source must not be locked/],
    [42, /source must be an AsyncIterable, an Iterable or a ReadableStream/],
    [{
      [Symbol.iterator]: () => {
        throw broken;
      },
    }, broken],
    [{
      [Symbol.asyncIterator]: () => {
        throw broken;
      },
    }, broken],
  ];
  for (const [source, expected] of sources) {
    assert.throws(
      () =>
        mapAsync(source as Iterable<number>, (n: number) => n, {
          concurrency: limit,
        }),
      (error: unknown) =>
        expected instanceof Error
          ? error === expected
          : error instanceof TypeError && expected.test(error.message),
    );
  }
  assert.deepEqual(bound, []);
  reader.releaseLock();
  // The same limit binds once the source is good.
  mapAsync([1], (n: number) => n, { concurrency: limit });
  assert.deepEqual(bound, [100]);
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
