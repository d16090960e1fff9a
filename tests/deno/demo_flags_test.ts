// The demo's command line, parsed in-process.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FlagError, HELP, parseFlags } from "../../demo/flags.ts";

test("parseFlags() gives the documented defaults", () => {
  assert.deepEqual(parseFlags([]), {
    events: 5000,
    order: "ordered",
    capacity: 100,
    timeout: 1000,
    latency: 20,
    jitter: 10,
    failureRate: 0,
    failRate: 0,
    onError: "fail",
    url: undefined,
    out: undefined,
    baseline: 100,
    checkpointEvery: 100,
    crashAt: undefined,
    help: false,
    concurrency: undefined,
    serviceSlots: Infinity,
  });
});

test("parseFlags() reads every flag, in both --flag value and --flag=value forms", () => {
  const flags = parseFlags([
    "--events=50",
    "--order",
    "key-ordered",
    "--capacity=7",
    "--timeout",
    "2.5",
    "--latency=0",
    "--jitter=3",
    "--failure-rate",
    "0.25",
    "--fail-rate=0.05",
    "--on-error",
    "skip",
    "--out",
    "-",
    "--baseline=10",
    "--checkpoint-every=5",
    "-h",
    "--concurrency=auto",
    "--service-slots",
    "30",
  ]);
  assert.deepEqual(flags, {
    events: 50,
    order: "key-ordered",
    capacity: 7,
    timeout: 2.5,
    latency: 0,
    jitter: 3,
    failureRate: 0.25,
    failRate: 0.05,
    onError: "skip",
    url: undefined,
    out: "-",
    baseline: 10,
    checkpointEvery: 5,
    crashAt: undefined,
    help: true,
    concurrency: "auto",
    serviceSlots: 30,
  });
  assert.equal(parseFlags(["--concurrency", "12"]).concurrency, 12);
});

test("parseFlags() reads --url without its trailing slashes", () => {
  assert.equal(
    parseFlags(["--url=http://127.0.0.1:9000//", "--events", "5"]).url,
    "http://127.0.0.1:9000",
  );
});

test("parseFlags() refuses --latency, --jitter, --failure-rate and --fail-rate with --url", () => {
  for (
    const flag of ["--latency", "--jitter", "--failure-rate", "--fail-rate"]
  ) {
    assert.throws(
      () => parseFlags(["--url", "http://127.0.0.1:9000", flag, "0"]),
      (error: unknown) => {
        assert.ok(error instanceof FlagError, flag);
        assert.equal(
          error.message,
          `Cannot run the demo as ${flag} must be left out when --url is ` +
            `given, as it only shapes the embedded service: current value is "0"`,
        );
        return true;
      },
    );
  }
});

test("parseFlags() caps --baseline at --events", () => {
  assert.equal(
    parseFlags(["--events", "30", "--baseline", "100"]).baseline,
    30,
  );
});

test("parseFlags() takes a --crash-at up to the last line that --on-error skip writes", () => {
  const args = ["--fail-rate", "0.05", "--on-error", "skip", "--crash-at"];
  assert.equal(parseFlags([...args, "4750"]).crashAt, 4750);
  // Without skip every event writes a line.
  assert.equal(
    parseFlags(["--fail-rate", "0.05", "--crash-at", "5000"]).crashAt,
    5000,
  );
});

test("parseFlags() throws a FlagError that names the flag and the value", () => {
  for (
    const [args, message] of [
      [
        ["--events", "1e3"],
        /--events must be a positive integer: current value is "1e3"/,
      ],
      [
        ["--timeout", "0"],
        /--timeout must be a positive number of milliseconds: current value is "0"/,
      ],
      [
        ["--latency=-1"],
        /--latency must be a non-negative number of milliseconds: current value is "-1"/,
      ],
      [["--baseline", "-2"], /Cannot run the demo: /],
      [
        ["--baseline=-2"],
        /--baseline must be a non-negative integer: current value is "-2"/,
      ],
      [
        ["--url", "127.0.0.1:8080"],
        /--url must be an absolute http or https URL/,
      ],
      [
        ["--crash-at", "5", "--out", "-"],
        /--out must be a file when --crash-at is given/,
      ],
      [["--crash-at", "0"], /--crash-at must be a positive integer/],
      [
        ["--concurrency", "many"],
        /--concurrency must be a positive integer or "auto": current value is "many"/,
      ],
      [["--service-slots=0"], /--service-slots must be a positive integer/],
      [
        ["--fail-rate", "1.5"],
        /--fail-rate must be a number from 0 to below 1: current value is "1.5"/,
      ],
      [
        ["--on-error", "bogus"],
        /--on-error must be fail, settle or skip: current value is "bogus"/,
      ],
      [
        ["--concurrency", "101"],
        /--concurrency must be at most --capacity \(100\): current value is "101"/,
      ],
      [["stray"], /Unexpected argument 'stray'/],
      [
        // 250 of the 5000 events have an unknown user, and skip writes none.
        ["--fail-rate", "0.05", "--on-error", "skip", "--crash-at", "4751"],
        /--crash-at must be at most the 4750 lines that --on-error skip writes \(the users of 250 events are unknown at --fail-rate 0.05\): current value is "4751"/,
      ],
    ] as const
  ) {
    assert.throws(() => parseFlags(args), (error: unknown) => {
      assert.ok(error instanceof FlagError, args.join(" "));
      assert.match(error.message, message);
      return true;
    });
  }
});

test("the README's flag table and --help list the same flags", async () => {
  const readme = await Deno.readTextFile(
    new URL("../../README.md", import.meta.url),
  );
  const inReadme = [...readme.matchAll(/^\| `(--[a-z-]+)/gm)].map((m) => m[1]);
  const inHelp = [...HELP.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]);
  assert.ok(inHelp.length > 10, HELP);
  assert.deepEqual([...inReadme].sort(), [...inHelp].sort());
});
