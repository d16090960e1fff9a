// Runs a fixture in a child process of the runtime that runs the test, and
// checks that it exits by itself, well before the long timers it holds could
// keep it alive: nothing of ours may outlive a stream or an iteration.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** How to run a TypeScript file with the runtime that runs this test. */
function commandFor(file: string, args: string[]): [string, string[]] {
  const runtime = process.execPath;
  if ("Deno" in globalThis) {
    return [runtime, ["run", "--allow-all", file, ...args]];
  }
  return [runtime, [file, ...args]]; // Bun runs TypeScript as it is
}

/** How a child ended: `killed` once it outlived `limitMs`. */
export interface ChildRun {
  killed: boolean;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `fixture` with `args`, killing it if it outlives `limitMs`. */
export async function runChild(
  fixture: URL,
  args: string[],
  limitMs: number,
): Promise<ChildRun> {
  const [command, commandArgs] = commandFor(fileURLToPath(fixture), args);
  const child = spawn(command, commandArgs, {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (data) => stdout += data);
  child.stderr.on("data", (data) => stderr += data);
  let killed = false;
  const limit = setTimeout(() => {
    killed = true;
    child.kill("SIGKILL");
  }, limitMs);
  const code = await new Promise<number | null>((resolve) =>
    child.on("close", resolve)
  );
  clearTimeout(limit);
  return { killed, code, stdout, stderr };
}

/**
 * Runs `fixture` (a URL beside the test) and resolves with the lines it
 * printed, once it exited with code 0 by itself within 30 s.
 */
export async function exitedByItself(fixture: URL): Promise<string[]> {
  // A generous liveness limit, far below the 60 s timers the child holds:
  // exiting at all before it proves nothing of ours kept the process alive.
  const { killed, code, stdout, stderr } = await runChild(fixture, [], 30_000);
  assert.equal(
    killed,
    false,
    `the child was still alive after 30 s:\n${stdout}`,
  );
  assert.equal(code, 0, stderr);
  return stdout.trim().split("\n");
}
