// The demo end to end, as a child process against its embedded HTTP service.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  crashArgs,
  idsOf,
  quickArgs,
  range,
  removeDirectory,
  runDemo,
  scratchDirectory,
} from "./_demo.ts";

interface Output {
  id: number;
  userId: number;
  user: { id: number; name: string } | null;
}

function assertEnriched(ndjson: string): void {
  for (const line of ndjson.split("\n").filter((line) => line !== "")) {
    const output = JSON.parse(line) as Output;
    assert.deepEqual(
      [output.user?.id, output.user?.name],
      [output.userId, `user-${output.userId}`],
      line,
    );
  }
}

for (const order of ["ordered", "unordered", "key-ordered"] as const) {
  test(`demo --crash-at restarts from the last checkpoint and writes every event exactly once (${order})`, async () => {
    const directory = scratchDirectory();
    const out = `${directory}/out.ndjson`;
    try {
      const events = 600;
      const run = await runDemo(
        crashArgs(
          { events, crashAt: 250, checkpointEvery: 50, out },
          "--order",
          order,
        ),
        directory,
      );
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /crash: Simulated crash at output line 250/);
      // The crash left lines after the last commit that the restart removed.
      const truncated = /so (\d+) uncommitted lines? (?:is|are) truncated/.exec(
        run.stderr,
      );
      assert.ok(truncated !== null, run.stderr);
      assert.ok(Number(truncated[1]) > 0, run.stderr);
      assert.match(run.stderr, /restart: checkpoint \d+: \d+ lines? committed/);

      const ndjson = await Deno.readTextFile(out);
      const ids = idsOf(ndjson);
      assert.deepEqual([...ids].sort((a, b) => a - b), range(events));
      if (order === "ordered") assert.deepEqual(ids, range(events));
      assertEnriched(ndjson);
      assert.match(run.stderr, /exactly-once check: OK/);
    } finally {
      await removeDirectory(directory);
    }
  });
}

test("demo --crash-at before the first checkpoint restarts from the start as run 2", async () => {
  const directory = scratchDirectory();
  const out = `${directory}/out.ndjson`;
  try {
    const events = 100;
    const run = await runDemo(
      crashArgs({ events, crashAt: 30, checkpointEvery: 1000, out }),
      directory,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /restart: no checkpoint yet: starting over/);
    // The progress line names the restart, not the first run again.
    const runs = [...run.stderr.matchAll(/^(run \d) \d+\/\d+ /gm)].map((m) =>
      m[1]
    );
    assert.deepEqual([...new Set(runs)], ["run 1", "run 2"], run.stderr);
    assert.deepEqual(idsOf(await Deno.readTextFile(out)), range(events));
    assert.match(run.stderr, /exactly-once check: OK/);
  } finally {
    await removeDirectory(directory);
  }
});

test("demo writes one enriched NDJSON line per event to stdout and prints the speedup", async () => {
  const run = await runDemo(quickArgs(300, "--baseline", "10"));
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(idsOf(run.stdout), range(300));
  assertEnriched(run.stdout);
  assert.match(run.stderr, /speedup: +\d+(\.\d)?x/);
  assert.match(run.stderr, /async I\/O 300\/300 \(100%\)/);
});

test("demo retries the service's HTTP 500 answers and still enriches every event", async () => {
  const run = await runDemo(
    quickArgs(
      200,
      "--baseline",
      "0",
      "--failure-rate",
      "0.5",
      "--order",
      "unordered",
    ),
  );
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(idsOf(run.stdout).sort((a, b) => a - b), range(200));
  assertEnriched(run.stdout);
  const answered500 = /(\d+) answered HTTP 500/.exec(run.stderr);
  assert.ok(answered500 !== null && Number(answered500[1]) > 0, run.stderr);
  const retries = /(\d+) retries, 0 timeouts/.exec(run.stderr);
  assert.equal(retries?.[1], answered500[1], run.stderr);
});

