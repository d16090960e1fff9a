// The demo's --fail-rate and --on-error: lookups that fail for good (HTTP 404
// from the embedded service) stop the run, are written as failed, or are
// left out, as child processes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { eventAt, isMissingUser } from "../../demo/events.ts";
import { startLookupService } from "../../demo/lookup_server.ts";
import {
  crashArgs,
  idsOf,
  quickArgs,
  range,
  removeDirectory,
  runDemo,
  scratchDirectory,
} from "./_demo.ts";

const EVENTS = 300;
const FAIL_RATE = 0.1;

/** The event ids whose user the service does not know, in input order. */
function failingIds(events: number, rate: number): number[] {
  return range(events).filter((id) => isMissingUser(eventAt(id).userId, rate));
}

interface Output {
  id: number;
  userId: number;
  user: { id: number } | null;
  error?: string;
}

function outputsOf(ndjson: string): Output[] {
  return ndjson.split("\n").filter((line) => line !== "").map((line) =>
    JSON.parse(line) as Output
  );
}

function demoArgs(...extra: string[]): string[] {
  return quickArgs(
    EVENTS,
    "--baseline",
    "0",
    "--fail-rate",
    String(FAIL_RATE),
    ...extra,
  );
}

/** The count on the summary's "failed:" line. */
function reportedFailures(stderr: string): number {
  const match = /^failed: +(\d+) events whose lookup failed/m.exec(stderr);
  assert.ok(match !== null, stderr);
  return Number(match[1]);
}

test("isMissingUser() picks about the given fraction of users, the same every time", () => {
  const missing = range(1000).filter((id) => isMissingUser(id, FAIL_RATE));
  assert.ok(missing.length > 70 && missing.length < 130, `${missing.length}`);
  assert.deepEqual(
    range(1000).filter((id) => isMissingUser(id, FAIL_RATE)),
    missing,
  );
  assert.equal(range(1000).some((id) => isMissingUser(id, 0)), false);
});

test("the lookup service answers 404 for a user it does not know, and null in a batch", async () => {
  const service = startLookupService({
    latency: 0,
    jitter: 0,
    failureRate: 0,
    missingRate: FAIL_RATE,
  });
  try {
    const missing = range(1000).find((id) => isMissingUser(id, FAIL_RATE))!;
    const known = range(1000).find((id) => !isMissingUser(id, FAIL_RATE))!;
    const notFound = await fetch(`${service.url}/users/${missing}`);
    assert.equal(notFound.status, 404);
    await notFound.body?.cancel();
    const found = await fetch(`${service.url}/users/${known}`);
    assert.equal((await found.json()).id, known);
    const batch = await fetch(
      `${service.url}/users?ids=${known},${missing},${known}`,
    );
    const users = await batch.json() as ({ id: number } | null)[];
    assert.deepEqual(users.map((user) => user?.id ?? null), [
      known,
      null,
      known,
    ]);
    assert.equal(service.stats.notFound, 2);
  } finally {
    await service.close();
  }
});

test("demo --on-error settle writes every event, the failed lookups with a null user and the error, and reports how many failed", async () => {
  const failing = failingIds(EVENTS, FAIL_RATE);
  assert.ok(failing.length > 0);
  const run = await runDemo(demoArgs("--on-error", "settle"));
  assert.equal(run.code, 0, run.stderr);
  const outputs = outputsOf(run.stdout);
  assert.deepEqual(outputs.map((output) => output.id), range(EVENTS));
  const failed = outputs.filter((output) => output.user === null);
  assert.deepEqual(failed.map((output) => output.id), failing);
  for (const output of failed) {
    assert.match(
      output.error ?? "",
      new RegExp(`^user ${output.userId} not found: .* answered HTTP 404$`),
    );
  }
  for (const output of outputs.filter((output) => output.user !== null)) {
    assert.equal(output.user!.id, output.userId);
    assert.equal(output.error, undefined);
  }
  assert.equal(reportedFailures(run.stderr), failing.length);
  assert.match(run.stderr, new RegExp(`timeouts, ${failing.length} failed\\)`));
  assert.match(run.stderr, new RegExp(`\\| failed ${failing.length} \\|`));
});

