// Issue 12: after any stop, in any state, nothing of ours keeps the process
// alive. tests/fixtures/stop_child.ts builds one state per run, with calls
// that hold 60 s timers until their signal aborts and with our deadline,
// backoff and rate-limit timers armed, stops it by each path, and must then
// exit by itself. scripts/node_smoke.ts runs the same child under Node.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runChild } from "./_exit_by_itself.ts";
import { type State, STATES } from "./_stop_scenarios.ts";

/** Exiting later than this means something held the process. */
const EXIT_LIMIT_MS = 5_000;

for (const state of Object.keys(STATES) as State[]) {
  test(
    `AsyncIOTransformStream() lets the process exit at once after every stop with ${
      STATES[state]
    }`,
    { timeout: 30_000 }, // Bun's default of 5 s is the child's own limit
    async () => {
      const { killed, code, stdout, stderr } = await runChild(
        new URL("./fixtures/stop_child.ts", import.meta.url),
        [state],
        EXIT_LIMIT_MS,
      );
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
