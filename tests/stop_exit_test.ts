// Issue 12: after any stop, in any state, nothing of ours keeps the process
// alive. tests/fixtures/stop_child.ts builds one state per run, with calls
// that hold 60 s timers until their signal aborts and with our deadline,
// backoff and rate-limit timers armed, stops it by each path, and must then
// exit by itself. scripts/node_smoke.ts runs the same child under Node.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { type State, STATES } from "./_stop_scenarios.ts";

/** Exiting later than this means something held the process. */
const EXIT_LIMIT_MS = 5_000;

/** How to run a TypeScript file with the runtime that runs this test. */
function commandFor(file: string, arg: string): [string, string[]] {
  const runtime = process.execPath;
  if ("Deno" in globalThis) return [runtime, ["run", "--allow-all", file, arg]];
  return [runtime, [file, arg]]; // Bun runs TypeScript as it is
}

async function runChild(state: State) {
  const file = fileURLToPath(
    new URL("./fixtures/stop_child.ts", import.meta.url),
  );
  const [command, args] = commandFor(file, state);
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (data) => stdout += data);
  child.stderr.on("data", (data) => stderr += data);
  let killed = false;
  const limit = setTimeout(() => {
    killed = true;
    child.kill("SIGKILL");
  }, EXIT_LIMIT_MS);
  const code = await new Promise<number | null>((resolve) =>
    child.on("close", resolve)
  );
  clearTimeout(limit);
  return { killed, code, stdout, stderr };
}

for (const state of Object.keys(STATES) as State[]) {
  test(
    `AsyncIOTransformStream() lets the process exit at once after every stop with ${
      STATES[state]
    }`,
    { timeout: 30_000 }, // Bun's default of 5 s is the child's own limit
    async () => {
      const { killed, code, stdout, stderr } = await runChild(state);
      assert.equal(
        killed,
        false,
        `still alive after ${EXIT_LIMIT_MS} ms; it printed:\n${stdout}${stderr}`,
      );
      assert.equal(code, 0, stderr);
      const lines = stdout.trim().split("\n");
      assert.equal(lines.pop(), "every stop ended", stdout);
      assert.equal(lines.length, state === "opening" ? 4 : 5, stdout);
      for (const line of lines) assert.match(line, /: ok$/);
    },
  );
}
