import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncIOTransformStream } from "../mod.ts";
import { controlledFn, settle } from "./_deferred.ts";

test("AsyncIOTransformStream() errors both sides with the failed element's error, unchanged", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn);
  const reader = stream.readable.getReader();
  const writer = stream.writable.getWriter();
  const reading = reader.read();
  await writer.write(1);
  await writer.write(2);
  await callsReach(2);
  const error = new Error("lookup failed");
  calls[1]!.reject(error);
  await assert.rejects(reading, (reason) => reason === error);
  await assert.rejects(writer.write(3), (reason) => reason === error);
  await assert.rejects(writer.closed, (reason) => reason === error);
});

test("AsyncIOTransformStream() aborts every other in-flight signal on failure and calls nothing more", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, { order: "unordered" });
  const reader = stream.readable.getReader();
  const writer = stream.writable.getWriter();
  void reader.read().catch(() => {});
  for (const n of [1, 2, 3]) await writer.write(n);
  await callsReach(3);
  const error = new Error("second failed");
  calls[1]!.reject(error);
  await assert.rejects(writer.closed, (reason) => reason === error);
  for (const call of [calls[0]!, calls[2]!]) {
    assert.equal(call.context.signal.aborted, true);
    assert.equal(call.context.signal.reason, error);
  }
  await writer.write(4).catch(() => {});
  await settle();
  assert.equal(calls.length, 3, "no call after the failure");
  assert.equal(stream.stats.inFlight, 0);
});

test("AsyncIOTransformStream() leaves the signal of a successful call unaborted", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn);
  const output = Array.fromAsync(
    ReadableStream.from([1]).pipeThrough(stream),
  );
  await callsReach(1);
  calls[0]!.resolve(1);
  assert.deepEqual(await output, [1]);
  assert.equal(calls[0]!.context.signal.aborted, false);
});

test("AsyncIOTransformStream() calls no waiting input after a failure or a timeout", async () => {
  for (const end of ["failure", "timeout"] as const) {
    const { fn, calls, callsReach } = controlledFn<string, string>();
    const stream = new AsyncIOTransformStream(fn, {
      capacity: 3,
      concurrency: 1, // B and C wait for A's slot
      ...(end === "timeout" ? { timeout: 20 } : {}),
    });
    const output = Array.fromAsync(
      ReadableStream.from(["A", "B", "C"]).pipeThrough(stream),
    );
    await callsReach(1);
    if (end === "failure") calls[0]!.reject(new Error("A failed"));
    await assert.rejects(output);
    await settle();
    assert.deepEqual(calls.map((call) => call.input), ["A"], end);
    assert.equal(stream.stats.inFlight, 0, end);
  }
});

test("AsyncIOTransformStream() runs no timeout handler when a call's abort listener ends the stream", async () => {
  const controller = new AbortController();
  let handled = 0;
  const stream = new AsyncIOTransformStream(
    (_: number, { signal }) =>
      new Promise<number>(() => {
        signal.addEventListener("abort", () => controller.abort("stopped"));
      }),
    {
      timeout: 20,
      signal: controller.signal,
      onTimeout: (n, result) => {
        handled++;
        result.complete([-n]);
      },
    },
  );
  await assert.rejects(
    Array.fromAsync(ReadableStream.from([1]).pipeThrough(stream)),
    (reason) => reason === "stopped",
  );
  assert.equal(handled, 0);
  assert.equal(stream.stats.inFlight, 0);
  assert.deepEqual(stream.snapshot().entries, [{ kind: "record", input: 1 }]);
});
