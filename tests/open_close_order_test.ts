// Issue 12, review defect 5: close() runs exactly once, and only after
// open() has settled; with an already-aborted options.signal neither runs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncIOTransformStream } from "../mod.ts";
import { deferred, settle } from "./_deferred.ts";
import { within } from "./_within.ts";

for (const outcome of ["resolves", "rejects"] as const) {
  test(`AsyncFunction.close() waits for an open() that ${outcome} after a cancel`, async () => {
    const opening = deferred();
    const events: string[] = [];
    const stream = new AsyncIOTransformStream<number, number>({
      open: () =>
        opening.promise.finally(() => void events.push("open settled")),
      asyncInvoke: (n, result) => result.complete([n]),
      close: () => void events.push("close"),
    });
    const writer = stream.writable.getWriter();
    void writer.write(1).catch(() => {});
    await settle(5);
    await within(stream.readable.cancel("bye"), "the cancel");
    await settle(20);
    assert.deepEqual(events, [], "close() ran before open() settled");
    if (outcome === "resolves") opening.resolve();
    else opening.reject(new Error("cannot connect"));
    await settle(20);
    assert.deepEqual(events, ["open settled", "close"]);
  });
}

test("AsyncFunction.close() waits for open() when the stream fails meanwhile", async () => {
  const opening = deferred();
  const events: string[] = [];
  const controller = new AbortController();
  new AsyncIOTransformStream<number, number>({
    open: () => opening.promise.then(() => void events.push("open settled")),
    asyncInvoke: (n, result) => result.complete([n]),
    close: () => void events.push("close"),
  }, { signal: controller.signal });
  await settle(5);
  controller.abort(new Error("shutdown"));
  await settle(20);
  assert.deepEqual(events, [], "close() ran before open() settled");
  opening.resolve();
  await settle(20);
  assert.deepEqual(events, ["open settled", "close"]);
});

test("AsyncFunction.open() and close() never run with an already-aborted options.signal", async () => {
  const counts = { open: 0, invoke: 0, close: 0 };
  const reason = new Error("too early");
  const stream = new AsyncIOTransformStream<number, number>({
    open: () => void counts.open++,
    asyncInvoke: (n, result) => (counts.invoke++, result.complete([n])),
    close: () => void counts.close++,
  }, { signal: AbortSignal.abort(reason) });
  const output = await within(
    Array.fromAsync(ReadableStream.from([1, 2]).pipeThrough(stream)),
    "the output",
  );
  assert.deepEqual(output, { ok: false, reason });
  await settle(20);
  assert.deepEqual(counts, { open: 0, invoke: 0, close: 0 });
});