test("demo --concurrency auto prints how the limit moved against a queueing service", async () => {
  const run = await runDemo([
    "--events",
    "1500",
    "--baseline",
    "0",
    "--order",
    "unordered",
    "--latency",
    "5",
    "--jitter",
    "0",
    "--service-slots",
    "4",
    "--concurrency",
    "auto",
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(idsOf(run.stdout).sort((a, b) => a - b), range(1500));
  assert.match(
    run.stderr,
    /concurrency: auto \(vegas\(\)\), 20( → \d+ at [\d.]+ s)*; \d+ moves, from \d+ to \d+/,
  );
  assert.match(run.stderr, /at most 4 at once/);
});

test("demo --url enriches from an external service with the documented API", async () => {
  const seen: string[] = [];
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, (request) => {
    const path = new URL(request.url).pathname;
    seen.push(path);
    const id = Number(path.split("/")[2]);
    return Response.json({ id, name: `user-${id}`, plan: "external" });
  });
  try {
    const run = await runDemo([
      "--url",
      `http://127.0.0.1:${server.addr.port}/`,
      "--events",
      "50",
      "--baseline",
      "0",
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(idsOf(run.stdout), range(50));
    assertEnriched(run.stdout);
    assert.equal(seen.length, 50);
    assert.ok(seen.every((path) => /^\/users\/\d+$/.test(path)), seen.join());
    assert.match(run.stderr, /\(external\)/);
  } finally {
    await server.shutdown();
  }
});

test("demo rejects a bad flag value with a message and exit code 2", async () => {
  for (
    const [args, message] of [
      [
        ["--capacity", "0"],
        /--capacity must be a positive integer: current value is "0"/,
      ],
      [
        ["--order", "sideways"],
        /--order must be ordered, unordered or key-ordered/,
      ],
      [
        ["--failure-rate", "1"],
        /--failure-rate must be a number from 0 to below 1/,
      ],
      [
        ["--events", "10", "--crash-at", "11"],
        /--crash-at must be at most --events \(10\)/,
      ],
      [["--colour"], /Unknown option '--colour'/],
    ] as const
  ) {
    const run = await runDemo(args);
    assert.equal(run.code, 2, args.join(" "));
    assert.match(run.stderr, message);
    assert.equal(run.stdout, "");
  }
});

test("demo --help lists every flag and exits 0", async () => {
  const run = await runDemo(["--help"]);
  assert.equal(run.code, 0);
  for (
    const flag of [
      "--events",
      "--order",
      "--capacity",
      "--timeout",
      "--latency",
      "--jitter",
      "--failure-rate",
      "--url",
      "--out",
      "--baseline",
      "--concurrency",
      "--service-slots",
      "--crash-at",
      "--checkpoint-every",
      "--help",
    ]
  ) {
    assert.ok(run.stdout.includes(flag), flag);
  }
});

test("demo with an --out it cannot open fails with exit code 1 before the baseline runs", async () => {
  // A directory exists everywhere the tests run, and cannot be opened as a
  // file; the demo may write there but writes nothing.
  const base = Deno.env.get("TMPDIR") ?? "/tmp";
  const run = await runDemo(["--out", base], base);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /^The demo failed: /m);
  assert.doesNotMatch(run.stderr, /sequential|async I\/O/);
});

test("demo piped into a reader that stops early, as | head does, stops quietly with exit code 0", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      new URL("../../demo/main.ts", import.meta.url).href,
      ...quickArgs(1_000_000, "--baseline", "0"),
    ],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.getReader();
  assert.equal((await reader.read()).done, false);
  // Closes the pipe: the demo's next write fails with EPIPE.
  await reader.cancel();
  const { code } = await child.status;
  const errors = await stderr;
  assert.equal(code, 0, errors);
  assert.match(errors, /^stopped: the reader closed stdout \(broken pipe\)$/m);
  assert.doesNotMatch(errors, /The demo failed/);
});
