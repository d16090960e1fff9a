// The rule of the guide, for every numeric option: a value that is not a
// number at all has the wrong shape (TypeError), a number out of range is a
// RangeError. Both keep the message "Cannot X as name must be …: current
// value is …".
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  aimd,
  type AsyncIOOptions,
  AsyncIOTransformStream,
  gradient2,
  mapAsync,
  vegas,
} from "../mod.ts";
import {
  redisPartition,
  redisStreamSink,
  redisStreamSource,
  redisWorker,
} from "../src/redis.ts";

const identity = (n: number) => n;
const batchIdentity = (ns: number[]) => ns;
/** Never called: every case throws before anything talks to Redis. */
const send = () => Promise.reject(new Error("no Redis here"));

interface Case {
  /** The option, as the message names it. */
  name: string;
  /** Builds with `value` in the option's place. */
  make(value: unknown): unknown;
  /** A number out of the option's range. */
  outOfRange: number;
  /** The message's start, up to the option's name. */
  prefix: string;
}

const STREAM = "Cannot construct AsyncIOTransformStream as";

function streamCase(
  name: string,
  options: (value: unknown) => Record<string, unknown>,
  outOfRange: number,
): Case {
  return {
    name,
    outOfRange,
    prefix: STREAM,
    make: (value) =>
      "batch" in options(value)
        ? new AsyncIOTransformStream(
          batchIdentity,
          options(value) as never,
        )
        : new AsyncIOTransformStream(
          identity,
          options(value) as AsyncIOOptions<number, number>,
        ),
  };
}

const retry = (field: string) => (value: unknown) => ({
  retry: { maxAttempts: 2, [field]: value },
});

const cases: Case[] = [
  streamCase("capacity", (capacity) => ({ capacity }), 0),
  streamCase("concurrency", (concurrency) => ({ concurrency }), 0),
  streamCase("timeout", (timeout) => ({ timeout }), -1),
  streamCase("attemptTimeout", (attemptTimeout) => ({ attemptTimeout }), -1),
  streamCase("retry.maxAttempts", (maxAttempts) => ({
    retry: { maxAttempts },
  }), 0),
  streamCase("retry.delay", retry("delay"), -1),
  streamCase("retry.multiplier", retry("multiplier"), 0.5),
  streamCase("retry.maxDelay", retry("maxDelay"), -1),
  streamCase("retry.jitter", retry("jitter"), 2),
  streamCase("rateLimit.limit", (limit) => ({
    rateLimit: { limit, interval: 10 },
  }), 0),
  streamCase("rateLimit.interval", (interval) => ({
    rateLimit: { limit: 1, interval },
  }), 0),
  streamCase("batch.maxSize", (maxSize) => ({
    batch: { maxSize, maxWait: 1 },
  }), 0),
  streamCase("batch.maxWait", (maxWait) => ({
    batch: { maxSize: 2, maxWait },
  }), -1),
  {
    name: "capacity",
    outOfRange: 0,
    prefix: "Cannot call mapAsync as",
    make: (capacity) => mapAsync([1], identity, { capacity } as never),
  },
  {
    name: "it",
    outOfRange: 0,
    prefix: "Cannot set the concurrency as",
    make: (value) =>
      new AsyncIOTransformStream(identity).setConcurrency(value as number),
  },
  ...[aimd, vegas, gradient2].map((make): Case => ({
    name: "max",
    outOfRange: 0,
    prefix: `Cannot create the ${make.name} limit as`,
    make: (max) => make({ max } as never),
  })),
  {
    name: "backoffRatio",
    outOfRange: 1,
    prefix: "Cannot create the aimd limit as",
    make: (backoffRatio) => aimd({ backoffRatio } as never),
  },
  {
    name: "count",
    outOfRange: 0,
    prefix: "Cannot construct redisStreamSource as",
    make: (count) =>
      redisStreamSource(
        { send, stream: "s", group: "g", consumer: "c", count } as never,
      ),
  },
  {
    name: "blockMs",
    outOfRange: -1,
    prefix: "Cannot construct redisStreamSource as",
    make: (blockMs) =>
      redisStreamSource(
        { send, stream: "s", group: "g", consumer: "c", blockMs } as never,
      ),
  },
  {
    name: "batchSize",
    outOfRange: 0,
    prefix: "Cannot construct redisStreamSink as",
    make: (batchSize) =>
      redisStreamSink({ send, group: "g", output: "o", batchSize } as never),
  },
  ...["capacity", "timeout", "partitions", "leaseMs", "pollMs", "claimIdleMs"]
    .map((name): Case => ({
      name,
      outOfRange: -1,
      prefix: "Cannot construct redisWorker as",
      make: (value) =>
        redisWorker({
          send,
          input: "in",
          output: "out",
          group: "g",
          consumer: "c",
          fn: () => ({ a: "1" }),
          [name]: value,
        } as never),
    })),
  {
    name: "partitions",
    outOfRange: 0,
    prefix: "Cannot choose a partition as",
    make: (partitions) => redisPartition("in", "key", partitions as number),
  },
];

for (const { name, make, outOfRange, prefix } of cases) {
  test(`${prefix} ${name} …: a TypeError for a string or null, a RangeError for ${outOfRange}`, () => {
    for (const value of ["5", null, true, 5n]) {
      assert.throws(() => make(value), (error: unknown) => {
        assert.ok(error instanceof TypeError, `${String(value)}: ${error}`);
        assert.ok(
          error.message.startsWith(`${prefix} ${name} must be`),
          error.message,
        );
        return true;
      });
    }
    assert.throws(() => make(outOfRange), (error: unknown) => {
      assert.ok(error instanceof RangeError, `${outOfRange}: ${error}`);
      assert.ok(
        error.message.startsWith(`${prefix} ${name} must be`),
        error.message,
      );
      assert.ok(error.message.endsWith(`: current value is ${outOfRange}`));
      return true;
    });
  });
}
