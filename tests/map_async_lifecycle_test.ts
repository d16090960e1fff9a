// mapAsync(): how an iteration ends early (return, break, throw, a failed
// call, a throwing source, options.signal) and what each stops.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mapAsync } from "../mod.ts";
import { controlledFn, settle } from "./_deferred.ts";
import { asyncSource, syncSource } from "./_sources.ts";

test("mapAsync() return() before the first next() returns the source and runs neither open() nor close()", async () => {
  const { iterator, log } = syncSource([1, 2]);
  const counts = { open: 0, close: 0 };
  const mapped = mapAsync(iterator, {
    open: () => void counts.open++,
    asyncInvoke: (n: number, result) => result.complete([n]),
    close: () => void counts.close++,
  });
  assert.deepEqual(await mapped.return(), { done: true, value: undefined });
  assert.equal(log.returns, 1);
  assert.equal(log.reads, 0);
  assert.deepEqual(await mapped.next(), { done: true, value: undefined });
  await settle();
  assert.deepEqual(counts, { open: 0, close: 0 });
});

test("mapAsync() break aborts every running call at once and returns the source", async () => {
  const { iterator, log } = syncSource([1, 2, 3, 4, 5, 6]);
  const signals: AbortSignal[] = [];
  let seen = 0;
  for await (
    const _ of mapAsync(iterator, (n: number, { signal }) => {
      if (n === 1) return n;
      signals.push(signal);
      return new Promise<number>(() => {});
    }, { capacity: 4, timeout: 60_000 })
  ) {
    seen++;
    assert.ok(signals.length >= 3, "the other calls run");
    assert.ok(signals.every((signal) => !signal.aborted));
    break;
  }
  assert.equal(seen, 1);
  assert.ok(signals.every((signal) => signal.aborted));
  const reason = signals[0]!.reason as DOMException;
  assert.equal(reason.name, "AbortError");
  assert.ok(signals.every((signal) => signal.reason === reason));
  assert.equal(log.returns, 1);
  assert.equal(log.returnReason, reason);
});

test("mapAsync() return() while next() is pending ends that next() and aborts the calls", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const mapped = mapAsync([1, 2], fn);
  const pending = mapped.next();
  await callsReach(2);
  const returned = mapped.return("ignored value");
  assert.ok(calls.every((call) => call.context.signal.aborted));
  assert.deepEqual(await pending, { done: true, value: undefined });
  assert.deepEqual(await returned, { done: true, value: "ignored value" });
  assert.deepEqual(await mapped.next(), { done: true, value: undefined });
  assert.equal(mapped.stats.inFlight, 0);
});

test("mapAsync() throw() aborts every call with its error and rejects with it", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const { iterator, log } = asyncSource([1, 2, 3], { end: false });
  const mapped = mapAsync(iterator, fn, { timeout: 60_000 });
  const pending = mapped.next();
  await callsReach(3);
  const error = new Error("consumer failed");
  const thrown = mapped.throw(error);
  for (const call of calls) {
    assert.equal(call.context.signal.aborted, true);
    assert.equal(call.context.signal.reason, error);
  }
  await assert.rejects(thrown, (reason) => reason === error);
  assert.deepEqual(await pending, { done: true, value: undefined });
  assert.equal(log.returns, 1);
  assert.equal(log.returnReason, error);
});

test("mapAsync() fails with a throwing sync source's error after aborting the calls, and does not return it", async () => {
  const { fn, calls } = controlledFn<number, number>();
  const error = new Error("source broke");
  let returned = 0;
  const source: IterableIterator<number> = {
    reads: 0,
    next() {
      if (this.reads === 2) throw error;
      return { done: false, value: ++this.reads };
    },
    return() {
      returned++;
      return { done: true, value: undefined };
    },
    [Symbol.iterator]() {
      return this;
    },
  } as IterableIterator<number> & { reads: number };
  const mapped = mapAsync(source, fn);
  await assert.rejects(mapped.next(), (reason) => reason === error);
  assert.equal(calls.length, 2);
  for (const call of calls) assert.equal(call.context.signal.reason, error);
  assert.deepEqual(await mapped.next(), { done: true, value: undefined });
  assert.equal(returned, 0, "a source that threw is not returned");
});

test("mapAsync() fails with a throwing async source's error after aborting the running calls", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const error = new Error("page 3 failed");
  async function* pages() {
    yield 1;
    yield 2;
    await settle(5);
    throw error;
  }
  const mapped = mapAsync(pages(), fn, { timeout: 60_000 });
  const first = mapped.next();
  await callsReach(2);
  await assert.rejects(first, (reason) => reason === error);
  for (const call of calls) assert.equal(call.context.signal.reason, error);
  assert.deepEqual(await mapped.next(), { done: true, value: undefined });
});

test("mapAsync() fails with a call's error, aborts the other calls and returns the source", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const { iterator, log } = asyncSource([1, 2, 3], { end: false });
  const mapped = mapAsync(iterator, fn, { order: "unordered" });
  const first = mapped.next();
  await callsReach(3);
  const error = new Error("lookup failed");
  calls[1]!.reject(error);
  await assert.rejects(first, (reason) => reason === error);
  assert.equal(calls[0]!.context.signal.aborted, true);
  assert.equal(calls[2]!.context.signal.aborted, true);
  assert.equal(log.returns, 1);
  assert.equal(log.returnReason, error);
  assert.equal(mapped.stats.failed, 1);
});

test("mapAsync() stops at once when options.signal aborts", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const { iterator, log } = asyncSource([1, 2], { end: false });
  const controller = new AbortController();
  const mapped = mapAsync(iterator, fn, { signal: controller.signal });
  const first = mapped.next();
  await callsReach(2);
  const reason = new Error("shutdown");
  controller.abort(reason);
  for (const call of calls) assert.equal(call.context.signal.reason, reason);
  await assert.rejects(first, (error) => error === reason);
  assert.equal(log.returns, 1);
});

test("mapAsync() calls nothing when options.signal is already aborted", async () => {
  const { fn, calls } = controlledFn<number, number>();
  const reason = new Error("too early");
  const mapped = mapAsync([1, 2], fn, { signal: AbortSignal.abort(reason) });
  await assert.rejects(mapped.next(), (error) => error === reason);
  assert.equal(calls.length, 0);
});

for (const stop of ["a call's failure", "options.signal"] as const) {
  test(`mapAsync() on ${stop} aborts every call before it returns the source, as break does`, async () => {
    const { fn, calls, callsReach } = controlledFn<number, number>();
    const abortedAtReturn: boolean[] = [];
    const source: IterableIterator<number> = {
      next: () => ({ done: false, value: calls.length }),
      return() {
        // User code: by now no call may still be running.
        for (const call of calls) {
          abortedAtReturn.push(call.context.signal.aborted);
        }
        return { done: true, value: undefined };
      },
      [Symbol.iterator]() {
        return this;
      },
    };
    const controller = new AbortController();
    const mapped = mapAsync(source, fn, {
      capacity: 3,
      order: "unordered",
      signal: controller.signal,
    });
    const first = mapped.next();
    await callsReach(3);
    const reason = new Error("stopped");
    if (stop === "options.signal") controller.abort(reason);
    else calls[1]!.reject(reason);
    await assert.rejects(first, (error) => error === reason);
    await settle();
    assert.deepEqual(abortedAtReturn, [true, true, true]);
  });
}
