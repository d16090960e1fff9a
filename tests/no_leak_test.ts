import { test } from "node:test";
import assert from "node:assert/strict";
import { exitedByItself } from "./_exit_by_itself.ts";

test("AsyncIOTransformStream() leaves nothing alive after cancel, abort, signal, error, timeout or end", async () => {
  const printed = await exitedByItself(
    new URL("./fixtures/no_leak_child.ts", import.meta.url),
  );
  assert.deepEqual(printed, [
    "cancel: ended",
    "abort: ended",
    "signal: ended",
    "error: ended with fatal",
    "timeout in backoff: ended with -1,-2",
    "cancel in retryOnError: ended with stop",
    "end: ended with 1,2,3",
    "batch cancel: ended",
    "batch timeout in retry: ended with -1,-2",
  ]);
});
