// Promises the README makes that the code breaks today. Each test is skipped
// with the reason it fails; the lead fixes the code, then drops the skip.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncIOTransformStream } from "../mod.ts";
import { redisWorker } from "../src/redis.ts";

// README, "Bad input": "Options are checked when redisWorker() is called, its
// stream's included, and a bad one throws there, naming redisWorker, before
// any command is sent." Fails: an option of the other reading mode is never
// checked. Without `partitions`, `leaseMs` and `pollMs` go unread; with it,
// `blockMs`, `claimIdleMs` and `claimIntervalMs` do (src/_redis_worker.ts
// passes each only to its own reader), and the worker starts sending.
test.skip("redisWorker() rejects a bad option of either reading mode before it sends any command", () => {
  const sent: string[][] = [];
  const good = {
    send: (args: string[]) => {
      sent.push(args);
      return new Promise<never>(() => {});
    },
    input: "in",
    output: "out",
    group: "g",
    consumer: "c",
    fn: (entry: unknown) => entry,
  };
  const cases: [Record<string, unknown>, string][] = [
    [{ leaseMs: -1 }, "leaseMs"],
    [{ pollMs: -1 }, "pollMs"],
    [{ partitions: 2, blockMs: -1 }, "blockMs"],
    [{ partitions: 2, claimIdleMs: -1 }, "claimIdleMs"],
    [{ partitions: 2, claimIntervalMs: "often" }, "claimIntervalMs"],
  ];
  for (const [bad, name] of cases) {
    let worker: ReturnType<typeof redisWorker> | undefined;
    try {
      assert.throws(
        () => worker = redisWorker({ ...good, ...bad } as never),
        (error: Error) =>
          error instanceof RangeError &&
          error.message.startsWith(`Cannot construct redisWorker as ${name}`),
        JSON.stringify(bad),
      );
    } finally {
      void worker?.stop();
    }
  }
  assert.deepEqual(sent, []);
});

// README, "Decisions where Flink and the issues are silent": "A `retryOnError`
// or `retryOnResult` that throws fails the stream with that error", and
// "Errors thrown by the stream's own configuration callbacks (`retryOnError`,
// `retryOnResult`, `key`, `onCheckpoint`, an `onError` handler) fail the
// stream: they are bugs, not failed inputs." Fails: a throwing predicate
// fails only its input (src/_element.ts, "A throwing retry predicate fails
// the element with its error"), which then meets `onError`: "settle" emits it
// as a rejected record and a handler recovers it, so the stream goes on.
// Under the default `onError: "fail"` the two agree, which is all that
// tests/retry_test.ts pins.
test.skip("AsyncIOTransformStream() fails the stream when a retry predicate throws, whatever onError says", async () => {
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
