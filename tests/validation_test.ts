import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AsyncIOOptions,
  AsyncIOTransformStream,
  mapAsync,
} from "../mod.ts";
import { redisWorker } from "../src/redis.ts";

const identity = (n: number) => n;
const prefix = "Cannot construct AsyncIOTransformStream as";

interface Case {
  options?: unknown;
  fn?: unknown;
  error: typeof RangeError | typeof TypeError;
  message: string;
}

const cases: Case[] = [
  {
    options: { capacity: 0 },
    error: RangeError,
    message: "capacity must be a positive integer: current value is 0",
  },
  {
    options: { capacity: -3 },
    error: RangeError,
    message: "capacity must be a positive integer: current value is -3",
  },
  {
    options: { capacity: 1.5 },
    error: RangeError,
    message: "capacity must be a positive integer: current value is 1.5",
  },
  {
    options: { capacity: NaN },
    error: RangeError,
    message: "capacity must be a positive integer: current value is NaN",
  },
  {
    options: { capacity: "10" },
    error: TypeError, // not a number at all: a wrong shape
    message: 'capacity must be a positive integer: current value is "10"',
  },
  {
    options: { timeout: -1 },
    error: RangeError,
    message: "timeout must be a non-negative number: current value is -1",
  },
  {
    options: { timeout: NaN },
    error: RangeError,
    message: "timeout must be a non-negative number: current value is NaN",
  },
  {
    options: { attemptTimeout: -5 },
    error: RangeError,
    message:
      "attemptTimeout must be a non-negative number: current value is -5",
  },
  {
    options: { order: "sorted" },
    error: TypeError,
    message:
      'order must be "ordered", "unordered" or "key-ordered": current value is "sorted"',
  },
  {
    fn: 42,
    error: TypeError,
    message:
      "fn must be a function or an object with an asyncInvoke method: current value is 42",
  },
  {
    fn: { invoke() {} },
    error: TypeError,
    message:
      "fn must be a function or an object with an asyncInvoke method: current value is an object",
  },
  {
    fn: null,
    error: TypeError,
    message:
      "fn must be a function or an object with an asyncInvoke method: current value is null",
  },
  {
    options: "fast",
    error: TypeError,
    message: 'options must be an object: current value is "fast"',
  },
  {
    options: { order: "key-ordered" },
    error: TypeError,
    message:
      'key must be a function when order is "key-ordered": current value is undefined',
  },
  {
    options: { key: "id" },
    error: TypeError,
    message: 'key must be a function: current value is "id"',
  },
  {
    options: { onTimeout: true },
    error: TypeError,
    message: "onTimeout must be a function: current value is true",
  },
  {
    // It would never run: only the total timeout calls it.
    options: { onTimeout() {}, attemptTimeout: 100 },
    error: TypeError,
    message:
      "onTimeout must be undefined when there is no timeout: current value is a function",
  },
  {
    fn: { asyncInvoke() {}, timeout() {} },
    options: { onTimeout() {} },
    error: TypeError,
    message:
      "onTimeout must be undefined when fn has its own timeout method: current value is a function",
  },
  {
    options: { signal: "stop" },
    error: TypeError,
    message: 'signal must be an AbortSignal: current value is "stop"',
  },
  {
    options: { onCheckpoint: 1 },
    error: TypeError,
    message: "onCheckpoint must be a function: current value is 1",
  },
  {
    options: { retry: 3 },
    error: TypeError,
    message: "retry must be an object: current value is 3",
  },
  {
    options: { retry: { maxAttempts: 0 } },
    error: RangeError,
    message: "retry.maxAttempts must be a positive integer: current value is 0",
  },
  {
    options: { retry: { maxAttempts: 3, delay: -10 } },
    error: RangeError,
    message: "retry.delay must be a non-negative number: current value is -10",
  },
  {
    options: { retry: { maxAttempts: 3, multiplier: 0.5 } },
    error: RangeError,
    message:
      "retry.multiplier must be a finite number of at least 1: current value is 0.5",
  },
  {
    options: { retry: { maxAttempts: 3, maxDelay: NaN } },
    error: RangeError,
    message:
      "retry.maxDelay must be a non-negative number: current value is NaN",
  },
  {
    options: { retry: { maxAttempts: 3, jitter: 1.5 } },
    error: RangeError,
    message: "retry.jitter must be a number from 0 to 1: current value is 1.5",
  },
  {
    options: { retry: { maxAttempts: 3, retryOnError: "always" } },
    error: TypeError,
    message: 'retry.retryOnError must be a function: current value is "always"',
  },
  {
    options: { retry: { maxAttempts: 3, retryOnResult: {} } },
    error: TypeError,
    message:
      "retry.retryOnResult must be a function: current value is an object",
  },
  {
    options: { rateLimit: 10 },
    error: TypeError,
    message: "rateLimit must be an object: current value is 10",
  },
  {
    options: { rateLimit: { limit: 0, interval: 1000 } },
    error: RangeError,
    message: "rateLimit.limit must be a positive integer: current value is 0",
  },
  {
    options: { rateLimit: { limit: 5, interval: 0 } },
    error: RangeError,
    message:
      "rateLimit.interval must be a positive finite number: current value is 0",
  },
  {
    options: { writableStrategy: { highWaterMark: -1 } },
    error: RangeError,
    message:
      "writableStrategy.highWaterMark must be a non-negative number: current value is -1",
  },
  {
    options: { readableStrategy: { highWaterMark: NaN } },
    error: RangeError,
    message:
      "readableStrategy.highWaterMark must be a non-negative number: current value is NaN",
  },
  {
    options: { writableStrategy: { highWaterMark: "2" } },
    error: TypeError,
    message:
      'writableStrategy.highWaterMark must be a non-negative number: current value is "2"',
  },
  {
    options: { readableStrategy: { size: 1 } },
    error: TypeError,
    message: "readableStrategy.size must be a function: current value is 1",
  },
  {
    options: { writableStrategy: 5 },
    error: TypeError,
    message: "writableStrategy must be an object: current value is 5",
  },
];

