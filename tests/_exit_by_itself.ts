// Runs a fixture in a child process of the runtime that runs the test, and
// checks that it exits by itself, well before the long timers it holds could
// keep it alive: nothing of ours may outlive a stream or an iteration.
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

/**
 * Runs `fixture` (a URL beside the test) and resolves with the lines it
 * printed, once it exited with code 0 by itself within 30 s.
 */
export async function exitedByItself(fixture: URL): Promise<string[]> {
  const [command, args] = commandFor(fileURLToPath(fixture));
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (data) => stdout += data);
  child.stderr.on("data", (data) => stderr += data);
  // A generous liveness limit, far below the 60 s timers the child holds:
  // exiting at all before it proves nothing of ours kept the process alive.
  let killed = false;
  const limit = setTimeout(() => {
    killed = true;
    child.kill("SIGKILL");
  }, 30_000);
  const code = await new Promise<number | null>((resolve) =>
    child.on("close", resolve)
  );
  clearTimeout(limit);
  assert.equal(
    killed,
    false,
    `the child was still alive after 30 s:\n${stdout}`,
  );
  assert.equal(code, 0, stderr);
  return stdout.trim().split("\n");
}
