// Ctrl-C on the demo in a real terminal: util-linux `script` gives the demo a
// pseudo-terminal (so it draws its live progress line), and writing ^C to the
// terminal makes the line discipline send SIGINT, as a key press would.
import assert from "node:assert/strict";
import { test } from "node:test";
import { removeDirectory, scratchDirectory } from "./_demo.ts";

const DEMO = new URL("../../demo/main.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

function hasScript(): boolean {
  if (Deno.build.os !== "linux") return false;
  try {
    return new Deno.Command("script", { args: ["--version"] }).outputSync()
      .success;
  } catch {
    return false;
  }
}

function quote(argument: string): string {
  return `'${argument.replaceAll("'", `'\\''`)}'`;
}

test(
  "demo on a terminal ends its live progress line on Ctrl-C and exits with code 130",
  {
    skip: hasScript() ? false : "needs util-linux script (Linux)",
  },
  async () => {
    const directory = scratchDirectory();
    const command = [
      Deno.execPath(),
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      `--allow-write=${directory}`,
      DEMO,
      "--events",
      "1000000",
      "--baseline",
      "0",
      "--latency",
      "200",
      "--out",
      `${directory}/out.ndjson`,
    ].map(quote).join(" ");
    const child = new Deno.Command("script", {
      args: ["--quiet", "--return", "--command", command, "/dev/null"],
      env: { NO_COLOR: "1", TERM: "xterm" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000), // a demo that ignores ^C fails
    }).spawn();
    const stdin = child.stdin.getWriter();
    let terminal = "";
    let interrupted = false;
    try {
      for await (const chunk of child.stdout) {
        terminal += decoder.decode(chunk, { stream: true });
        // Interrupt once the live line shows calls in flight.
        if (
          !interrupted &&
          /async I\/O \d+\/1000000 .*in flight [1-9]/.test(terminal)
        ) {
          interrupted = true;
          await stdin.write(new Uint8Array([0x03])); // ^C
        }
      }
      const { code } = await child.status;
      assert.ok(interrupted, terminal);
      assert.equal(code, 130, terminal);
      // The pty turns "\n" into "\r\n". The live line ends before the message,
      // so the message and the shell prompt after it start at column 0.
      const lines = terminal.split("\r\n");
      const message = lines.findIndex((line) => line.includes("interrupted"));
      assert.ok(message > 0, terminal);
      assert.equal(
        lines[message],
        "interrupted (Ctrl-C): the output is incomplete",
      );
      assert.match(lines[message - 1]!, /async I\/O \d+\/1000000/);
      assert.equal(lines.at(-1), "", "the output ends with a newline");
    } finally {
      await stdin.close().catch(() => {});
      await removeDirectory(directory);
    }
  },
);
