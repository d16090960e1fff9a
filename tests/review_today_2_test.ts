// A second review of today's fixes. Found sound; these pin the edges of the
// batch that waits for a call slot and takes new inputs meanwhile, which no
// other test reaches: a watermark between the inputs it carries.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncIOTransformStream, type OutputOrder, Watermark } from "../mod.ts";
import { controlledBatchFn } from "./_batch.ts";
import { settle } from "./_deferred.ts";
import { readAll } from "./_read_all.ts";
import { within } from "./_within.ts";

for (const order of ["ordered", "unordered"] as OutputOrder[]) {
  test(`AsyncIOTransformStream() with batch (${order}) lets an input accepted after a watermark join the batch that waits for a slot, and emits it after the watermark`, async () => {
    const { fn, calls, callsReach } = controlledBatchFn<number, number>();
    const stream = new AsyncIOTransformStream<number, number, Watermark>(fn, {
      order,
      capacity: 20,
      concurrency: 1,
      batch: { maxSize: 3, maxWait: Infinity },
    });
    const writer = stream.writable.getWriter();
    const reading = readAll(stream.readable);
    for (const n of [0, 1, 2]) await writer.write(n); // full: its call runs
    await callsReach(1);
    await writer.write(3); // waits in the open batch, for ever by maxWait
    await writer.write(new Watermark(10)); // closes it: [3] waits for the slot
    await writer.write(4); // joins [3]
    await settle();
    assert.equal(calls.length, 1);
    calls[0]!.resolve([0, 1, 2]);
    // The watermark waits for 3 only as long as the slot was busy.
    await within(callsReach(2), "the call that carries 3", 5_000);
    assert.deepEqual(calls[1]!.inputs, [3, 4]);
    calls[1]!.resolve([3, 4]);
    await writer.close();
    assert.deepEqual(await reading, [0, 1, 2, 3, new Watermark(10), 4]);
  });
}
