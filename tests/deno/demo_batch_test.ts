// The demo's --batch flag: parsing, and a run through the embedded service's
// batch endpoint, as a child process.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FlagError, parseFlags } from "../../demo/flags.ts";
import { startLookupService } from "../../demo/lookup_server.ts";
import { idsOf, quickArgs, range, runDemo } from "./_demo.ts";

test("parseFlags() reads --batch, and leaves it out by default", () => {
  assert.equal(parseFlags(["--batch", "20"]).batch, 20);
  assert.equal("batch" in parseFlags([]), false);
});

for (
  const [args, message] of [
    [["--batch", "0"], "--batch must be a positive integer"],
    [["--batch", "x"], "--batch must be a positive integer"],
    [
      ["--capacity", "10", "--batch", "11"],
      "--batch must be at most --capacity (10)",
    ],
  ] as const
) {
  test(`parseFlags() rejects ${args.join(" ")}`, () => {
    assert.throws(() => parseFlags(args), (error: unknown) => {
      assert.ok(error instanceof FlagError);
      assert.match(error.message, new RegExp(message.replace(/[()]/g, "\\$&")));
      return true;
    });
  });
}

test("the lookup service's batch endpoint answers users in the order asked", async () => {
  const service = startLookupService({ latency: 0, jitter: 0, failureRate: 0 });
  try {
    const response = await fetch(`${service.url}/users?ids=3,1,3`);
    const users = await response.json() as { id: number }[];
    assert.deepEqual(users.map((user) => user.id), [3, 1, 3]);
    const bad = await fetch(`${service.url}/users?ids=1,,2`);
    assert.equal(bad.status, 404);
    await bad.body?.cancel();
    assert.equal(service.stats.requests, 1);
  } finally {
    await service.close();
  }
});

test("demo --batch enriches every event with one request per batch", async () => {
  const run = await runDemo(quickArgs(300, "--baseline", "0", "--batch", "25"));
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(idsOf(run.stdout), range(300));
  for (const line of run.stdout.split("\n").filter((line) => line !== "")) {
    const { userId, user } = JSON.parse(line);
    assert.equal(user.id, userId, line);
  }
  const requests = Number(/service: +(\d+) requests/.exec(run.stderr)?.[1]);
  assert.ok(requests >= 12 && requests < 300, run.stderr);
  assert.match(run.stderr, /events per request over \d+ requests/);
});
