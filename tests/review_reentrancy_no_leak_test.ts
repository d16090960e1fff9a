// Part of the reentrancy review (review_reentrancy_test.ts): a hostile hook
// that fails the stream must leave nothing of ours alive. In a child
// process, which a page has not: scripts/browser_test.ts skips this file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { exitedByItself } from "./_exit_by_itself.ts";

test("AsyncIOTransformStream() leaves nothing alive when a hostile onError, timeout handler, watermark or options.signal fails it while calls and a backoff hold a minute", async () => {
  const printed = await exitedByItself(
    new URL("./fixtures/reentrancy_no_leak_child.ts", import.meta.url),
  );
  assert.deepEqual(printed, [
    "onError: ended with hostile onError",
    "timeout handler: ended with hostile timeout",
    "watermark: ended with hostile timestamp",
    "options.signal: ended with hostile signal",
  ]);
});
