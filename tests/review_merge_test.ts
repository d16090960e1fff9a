// Review of the three sets of changes merged on 2026-11-30 (options read
// once, reentrancy, snapshot exactness): the defects found where they meet.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AsyncIOState,
  AsyncIOTransformStream,
  Watermark,
} from "../mod.ts";
import { controlledFn, settle } from "./_deferred.ts";

const records = (stream: { snapshot(): AsyncIOState<number> }) =>
  stream.snapshot().entries.map((e) =>
    e.kind === "record" ? e.input : `w${e.timestamp}`
  );

test("AsyncIOTransformStream.snapshot() after a failure reads no timestamp again from a watermark the readable dropped unread", async () => {
  // The timestamp is read once, when the watermark is accepted: a Proxy
  // whose getter throws from then on must not make snapshot() throw.
  let reads = 0;
  const watermark = new Proxy(new Watermark(5), {
    get(target, property) {
      if (property === "timestamp" && ++reads > 1) {
        throw new Error("read again");
      }
      return Reflect.get(target, property, target);
    },
  });
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream<number, number, Watermark>(fn, {
    readableStrategy: { highWaterMark: 3 },
  });
  const writer = stream.writable.getWriter();
  void writer.write(watermark).catch(() => {});
  void writer.write(1).catch(() => {});
  await callsReach(1); // the watermark waits unread in the readable
  calls[0]!.reject(new Error("failure"));
  await settle();
  assert.deepEqual(records(stream), ["w5", 1]);
  assert.equal(reads, 1);
});

for (const side of ["writableStrategy", "readableStrategy"] as const) {
  test(`AsyncIOTransformStream() refuses a ${side} whose size is not a function with a TypeError at construction, as the platform does`, () => {
    // A wrapper around any size() other than undefined hid it until the
    // first chunk, which then failed the stream.
    assert.throws(
      () =>
        new AsyncIOTransformStream<number, number>(
          (n) => Promise.resolve(n),
          { [side]: { size: 5 } } as never,
        ),
      TypeError,
    );
  });
}
