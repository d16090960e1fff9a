// Ctrl-C on `deno task demo:redis` stops its worker processes (a stalled one
// too, which a terminal's SIGINT would not reach) and the redis-server it
// started: none of them outlives the demo. The SIGINT goes to the demo's
// process alone, the case where nothing else tells the children.
import assert from "node:assert/strict";
import { test } from "node:test";

const DEMO = new URL("../../demo/redis_main.ts", import.meta.url).href;
const decoder = new TextDecoder();

/**
 * The processes whose command line mentions `text` (Linux). Deno may read
 * /proc only with --allow-all, so grep reads it, with the pattern on stdin
 * so that grep's own command line does not match.
 */
async function processesMentioning(text: string): Promise<string[]> {
  const grep = new Deno.Command("sh", {
    args: ["-c", "grep -laF -f - /proc/[0-9]*/cmdline 2>/dev/null; true"],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = grep.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text + "\n"));
  await writer.close();
  const { stdout } = await grep.output();
  return decoder.decode(stdout).split("\n").filter((line) => line !== "");
}

test(
  "demo:redis on SIGINT stops its workers and its redis-server, and exits with code 130",
  { skip: Deno.build.os === "linux" ? false : "greps /proc (Linux)" },
  async () => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net=127.0.0.1",
        "--allow-read",
        "--allow-write",
        "--allow-run",
        "--allow-env",
        DEMO,
        "--no-scaling",
      ],
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(120_000), // a demo that ignores SIGINT fails
    }).spawn();
    const stderr = new Response(child.stderr).text();
    let output = "";
    let address: string | undefined;
    let interrupted = false;
    for await (const chunk of child.stdout) {
      output += decoder.decode(chunk, { stream: true });
      address ??= /Started redis-server at redis:\/\/(127\.0\.0\.1:\d+)/.exec(
        output,
      )?.[1];
      // Interrupt while the workers run, once the chaos has stalled one.
      if (!interrupted && /outputs; \d+ kills, [1-9]\d* stalls/.test(output)) {
        interrupted = true;
        child.kill("SIGINT");
      }
    }
    const { code } = await child.status;
    const errors = await stderr;
    assert.ok(interrupted && address !== undefined, output + errors);
    assert.equal(code, 130, output + errors);
    assert.match(errors, /interrupted \(Ctrl-C\)/);
    // Every child was waited for before the exit; allow a moment all the same.
    let left = await processesMentioning(address);
    for (let i = 0; i < 20 && left.length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      left = await processesMentioning(address);
    }
    assert.deepEqual(left, [], "processes left running");
  },
);
