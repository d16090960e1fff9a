// Part of the review of mapAsync()'s read loop (see map_async_review_test.ts).
// PASSES on 9ebc84a: it guards what no other test covers, that no stop of a
// mapAsync() iteration, in any of the input side's waits (the consumer's
// demand, capacity, onCheckpoint's promise, a pending read of an async
// source), leaves a timer of ours armed. Checked to fail: with the dispatcher's
// rate-limit timer left armed by stop(), the child lives for 60 s.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** How to run a TypeScript file with the runtime that runs this test. */
function commandFor(file: string): [string, string[]] {
  const runtime = process.execPath;
  if ("Deno" in globalThis) return [runtime, ["run", "--allow-all", file]];
  return [runtime, [file]]; // Bun runs TypeScript as it is
}

test("mapAsync() leaves nothing alive after return() in each wait, a failure, options.signal or the end", async () => {
  const child = fileURLToPath(
    new URL("./fixtures/map_async_no_leak_child.ts", import.meta.url),
  );
  const [command, args] = commandFor(child);
  const process = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  process.stdout.on("data", (data) => stdout += data);
  process.stderr.on("data", (data) => stderr += data);
  // A generous liveness limit, far below the 60 s timers the child holds:
  // exiting at all before it proves nothing of ours kept the process alive.
  let killed = false;
  const limit = setTimeout(() => {
    killed = true;
    process.kill("SIGKILL");
  }, 30_000);
  const code = await new Promise<number | null>((resolve) =>
    process.on("close", resolve)
  );
  clearTimeout(limit);
  assert.equal(
    killed,
    false,
    `the child was still alive after 30 s:\n${stdout}`,
  );
  assert.equal(code, 0, stderr);
  assert.deepEqual(stdout.trim().split("\n"), [
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
