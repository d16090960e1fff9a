// Part of the review of mapAsync()'s read loop (see map_async_review_test.ts).
// PASSES on 9ebc84a: it guards what no other test covers, that no stop of a
// mapAsync() iteration, in any of the input side's waits (the consumer's
// demand, capacity, onCheckpoint's promise, a pending read of an async
// source), leaves a timer of ours armed. Checked to fail: with the dispatcher's
// rate-limit timer left armed by stop(), the child lives for 60 s.
import { test } from "node:test";
import assert from "node:assert/strict";
import { exitedByItself } from "./_exit_by_itself.ts";

test("mapAsync() leaves nothing alive after return() in each wait, a failure, options.signal or the end", async () => {
  const printed = await exitedByItself(
    new URL("./fixtures/map_async_no_leak_child.ts", import.meta.url),
  );
  assert.deepEqual(printed, [
    "return() waiting for the consumer: ended",
    "return() at capacity: ended",
    "return() with a read of an async source pending: ended",
    "return() while onCheckpoint's promise is pending: ended",
    "a failed call: ended",
    "options.signal: ended",
    "return() with a batch open: ended",
    "the end: ended",
  ]);
});
