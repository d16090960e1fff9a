import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncIOTransformStream } from "../mod.ts";
import { controlledFn, settle } from "./_deferred.ts";

async function streamWithThreeCalls(signal?: AbortSignal) {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    timeout: 60_000,
    ...(signal ? { signal } : {}),
  });
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  void reader.read().catch(() => {});
  for (const n of [1, 2, 3]) await writer.write(n);
  await callsReach(3);
  return { stream, calls, writer, reader };
}

function assertAllAborted(
  calls: { context: { signal: AbortSignal } }[],
  reason: unknown,
) {
  assert.equal(calls.length, 3);
  for (const { context: { signal } } of calls) {
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, reason);
  }
}

test("AsyncIOTransformStream() aborts every in-flight signal with the reason of readable.cancel()", async () => {
  const { stream, calls, reader, writer } = await streamWithThreeCalls();
  const reason = new Error("consumer gone");
  await reader.cancel(reason);
  assertAllAborted(calls, reason);
  await assert.rejects(writer.closed, (error) => error === reason);
  assert.equal(stream.stats.inFlight, 0);
});

test("AsyncIOTransformStream() aborts every in-flight signal with the reason of writable.abort()", async () => {
  const { calls, writer } = await streamWithThreeCalls();
  const reason = new Error("producer gone");
  await writer.abort(reason);
  assertAllAborted(calls, reason);
});

test("AsyncIOTransformStream() aborts every in-flight signal and errors when options.signal aborts", async () => {
  const controller = new AbortController();
  const { calls, writer, reader } = await streamWithThreeCalls(
    controller.signal,
  );
  const reason = new Error("shutdown");
  controller.abort(reason);
  assertAllAborted(calls, reason);
  await assert.rejects(writer.closed, (error) => error === reason);
  await assert.rejects(reader.closed, (error) => error === reason);
});

test("AsyncIOTransformStream() calls nothing when options.signal is already aborted", async () => {
  const { fn, calls } = controlledFn<number, number>();
  const reason = new Error("too early");
  const stream = new AsyncIOTransformStream(fn, {
    signal: AbortSignal.abort(reason),
  });
  await assert.rejects(
    Array.fromAsync(ReadableStream.from([1, 2]).pipeThrough(stream)),
    (error) => error === reason,
  );
  assert.equal(calls.length, 0);
});

test("AsyncIOTransformStream() ignores results that arrive after cancel", async () => {
  const { stream, calls, reader } = await streamWithThreeCalls();
  await reader.cancel("stop");
  calls[0]!.resolve(1);
  calls[1]!.reject(new Error("late failure"));
  await settle();
  assert.equal(stream.stats.emitted, 0);
  assert.equal(stream.stats.failed, 0);
});

/** An AbortSignal that counts the abort listeners attached to it. */
function countingSignal() {
  const controller = new AbortController();
  const signal = controller.signal;
  const listeners = new Set<unknown>();
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  Object.assign(signal, {
    addEventListener(type: string, listener: EventListener, options?: unknown) {
      if (type === "abort") listeners.add(listener);
      add(type, listener, options as AddEventListenerOptions);
    },
    removeEventListener(type: string, listener: EventListener) {
      if (type === "abort") listeners.delete(listener);
      remove(type, listener);
    },
  });
  return { signal, listeners };
}

test("AsyncIOTransformStream() removes its listener from options.signal after end, error and cancel", async () => {
  for (const end of ["end", "error", "cancel"] as const) {
    const { signal, listeners } = countingSignal();
    const stream = new AsyncIOTransformStream(
      (n: number) => end === "error" ? Promise.reject(new Error("x")) : n,
      { signal },
    );
    assert.equal(listeners.size, 1, `${end}: listening while running`);
    const output = Array.fromAsync(
      ReadableStream.from([1]).pipeThrough(stream),
    );
    if (end === "cancel") await stream.readable.cancel().catch(() => {});
    await output.catch(() => {});
    assert.equal(listeners.size, 0, `${end}: listener left behind`);
  }
});

test("AsyncIOTransformStream() aborts the remaining calls when the readable is cancelled while the input ends", async () => {
  // The spec does not call transformer.cancel once flush has started; the
  // stream notices at the next result and must still stop everything.
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, { order: "unordered" });
  const reader = stream.readable.getReader();
  void reader.read();
  const writer = stream.writable.getWriter();
  await writer.write(1);
  await writer.write(2);
  await callsReach(2);
  const closing = writer.close();
  await settle();
  const cancelling = reader.cancel("consumer gone");
  calls[0]!.resolve(1);
  await closing.catch(() => {});
  await cancelling;
  assert.equal(calls[1]!.context.signal.aborted, true);
  // Where the runtime calls transformer.cancel during a flush (browsers, by
  // way of the fallback) the reason is the cancel's; elsewhere the stream
  // only notices at the next result and aborts with an AbortError.
  const reason = calls[1]!.context.signal.reason;
  assert.ok(
    reason === "consumer gone" || (reason as Error).name === "AbortError",
    String(reason),
  );
  assert.deepEqual(
    stream.snapshot().entries.map((entry) =>
      entry.kind === "record" && entry.input
    ),
    [1, 2],
    "neither result reached the consumer",
  );
});
