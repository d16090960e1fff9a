import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncIOTransformStream, type CallContext } from "../mod.ts";
import { withClock } from "./_clock.ts";

const hangUnlessAttempt = (succeedingAttempt: number) =>
(
  n: number,
  { attempt, signal }: CallContext,
): Promise<number> =>
  attempt === succeedingAttempt
    ? Promise.resolve(n * 10)
    : new Promise((_, reject) =>
      signal.addEventListener("abort", () => reject(signal.reason))
    );

test("AsyncIOTransformStream() aborts an attempt that outlives attemptTimeout and retries it", async () => {
  const stream = new AsyncIOTransformStream(hangUnlessAttempt(2), {
    attemptTimeout: 10,
    retry: { maxAttempts: 2 },
  });
  const output = await Array.fromAsync(
    ReadableStream.from([1, 2]).pipeThrough(stream),
  );
  assert.deepEqual(output, [10, 20]);
  assert.equal(stream.stats.failedAttempts, 2);
  assert.equal(stream.stats.retries, 2);
  assert.equal(stream.stats.timedOut, 0, "the total budget did not run out");
});

test("AsyncIOTransformStream() fails with the attempt's TimeoutError when no retry is left", async () => {
  const signals: AbortSignal[] = [];
  const stream = new AsyncIOTransformStream(
    (n: number, context: CallContext) => {
      signals.push(context.signal);
      return hangUnlessAttempt(0)(n, context);
    },
    { attemptTimeout: 10 },
  );
  await assert.rejects(
    Array.fromAsync(ReadableStream.from([1]).pipeThrough(stream)),
    (reason) =>
      reason instanceof DOMException && reason.name === "TimeoutError" &&
      reason.message === "The attempt timed out after 10 ms",
  );
  assert.equal(signals[0]!.aborted, true);
});

test("AsyncIOTransformStream() keeps timeout as the total budget over attempts", async () => {
  let calls = 0;
  const stream = new AsyncIOTransformStream(
    (n: number, context: CallContext) => {
      calls++;
      return hangUnlessAttempt(0)(n, context);
    },
    {
      attemptTimeout: 10,
      timeout: 1_000,
      retry: { maxAttempts: 100 },
      onTimeout: (n, result) => result.complete([-n]),
    },
  );
  const output = await Array.fromAsync(
    ReadableStream.from([1]).pipeThrough(stream),
  );
  assert.deepEqual(output, [-1]);
  // Each attempt lasts at least 10 ms, so 1 s holds at most 101 of them; a
  // long budget keeps a stalled machine from timing out the first attempt.
  assert.ok(calls >= 2 && calls <= 101, `${calls} calls of 10 ms in 1 s`);
});

for (const batched of [false, true]) {
  test(
    `AsyncIOTransformStream() starts no retry once the input's total timeout has run out, even before its timer fires${
      batched ? ", batched" : ""
    }`,
    async () => {
      let ahead = 0;
      await withClock((realNow) => realNow() + ahead, async () => {
        const attempts: number[] = [];
        const fail = async (attempt: number) => {
          attempts.push(attempt);
          // Past the deadline's stamp (a timer set before this one), the budget
          // runs out as the attempt fails: its retry, due at once, finds it
          // spent before the deadline's own timer has fired.
          await new Promise((resolve) => setTimeout(resolve, 30));
          ahead = 10_000;
          throw new Error(`attempt ${attempt}`);
        };
        const options = {
          timeout: 200,
          retry: { maxAttempts: 5, delay: 0 },
          onError: "settle" as const,
        };
        const stream = batched
          ? new AsyncIOTransformStream<number, number, never, "settle">(
            (_: number[], { attempt }: CallContext) => fail(attempt),
            { ...options, batch: { maxSize: 1, maxWait: 0 } },
          )
          : new AsyncIOTransformStream<number, number, never, "settle">(
            (_: number, { attempt }: CallContext) => fail(attempt),
            options,
          );
        const output = await Array.fromAsync(
          ReadableStream.from([1]).pipeThrough(stream),
        );
        assert.deepEqual(attempts, [1]);
        assert.equal(output.length, 1);
        assert.equal(output[0]!.status, "rejected");
        const reason = (output[0] as { reason: unknown }).reason;
        assert.equal((reason as DOMException).name, "TimeoutError");
        assert.equal(stream.stats.timedOut, 1);
        assert.equal(stream.stats.retries, 0);
      });
    },
  );
}