for (const { fn = identity, options, error, message } of cases) {
  test(`AsyncIOTransformStream() throws ${error.name}: ${message}`, () => {
    assert.throws(
      () =>
        new AsyncIOTransformStream(
          fn as typeof identity,
          options as AsyncIOOptions<number, number>,
        ),
      (thrown) => {
        assert.ok(thrown instanceof error, `got ${thrown}`);
        assert.equal((thrown as Error).message, `${prefix} ${message}`);
        return true;
      },
    );
  });
}

test("AsyncIOTransformStream() accepts the documented defaults and edge values", () => {
  new AsyncIOTransformStream(identity);
  new AsyncIOTransformStream(identity, {});
  new AsyncIOTransformStream(identity, {
    capacity: 1,
    timeout: 0,
    attemptTimeout: Infinity,
    retry: { maxAttempts: 1, jitter: 1, multiplier: 1, maxDelay: 0 },
    rateLimit: { limit: 1, interval: 0.5 },
  });
  // As for the platform: null is no strategy, and a high-water mark may be 0
  // or Infinity.
  new AsyncIOTransformStream(
    identity,
    {
      writableStrategy: null,
      readableStrategy: { highWaterMark: Infinity },
    } as unknown as AsyncIOOptions<number, number>,
  );
  new AsyncIOTransformStream(identity, {
    writableStrategy: { highWaterMark: 0 },
  });
});

test("AsyncIOTransformStream(), mapAsync() and redisWorker() refuse a revoked Proxy as options.signal with a TypeError of their own", () => {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  const signal = proxy as AbortSignal;
  const refused = (where: string) =>
    new TypeError(
      `Cannot ${where} as signal must be an AbortSignal: current value is a revoked Proxy`,
    );
  assert.throws(
    () => new AsyncIOTransformStream(identity, { signal }),
    refused("construct AsyncIOTransformStream"),
  );
  assert.throws(
    () => mapAsync([1], identity, { signal }),
    refused("call mapAsync"),
  );
  const send = () => new Promise<never>(() => {}); // never called
  assert.throws(
    () =>
      redisWorker({
        send,
        input: "in",
        output: "out",
        group: "g",
        consumer: "c",
        fn: () => ({ a: "1" }),
        signal,
      }),
    refused("construct redisWorker"),
  );
});
