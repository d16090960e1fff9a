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
