// An adversarial review of the single-call ("plain") path: each scenario runs
// on it and on the general path, forced by `retry: { maxAttempts: 1 }`, which
// otherwise behaves the same. The two must decide every race alike.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncIOTransformStream, type ResultFuture } from "../mod.ts";
import { collect, controlledFn, settle } from "./_deferred.ts";
import { until, within } from "./_within.ts";

const paths = [
  ["the single-call path", {}],
  ["the attempt path", { retry: { maxAttempts: 1 } }],
] as const;

/**
 * A native promise whose own `then` fulfils and then rejects at once, as a
 * replaced or subclassed `then` may: only its first callback may count.
 */
function fulfilsThenRejects<T>(value: T): Promise<T> {
  const promise = Promise.resolve(value);
  Object.defineProperty(promise, "then", {
    value(
      onFulfilled: (value: T) => void,
      onRejected: (error: unknown) => void,
    ) {
      onFulfilled(value);
      onRejected(new Error("a second callback"));
    },
  });
  return promise;
}

for (const [path, forced] of paths) {
  test(`AsyncIOTransformStream() keeps the first completion of a promise whose then() fulfils and then rejects (${path})`, async () => {
    const stream = new AsyncIOTransformStream<number, number>(
      (n) => fulfilsThenRejects(n * 10),
      forced,
    );
    const output = await within(
      Array.fromAsync(ReadableStream.from([1, 2]).pipeThrough(stream)),
      "the output",
    );
    assert.deepEqual(output, { ok: true, value: [10, 20] });
    assert.equal(stream.stats.failedAttempts, 0);
    assert.equal(stream.stats.failed, 0);
    assert.equal(stream.stats.emitted, 2);
  });

  test(`AsyncIOTransformStream() aborts no signal of a call that rejected, when the stream fails with its error (${path})`, async () => {
    const { fn, calls, callsReach } = controlledFn<number, number>();
    let listenerRan = false;
    const stream = new AsyncIOTransformStream<number, number>((n, context) => {
      context.signal.addEventListener("abort", () => listenerRan = true);
      return fn(n, context);
    }, forced);
    const writer = stream.writable.getWriter();
    const output = collect(stream.readable);
    void writer.write(1).catch(() => {});
    await callsReach(1);
    const error = new Error("failed");
    calls[0]!.reject(error);
    await assert.rejects(output.done, (reason) => reason === error);
    await settle();
    // The call is over: its cleanup must not run as if it were stopped.
    assert.equal(calls[0]!.context.signal.aborted, false);
    assert.equal(listenerRan, false);
    assert.equal(stream.stats.failed, 1);
    assert.equal(stream.stats.failedAttempts, 1);
    assert.equal(stream.stats.inFlight, 0);
  });

  test(`AsyncIOTransformStream() fails with the error of a call whose own abort listener would cancel the stream (${path})`, async () => {
    const { fn, calls, callsReach } = controlledFn<number, number>();
    const stream = new AsyncIOTransformStream<number, number>(
      (n, context) => {
        // Cleanup that gives up on the stream once its call is stopped.
        context.signal.addEventListener(
          "abort",
          () => void reader.cancel("cleanup").catch(() => {}),
        );
        return fn(n, context);
      },
      forced,
    );
    const reader = stream.readable.getReader();
    const read = reader.read();
    const writer = stream.writable.getWriter();
    void writer.write(1).catch(() => {});
    await callsReach(1);
    const error = new Error("failed");
    calls[0]!.reject(error);
    await assert.rejects(read, (reason) => reason === error);
  });

  test(`AsyncIOTransformStream() aborts on a total timeout only the calls whose deadlines were stamped with it (${path})`, async () => {
    const { fn, calls, callsReach } = controlledFn<number, number>();
    const stream = new AsyncIOTransformStream<number, number>(fn, {
      ...forced,
      timeout: 200,
      capacity: 4,
      onTimeout: (n, result) => result.complete([-n]),
    });
    const writer = stream.writable.getWriter();
    const output = collect(stream.readable);
    void writer.write(1);
    await callsReach(1);
    await settle(100); // past the stamp's slack: 2 gets a later deadline
    void writer.write(2);
    await callsReach(2);
    await until(() => stream.stats.timedOut === 1, "the first timeout");
    assert.equal(calls[0]!.context.signal.aborted, true);
    assert.equal(calls[1]!.context.signal.aborted, false);
    calls[1]!.resolve(20);
    calls[0]!.resolve(10); // too late
    await writer.close();
    await output.done;
    assert.deepEqual(output.chunks, [-1, 20]);
    assert.equal(stream.stats.timedOut, 1);
    assert.equal(stream.stats.inFlight, 0);
  });

  test(`AsyncIOTransformStream() counts a timed-out input once when its late call rejects while onError recovers it (${path})`, async () => {
    const { fn, calls, callsReach } = controlledFn<number, number>();
    const seen: unknown[] = [];
    const stream = new AsyncIOTransformStream<number, number>(fn, {
      ...forced,
      timeout: 20,
      onError: (error, n) => (seen.push((error as Error).name), [-n]),
    });
    const writer = stream.writable.getWriter();
    const output = collect(stream.readable);
    await writer.write(1);
    await callsReach(1);
    await until(() => stream.stats.timedOut === 1, "the timeout");
    calls[0]!.reject(new Error("late"));
    await settle();
    await writer.close();
    await output.done;
    assert.deepEqual(output.chunks, [-1]);
    assert.deepEqual(seen, ["TimeoutError"]);
    const { failed, failedAttempts, inFlight, emitted } = stream.stats;
    assert.deepEqual(
      { failed, failedAttempts, inFlight, emitted },
      { failed: 1, failedAttempts: 0, inFlight: 0, emitted: 1 },
    );
  });

  test(`AsyncIOTransformStream() stops cleanly when an abort listener cancels between the two phases of a shared timeout (${path})`, async () => {
    const futures: ResultFuture<number>[] = [];
    const stream = new AsyncIOTransformStream<number, number>(
      (n, { signal }) =>
        new Promise<number>((resolve) => {
          // The first expiry cancels; the second input is then between
          // prepareExpiry and expire, and its late result must be dropped.
          signal.addEventListener("abort", () => {
            void reader.cancel("from a listener").catch(() => {});
            resolve(n * 10);
          });
        }),
      {
        ...forced,
        timeout: 20,
        capacity: 4,
        onTimeout: (_n, result) => void futures.push(result),
      },
    );
    const reader = stream.readable.getReader();
    const writer = stream.writable.getWriter();
    void writer.write(1).catch(() => {});
    void writer.write(2).catch(() => {});
    await until(() => stream.stats.timedOut > 0, "the timeouts");
    await settle(10);
    assert.equal(await reader.closed.then(() => "closed"), "closed");
    assert.deepEqual(futures, [], "onTimeout ran after the cancel");
    const { timedOut, inFlight, emitted, failed } = stream.stats;
    assert.equal(inFlight, 0);
    assert.equal(emitted, 0);
    assert.equal(failed, 0);
    assert.equal(timedOut, 2, "both were due together");
    assert.deepEqual(
      stream.snapshot().entries.map((e) => e.kind === "record" && e.input),
      [1, 2],
    );
  });
}
