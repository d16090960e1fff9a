// The function form with no retry, attempt timeout, adaptive limit or batch
// runs each input's one call without an attempt object. These pin what that
// path must still decide exactly as the general one (see also
// single_call_review_test.ts, which runs each case on both paths).
import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncIOTransformStream, mapAsync } from "../mod.ts";
import { collect, controlledFn, settle } from "./_deferred.ts";

test("a call that resolves after its input timed out is dropped: the input settles once, as rejected", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    timeout: 20,
    onError: "settle",
  });
  const writer = stream.writable.getWriter();
  const output = collect(stream.readable);
  await writer.write(1);
  await callsReach(1);
  while (stream.stats.timedOut === 0) await settle(5);
  calls[0]!.resolve(10); // too late
  await writer.close();
  await output.done;
  assert.equal(output.chunks.length, 1);
  const [record] = output.chunks as unknown as {
    status: string;
    reason: DOMException;
  }[];
  assert.equal(record!.status, "rejected");
  assert.equal(record!.reason.name, "TimeoutError");
  assert.equal(stream.stats.failed, 1);
  assert.equal(stream.stats.inFlight, 0);
});

test("a rejection that arrives after a cancel changes no counter", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, { capacity: 4 });
  const writer = stream.writable.getWriter();
  void writer.write(1);
  void writer.write(2);
  await callsReach(2);
  await stream.readable.cancel("enough");
  assert.equal(stream.stats.inFlight, 0);
  calls[0]!.reject(new Error("late"));
  calls[1]!.resolve(20);
  await settle();
  assert.equal(stream.stats.failedAttempts, 0);
  assert.equal(stream.stats.failed, 0);
  assert.equal(stream.stats.emitted, 0);
  assert.ok(calls.every((call) => call.context.signal.aborted));
});

test("two calls that reject fail the stream once, with the first error, and count one failed input", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, { capacity: 4 });
  const writer = stream.writable.getWriter();
  const output = collect(stream.readable);
  void writer.write(1).catch(() => {});
  void writer.write(2).catch(() => {});
  await callsReach(2);
  const first = new Error("first");
  calls[1]!.reject(first);
  calls[0]!.reject(new Error("second"));
  await assert.rejects(output.done, (error) => error === first);
  await settle();
  assert.equal(stream.stats.failedAttempts, 1);
  assert.equal(stream.stats.failed, 1);
  assert.equal(stream.stats.inFlight, 0);
  // Both inputs are still accounted for.
  assert.deepEqual(
    stream.snapshot().entries.map((entry) =>
      entry.kind === "record" ? entry.input : undefined
    ),
    [1, 2],
  );
});

test("mapAsync: a call that fails after a break is ignored, and every signal is aborted", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const mapped = mapAsync([1, 2, 3], fn, { capacity: 3 });
  const first = mapped.next();
  await callsReach(3);
  calls[0]!.resolve(10);
  assert.deepEqual(await first, { done: false, value: 10 });
  await mapped.return();
  calls[1]!.reject(new Error("late"));
  calls[2]!.resolve(30);
  await settle();
  assert.equal(mapped.stats.failed, 0);
  assert.equal(mapped.stats.emitted, 1);
  assert.ok(calls.every((call) => call.context.signal.aborted));
  assert.deepEqual(await mapped.next(), { done: true, value: undefined });
});
