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

test("AsyncIOTransformStream() leaves nothing alive after cancel, abort, signal, error, timeout or end", async () => {
  const child = fileURLToPath(
    new URL("./fixtures/no_leak_child.ts", import.meta.url),
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
