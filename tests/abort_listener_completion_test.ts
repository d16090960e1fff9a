// Issue 12, review defect 4: a user's abort listener that completes or
// settles its call synchronously, as the signal aborts, must be ignored:
// stats.inFlight stays at 0 (never negative), nothing is emitted, retry
// predicates never see the stream's stop reason, and no backoff outlives
// the stream. The same for the listener of an expired attempt: its
// completion is ignored and the attempt counts as failed.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AsyncIOTransformStream,
  type CallContext,
  type ResultFuture,
} from "../mod.ts";
import { settle } from "./_deferred.ts";
import { until, within } from "./_within.ts";

type Listener = "complete" | "completeExceptionally" | "resolve" | "reject";

/** A call that settles from its own abort listener, as `listener` says. */
function settlesOnAbort(listener: Listener) {
  const starts: number[] = [];
  const onAbort = (signal: AbortSignal, then: () => void) =>
    signal.addEventListener("abort", then, { once: true });
  if (listener === "complete" || listener === "completeExceptionally") {
    return {
      starts,
      fn: {
        asyncInvoke(n: number, result: ResultFuture<number>) {
          starts.push(n);
          onAbort(result.signal, () => {
            if (listener === "complete") result.complete([n]);
            else result.completeExceptionally(new Error("from the listener"));
          });
        },
      },
    };
  }
  return {
    starts,
    fn: (n: number, { signal }: CallContext) =>
      new Promise<number>((resolve, reject) => {
        starts.push(n);
        onAbort(
          signal,
          () => listener === "resolve" ? resolve(n) : reject(signal.reason),
        );
      }),
  };
}

const LISTENERS: Listener[] = [
  "complete",
  "completeExceptionally",
  "resolve",
  "reject",
];

for (const listener of LISTENERS) {
  for (const stop of ["reader.cancel()", "options.signal"] as const) {
    test(`AsyncIOTransformStream() ignores a call that settles from its abort listener (${listener}) on ${stop}`, async () => {
      const { fn, starts } = settlesOnAbort(listener);
      const seenByPredicate: unknown[] = [];
      const controller = new AbortController();
      const stream = new AsyncIOTransformStream<number, number>(
        fn as (n: number, context: CallContext) => Promise<number>,
        {
          order: "unordered",
          signal: controller.signal,
          // A short backoff: one that outlived the stream would start an
          // attempt within the test.
          retry: {
            maxAttempts: 3,
            delay: 20,
            retryOnError: (error) => (seenByPredicate.push(error), true),
          },
        },
      );
      const writer = stream.writable.getWriter();
      const reader = stream.readable.getReader();
      const read = reader.read();
      for (const n of [1, 2, 3]) void writer.write(n).catch(() => {});
      await until(() => starts.length === 3, "three calls");
      const reason = new Error(`stopped by ${stop}`);
      const stopped = stop === "reader.cancel()"
        ? reader.cancel(reason)
        : (controller.abort(reason), reader.closed);
      assert.equal(stream.stats.inFlight, 0, "stats.inFlight after the stop");
      await within(stopped, "the stop");
      assert.deepEqual(await within(read, "the pending read"), {
        ok: stop === "reader.cancel()",
        ...(stop === "reader.cancel()"
          ? { value: { done: true, value: undefined } }
          : { reason }),
      });
      await settle(80); // four backoffs' worth
      assert.equal(stream.stats.inFlight, 0, "stats.inFlight later");
      assert.equal(stream.stats.emitted, 0, "emitted after the stop");
      assert.equal(stream.stats.retries, 0, "retried after the stop");
      assert.deepEqual(starts, [1, 2, 3], "attempts after the stop");
      assert.deepEqual(seenByPredicate, [], "retryOnError saw the stop");
    });
  }
}

for (const listener of ["complete", "resolve"] as const) {
  test(`AsyncIOTransformStream() ignores completion (${listener}) from the abort listener of an expired attempt, which counts as failed`, async () => {
    const seenByPredicate: unknown[] = [];
    const retry = {
      maxAttempts: 2,
      retryOnError: (error: unknown) => (seenByPredicate.push(error), true),
    };
    const options = { order: "unordered" as const, attemptTimeout: 20, retry };
    const stream = listener === "complete"
      ? new AsyncIOTransformStream<number, number>({
        asyncInvoke(n, result) {
          if (result.attempt > 1) return result.complete([n * 10]);
          result.signal.addEventListener("abort", () => result.complete([-n]));
        },
      }, options)
      : new AsyncIOTransformStream<number, number>(
        (n, { signal, attempt }) =>
          attempt > 1 ? n * 10 : new Promise<number>((resolve) => {
            signal.addEventListener("abort", () => resolve(-n));
          }),
        options,
      );
    const output = await within(
      Array.fromAsync(ReadableStream.from([1, 2]).pipeThrough(stream)),
      "the output",
    );
    assert.equal(output.ok, true);
    if (output.ok) {
      assert.deepEqual((output.value as number[]).toSorted(), [10, 20]);
    }
    assert.equal(seenByPredicate.length, 2);
    for (const error of seenByPredicate) {
      assert.equal((error as DOMException).name, "TimeoutError");
    }
    assert.equal(stream.stats.inFlight, 0);
    assert.equal(stream.stats.retries, 2);
  });
}

test("AsyncIOTransformStream() fails with a TimeoutError when the only attempt expires, even if its abort listener completes it", async () => {
  const stream = new AsyncIOTransformStream<number, number>({
    asyncInvoke(n, result) {
      result.signal.addEventListener("abort", () => result.complete([n]));
    },
  }, { attemptTimeout: 20 });
  const output = await within(
    Array.fromAsync(ReadableStream.from([1]).pipeThrough(stream)),
    "the output",
  );
  assert.equal(output.ok, false, "the expired attempt's result was emitted");
  if (!output.ok) {
    assert.equal((output.reason as DOMException).name, "TimeoutError");
  }
  assert.equal(stream.stats.emitted, 0);
  assert.equal(stream.stats.inFlight, 0);
});
