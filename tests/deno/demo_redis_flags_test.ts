// The Redis demo's command line: a bad flag or an unreachable --redis-url
// ends it at once with a message and an exit code, not a stack trace. None
// of these runs needs a redis-server.
import assert from "node:assert/strict";
import { test } from "node:test";

const DEMO = new URL("../../demo/redis_main.ts", import.meta.url).href;
const decoder = new TextDecoder();

async function runRedisDemo(args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      "--allow-run",
      "--allow-env",
      DEMO,
      ...args,
    ],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
  };
}

test("demo:redis rejects a bad flag with a message and exit code 2, before it starts redis-server", async () => {
  for (
    const [args, message] of [
      [["--bogus"], /^Cannot run the Redis demo: Unknown option '--bogus'$/m],
      [
        ["--latency", "abc"],
        /^Cannot run the Redis demo as --latency must be a non-negative number of milliseconds: current value is "abc"$/m,
      ],
      [
        ["--events", "0"],
        /^Cannot run the Redis demo as --events must be a positive integer: current value is "0"$/m,
      ],
      [
        ["--workers", "1.5"],
        /--workers must be a positive integer: current value is "1.5"/,
      ],
      [
        ["--redis-url", "http://127.0.0.1:6379"],
        /--redis-url must be a redis:\/\/ URL: current value is "http:\/\/127.0.0.1:6379"/,
      ],
    ] as const
  ) {
    const run = await runRedisDemo([...args]);
    assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
    assert.match(run.stderr, message);
    assert.match(run.stderr, /Run with --help to see the flags/);
    assert.doesNotMatch(run.stderr, /Uncaught|\n\s+at /);
    assert.equal(run.stdout, "");
  }
});

test("demo:redis with a --redis-url that refuses connections exits with code 1 and says so", async () => {
  // Port 1 on the loopback has no listener.
  const run = await runRedisDemo(["--redis-url", "redis://127.0.0.1:1"]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(
    run.stderr,
    /^The Redis demo failed: Cannot reach Redis at redis:\/\/127\.0\.0\.1:1: /m,
  );
  assert.doesNotMatch(run.stderr, /Uncaught|\n\s+at /);
});
