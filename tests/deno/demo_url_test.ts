// The demo against a --url it cannot use: it must stop at once with a message
// that says why, and never print a speedup.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runDemo } from "./_demo.ts";

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

test("demo --url fails at once with exit code 1 when nothing listens there", async () => {
  const url = `http://127.0.0.1:${closedPort()}`;
  const run = await runDemo(["--url", url, "--events", "50000"]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(
    run.stderr,
    new RegExp(
      `The demo failed: Cannot reach the lookup service at ${url}: .*refused`,
      "i",
    ),
  );
  // It stopped before the first call: no run started, so no speedup.
  assert.doesNotMatch(run.stderr, /sequential|async I\/O|speedup/);
  assert.equal(run.stdout, "");
});

test("demo --url stops with exit code 1 when the service goes away mid-run", async () => {
  let answered = 0;
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, (request) => {
    // After 20 answers the service closes for good; the rest are refused.
    if (++answered === 20) void server.shutdown();
    const id = Number(new URL(request.url).pathname.split("/")[2]);
    return Response.json({ id, name: `user-${id}`, plan: "external" });
  });
  try {
    const run = await runDemo([
      "--url",
      `http://127.0.0.1:${server.addr.port}`,
      "--events",
      "5000",
      "--capacity",
      "4",
      "--baseline",
      "0",
      // Longer than the outage budget, so the events do not just time out.
      "--timeout",
      "600000",
    ]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      /The demo failed: Lost the lookup service at http:\/\/127\.0\.0\.1:\d+: no answer for 3 s; last error: /,
    );
    assert.doesNotMatch(run.stderr, /speedup/);
  } finally {
    await server.finished;
  }
});

/**
 * A lookup service that answers its first `answers` requests; after them it
 * either closes for good ("closes") or accepts and never answers ("hangs").
 */
function failingService(answers: number, failure: "closes" | "hangs") {
  let answered = 0;
  const hanging: (() => void)[] = [];
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, (request) => {
    if (++answered > answers) {
      return new Promise<Response>((resolve) =>
        hanging.push(() => resolve(new Response(null, { status: 503 })))
      );
    }
    if (answered === answers && failure === "closes") void server.shutdown();
    const id = Number(new URL(request.url).pathname.split("/")[2]);
    return Response.json({ id, name: `user-${id}`, plan: "external" });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    async close() {
      // Settle the requests it held, so that the server can shut down.
      for (const answer of hanging) answer();
      if (failure === "hangs") await server.shutdown();
      await server.finished;
    },
  };
}

const LOST =
  /The demo failed: Lost the lookup service at http:\/\/127\.0\.0\.1:\d+: no answer for 3 s; last error: /;

test("demo --url stops with exit code 1 when the service accepts requests and stops answering, though every call times out first", async () => {
  const service = failingService(20, "hangs");
  try {
    // Without the outage check, 50,000 events of 1 s timeouts at capacity
    // 100 would take over 8 minutes, and the run would exit 0.
    const run = await runDemo([
      "--url",
      service.url,
      "--events",
      "50000",
      "--baseline",
      "0",
    ]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, LOST);
    assert.match(run.stderr, /last error: timed out after 1000 ms/);
    assert.doesNotMatch(run.stderr, /speedup/);
  } finally {
    await service.close();
  }
});

for (const onError of ["skip", "settle"]) {
  test(`demo --url --on-error ${onError} still stops with exit code 1 when the service goes away mid-run`, async () => {
    const service = failingService(20, "closes");
    try {
      const run = await runDemo([
        "--url",
        service.url,
        "--events",
        "50000",
        "--baseline",
        "0",
        "--on-error",
        onError,
      ]);
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, LOST);
    } finally {
      await service.close();
    }
  });
}

test("demo refuses --latency, --jitter, --failure-rate and --fail-rate with --url, with exit code 2", async () => {
  for (
    const flag of ["--latency", "--jitter", "--failure-rate", "--fail-rate"]
  ) {
    const run = await runDemo(["--url", "http://127.0.0.1:9", flag, "0.5"]);
    assert.equal(run.code, 2, flag);
    assert.match(
      run.stderr,
      new RegExp(
        `Cannot run the demo as ${flag} must be left out when --url is given`,
      ),
    );
    assert.equal(run.stdout, "");
  }
});

test("demo --url to a host outside --allow-net names the permission, with exit code 2", async () => {
  const run = await runDemo(["--url", "https://lookup.example.com/api"]);
  assert.equal(run.code, 2, run.stderr);
  assert.match(
    run.stderr,
    /Cannot run the demo as --url needs network access to lookup\.example\.com:443, which this run does not have \(deno task demo grants only --allow-net=127\.0\.0\.1\)/,
  );
  assert.match(
    run.stderr,
    /deno run --allow-net=lookup\.example\.com:443 --allow-read --allow-write demo\/main\.ts --url https:\/\/lookup\.example\.com\/api/,
  );
  assert.doesNotMatch(run.stderr, /NotCapable|Requires net access/);
});
