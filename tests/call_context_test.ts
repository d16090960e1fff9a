// Issue 12, review defect 10: user code receives small public objects with
// own properties only, never an internal attempt object: no deadline links,
// no expire() or settle(), and a context that survives `{ ...ctx }`.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AsyncIOTransformStream,
  type CallContext,
  type ResultFuture,
} from "../mod.ts";
import { within } from "./_within.ts";

const INTERNALS = [
  "expire",
  "deadline",
  "prevDue",
  "nextDue",
  "settle",
  "element",
  "resolve",
];

function assertNoInternals(object: object, what: string) {
  for (const name of INTERNALS) {
    assert.equal(name in object, false, `${what} exposes "${name}"`);
  }
}

test("AsyncIOTransformStream() passes the function form a plain context with own signal and attempt only", async () => {
  const contexts: CallContext[] = [];
  const stream = new AsyncIOTransformStream((n: number, context) => {
    contexts.push(context);
    return n;
  }, { timeout: 60_000, attemptTimeout: 60_000 });
  await Array.fromAsync(ReadableStream.from([1, 2]).pipeThrough(stream));
  assert.equal(contexts.length, 2);
  for (const context of contexts) {
    assert.deepEqual(Object.keys(context).sort(), ["attempt", "signal"]);
    assert.equal(Object.getPrototypeOf(context), Object.prototype);
    assert.ok(Object.isFrozen(context), "a context could be changed");
    const copy = { ...context };
    assert.ok(copy.signal instanceof AbortSignal, "{ ...ctx } lost signal");
    assert.equal(copy.attempt, 1);
    assertNoInternals(context, "the context");
    assert.equal("complete" in context, false);
  }
});

test("AsyncIOTransformStream() passes calls that share a signal one frozen context", async () => {
  const contexts: CallContext[] = [];
  const stream = new AsyncIOTransformStream((n: number, context) => {
    contexts.push(context);
    return n;
  });
  await Array.fromAsync(ReadableStream.from([1, 2]).pipeThrough(stream));
  const [first, second] = contexts;
  assert.equal(first!.signal, second!.signal);
  assert.equal(first, second);
  assert.ok(Object.isFrozen(first), "a shared context could be changed");
  assert.deepEqual(Object.keys(first!).sort(), ["attempt", "signal"]);
  assert.equal(first!.attempt, 1);
});

test("AsyncIOTransformStream() passes the object form a ResultFuture with exactly attempt, complete, completeExceptionally and signal", async () => {
  const futures: ResultFuture<number>[] = [];
  const stream = new AsyncIOTransformStream<number, number>({
    asyncInvoke(n, result) {
      futures.push(result);
      const { complete } = result; // detached, as a callback would take it
      setTimeout(() => complete([n * 10]), 1);
    },
  }, { timeout: 60_000, attemptTimeout: 60_000 });
  const output = await within(
    Array.fromAsync(ReadableStream.from([1, 2]).pipeThrough(stream)),
    "the output",
  );
  assert.deepEqual(output, { ok: true, value: [10, 20] });
  for (const future of futures) {
    assert.deepEqual(Object.keys(future).sort(), [
      "attempt",
      "complete",
      "completeExceptionally",
      "signal",
    ]);
    assert.ok({ ...future }.signal instanceof AbortSignal);
    assertNoInternals(future, "the ResultFuture");
  }
});

test("ResultFuture.completeExceptionally() works detached", async () => {
  const error = new Error("detached");
  const stream = new AsyncIOTransformStream<number, number>({
    asyncInvoke(_n, { completeExceptionally }) {
      setTimeout(() => completeExceptionally(error), 1);
    },
  });
  const output = await within(
    Array.fromAsync(ReadableStream.from([1]).pipeThrough(stream)),
    "the output",
  );
  assert.deepEqual(output, { ok: false, reason: error });
});

test("AsyncIOTransformStream() passes timeout handlers the same public ResultFuture", async () => {
  const futures: ResultFuture<number>[] = [];
  const stream = new AsyncIOTransformStream<number, number>(
    () => new Promise<number>(() => {}),
    {
      timeout: 10,
      onTimeout(n, result) {
        futures.push(result);
        const { complete } = result;
        complete([-n]);
      },
    },
  );
  const output = await within(
    Array.fromAsync(ReadableStream.from([1]).pipeThrough(stream)),
    "the output",
  );
  assert.deepEqual(output, { ok: true, value: [-1] });
  assert.equal(futures.length, 1);
  assert.deepEqual(Object.keys(futures[0]!).sort(), [
    "attempt",
    "complete",
    "completeExceptionally",
    "signal",
  ]);
  assertNoInternals(futures[0]!, "the timeout handler's ResultFuture");
});