test("demo --on-error skip leaves the failed lookups out and reports how many failed", async () => {
  const failing = failingIds(EVENTS, FAIL_RATE);
  const run = await runDemo(demoArgs("--on-error", "skip"));
  assert.equal(run.code, 0, run.stderr);
  const skipped = new Set(failing);
  assert.deepEqual(
    idsOf(run.stdout),
    range(EVENTS).filter((id) => !skipped.has(id)),
  );
  assert.equal(reportedFailures(run.stderr), failing.length);
  assert.match(
    run.stderr,
    new RegExp(`output: +${EVENTS - failing.length} NDJSON lines to stdout`),
  );
});

test("demo --on-error settle --batch fails only the unknown users of a batch, not their neighbours", async () => {
  const failing = failingIds(EVENTS, FAIL_RATE);
  const run = await runDemo(
    demoArgs("--on-error", "settle", "--batch", "25", "--order", "unordered"),
  );
  assert.equal(run.code, 0, run.stderr);
  const outputs = outputsOf(run.stdout);
  assert.deepEqual(
    outputs.map((output) => output.id).sort((a, b) => a - b),
    range(EVENTS),
  );
  const failed = outputs.filter((output) => output.user === null);
  assert.deepEqual(
    failed.map((output) => output.id).sort((a, b) => a - b),
    failing,
  );
  for (const output of failed) {
    assert.match(output.error ?? "", /answered null$/);
  }
  assert.equal(reportedFailures(run.stderr), failing.length);
  assert.match(run.stderr, /events per request over \d+ requests/);
});

test("demo --fail-rate stops on the first failed lookup by default, with exit code 1 and a hint", async () => {
  const run = await runDemo(demoArgs());
  assert.equal(run.code, 1, run.stderr);
  assert.match(
    run.stderr,
    /The demo failed: user \d+ not found: GET http:\/\/127\.0\.0\.1:\d+\/users\/\d+ answered HTTP 404\n/,
  );
  assert.match(run.stderr, /--on-error settle or --on-error skip/);
  assert.doesNotMatch(run.stderr, /^failed: /m);
});

for (
  const [args, message] of [
    [["--on-error", "bogus"], /--on-error must be fail, settle or skip/],
    [["--fail-rate", "1.5"], /--fail-rate must be a number from 0 to below 1/],
    [
      ["--url", "http://127.0.0.1:9", "--fail-rate", "0.1"],
      /--fail-rate must be left out when --url is given/,
    ],
  ] as const
) {
  test(`demo ${args.join(" ")} exits with code 2 and names the flag`, async () => {
    const run = await runDemo(args);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, message);
    assert.match(run.stderr, /Run with --help to see the flags/);
    assert.equal(run.stdout, "");
  });
}

for (const onError of ["settle", "skip"] as const) {
  test(
    `demo --crash-at --on-error ${onError} restarts and checks exactly-once, with the failed lookups ${
      onError === "skip" ? "left out" : "written"
    }`,
    async () => {
      const directory = scratchDirectory();
      const out = `${directory}/out.ndjson`;
      try {
        const events = 400;
        const failing = failingIds(events, FAIL_RATE);
        const run = await runDemo(
          crashArgs(
            { events, crashAt: 150, checkpointEvery: 40, out },
            "--fail-rate",
            String(FAIL_RATE),
            "--on-error",
            onError,
          ),
          directory,
        );
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stderr, /crash: Simulated crash at output line 150/);
        assert.match(run.stderr, /exactly-once check: OK/);
        // Progress counts events, not lines, so a skipped event counts too.
        assert.match(
          run.stderr,
          new RegExp(`run 2 ${events}/${events} \\(100%\\)`),
        );
        const outputs = outputsOf(await Deno.readTextFile(out));
        const failed = new Set(failing);
        if (onError === "skip") {
          assert.deepEqual(
            outputs.map((output) => output.id),
            range(events).filter((id) => !failed.has(id)),
          );
          assert.match(
            run.stderr,
            new RegExp(`${failing.length} skipped as their lookup failed`),
          );
        } else {
          assert.deepEqual(outputs.map((output) => output.id), range(events));
          assert.deepEqual(
            outputs.filter((output) => output.user === null).map((output) =>
              output.id
            ),
            failing,
          );
          assert.match(
            run.stderr,
            new RegExp(`${failing.length} written as failed lookups`),
          );
        }
      } finally {
        await removeDirectory(directory);
      }
    },
  );
}
