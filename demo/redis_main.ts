// The Redis Streams demo: W worker processes share one input through a
// consumer group, call the demo's lookup service for each entry, and are
// killed, stalled and restarted while they run; then the output stream is
// checked (every input exactly once, per-key order when partitioned), and
// the throughput of 1, 2 and 4 workers is measured.
//
//   deno task demo:redis [--events 20000] [--workers 4] [--partitions 8]
//                        [--redis-url redis://127.0.0.1:6379] [--no-chaos]
import { parseArgs } from "node:util";
import { startLookupService } from "./lookup_server.ts";
import {
  chaos,
  inputStreams,
  loadInputs,
  pendingCount,
  throughput,
  verifyOutputs,
  waitForOutputs,
  WorkerPool,
} from "./redis_cluster.ts";
import { RespClient } from "./redis_resp.ts";
import { RedisMissingError, startRedisServer } from "./redis_server.ts";

const HELP = `\
deno task demo:redis [flags]

Runs worker processes of redisWorker() against a Redis stream, kills
(SIGKILL) and stalls (SIGSTOP/SIGCONT) them while they run, restarts them,
and checks that the output stream holds every input exactly once. Then it
measures the throughput of 1, 2 and 4 workers.

  --redis-url URL    a running Redis (default: start redis-server on a free port)
  --events N         input entries of the chaos run (default 20000)
  --workers W        worker processes of the chaos run (default 4)
  --partitions P     partitioned mode: P leased streams, key-ordered (default: off)
  --latency MS       the lookup service's latency (default 5)
  --capacity N       capacity of each worker (default 10)
  --scaling-events N input entries of each scaling run (default 10000)
  --no-chaos         no kills or stalls
  --no-scaling       skip the 1/2/4-worker throughput runs
  -h, --help         this text
`;

/** A bad command line; the demo prints it and exits with code 2. */
class FlagError extends Error {
  override name = "FlagError";
}

function invalid(flag: string, rule: string, value: string): FlagError {
  return new FlagError(
    `Cannot run the Redis demo as --${flag} must be ${rule}: current value is ${
      JSON.stringify(value)
    }`,
  );
}

function positive(name: string, text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
    throw invalid(name, "a positive integer", text);
  }
  return value;
}

function parseFlags(args: string[]) {
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        "redis-url": { type: "string" },
        events: { type: "string", default: "20000" },
        workers: { type: "string", default: "4" },
        partitions: { type: "string" },
        latency: { type: "string", default: "5" },
        capacity: { type: "string", default: "10" },
        "scaling-events": { type: "string", default: "10000" },
        "no-chaos": { type: "boolean", default: false },
        "no-scaling": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }).values;
  } catch (error) {
    // parseArgs's own message names the flag: an unknown one, or no value.
    throw new FlagError(
      `Cannot run the Redis demo: ${(error as Error).message}`,
    );
  }
  const latency = Number(values.latency);
  if (
    values.latency.trim() === "" || !Number.isFinite(latency) || latency < 0
  ) {
    throw invalid(
      "latency",
      "a non-negative number of milliseconds",
      values.latency,
    );
  }
  const redisUrl = values["redis-url"];
  if (redisUrl !== undefined && !URL.canParse(redisUrl)) {
    throw invalid(
      "redis-url",
      "a URL such as redis://127.0.0.1:6379",
      redisUrl,
    );
  }
  if (redisUrl !== undefined && new URL(redisUrl).protocol !== "redis:") {
    throw invalid("redis-url", "a redis:// URL", redisUrl);
  }
  return {
    help: values.help,
    redisUrl,
    events: positive("events", values.events),
    workers: positive("workers", values.workers),
    partitions: values.partitions === undefined
      ? undefined
      : positive("partitions", values.partitions),
    capacity: positive("capacity", values.capacity),
    scalingEvents: positive("scaling-events", values["scaling-events"]),
    latency,
    chaos: !values["no-chaos"],
    scaling: !values["no-scaling"],
  };
}

let flags: ReturnType<typeof parseFlags>;
try {
  flags = parseFlags(Deno.args);
} catch (error) {
  if (!(error instanceof FlagError)) throw error;
  console.error(`${error.message}\nRun with --help to see the flags.`);
  Deno.exit(2);
}
if (flags.help) {
  console.log(HELP);
  Deno.exit(0);
}
const { events, workers, partitions, capacity, scalingEvents, latency } = flags;

// The worker pools that run now, for Ctrl-C to stop.
const pools = new Set<WorkerPool>();
let server: Awaited<ReturnType<typeof startRedisServer>> | undefined;
// While redis-server starts: a Ctrl-C then waits for it, to stop it too.
let starting: ReturnType<typeof startRedisServer> | undefined;
let interrupted = false;

// Ctrl-C: stop the workers (a stalled one is woken to die) and the
// redis-server this demo started, so that none outlives the demo. A terminal
// sends SIGINT to them too, but a stalled worker does not get it, and a
// SIGINT sent to this process alone reaches none of them.
Deno.addSignalListener("SIGINT", async () => {
  if (interrupted) return;
  interrupted = true;
  console.error("interrupted (Ctrl-C): stopping the workers and redis-server");
  await Promise.allSettled([...pools].map((pool) => pool.stop()));
  await (server ?? await starting?.catch(() => undefined))?.stop();
  Deno.exit(130);
});

let url = flags.redisUrl;
let client: RespClient | undefined;
let lookup: ReturnType<typeof startLookupService> | undefined;
const run = `demo-redis:${Date.now()}`;
const created: string[] = [];
let failed = false;

try {
  if (url === undefined) {
    starting = startRedisServer();
    server = await starting;
    url = server.url;
    console.log(`Started redis-server at ${url}`);
  }
  client = new RespClient(url);
  await client.send(["PING"]).catch((error) => {
    throw new Error(`Cannot reach Redis at ${url}: ${error.message}`);
  });
  lookup = startLookupService({ latency, jitter: 0, failureRate: 0 });
  failed = !await chaosRun(client, url, lookup.url);
  if (flags.scaling) await scaling(client, url, lookup.url);
} catch (error) {
  // After Ctrl-C, the handler ends the process; what failed meanwhile is
  // its consequence, not news.
  if (interrupted) await new Promise(() => {});
  console.error(
    error instanceof RedisMissingError
      ? `error: ${error.message}`
      : `The Redis demo failed: ${
        error instanceof Error ? error.message : String(error)
      }`,
  );
  failed = true;
} finally {
  if (server === undefined && client !== undefined && !interrupted) {
    await cleanUp(client).catch(() => {});
  }
  client?.close();
  await lookup?.close();
  await server?.stop();
}
Deno.exit(interrupted ? 130 : failed ? 1 : 0);

async function chaosRun(
  client: RespClient,
  url: string,
  lookupUrl: string,
): Promise<boolean> {
  const name = `${run}:chaos`;
  const input = `${name}:in`;
  const output = `${name}:out`;
  const mode = partitions === undefined
    ? "one shared stream, unordered"
    : `${partitions} partitions, key-ordered`;
  console.log(
    `\nChaos run: ${events} entries, ${workers} workers (${mode}), lookup latency ${latency} ms`,
  );
  await loadInputs(client.send, {
    input,
    count: events,
    keys: 1000,
    ...(partitions === undefined ? {} : { partitions }),
  });
  created.push(...inputStreams(input, partitions), output);
  const pool = new WorkerPool({
    url,
    workers,
    input,
    output,
    group: name,
    order: partitions === undefined ? "unordered" : "key-ordered",
    capacity,
    delayMs: 0,
    lookup: lookupUrl,
    claimIdleMs: 1_000,
    leaseMs: 1_500,
    ...(partitions === undefined ? {} : { partitions }),
  });
  let outputs = 0;
  const started = performance.now();
  pools.add(pool);
  pool.start();
  const chaotic = !flags.chaos ? Promise.resolve() : chaos(pool, {
    workers,
    everyMs: 400,
    stallMs: 1_500,
    done: () => outputs >= events,
  });
  const streams = inputStreams(input, partitions);
  let lastPrint = 0;
  try {
    await waitForOutputs(client.send, {
      output,
      count: events,
      streams,
      group: name,
      timeoutMs: 600_000,
      onProgress: (n) => {
        outputs = n;
        if (performance.now() - lastPrint > 1_000) {
          lastPrint = performance.now();
          console.log(
            `  ${n} / ${events} outputs; ${pool.kills} kills, ${pool.stalls} stalls, ${pool.restarts} restarts`,
          );
        }
      },
    });
  } finally {
    outputs = Infinity;
    await chaotic;
    await pool.stop();
    pools.delete(pool);
  }
  const seconds = (performance.now() - started) / 1000;
  const verdict = await verifyOutputs(client.send, output, events);
  const pending = await pendingCount(client.send, streams, name);
  const ok = verdict.outputs === events && verdict.duplicates === 0 &&
    verdict.missing === 0 && verdict.extra === 0 && pending === 0 &&
    (partitions === undefined || verdict.orderViolations === 0);
  console.log(
    `  done in ${
      seconds.toFixed(1)
    } s: ${pool.kills} SIGKILLs, ${pool.stalls} SIGSTOP stalls, ${pool.restarts} restarts`,
  );
  console.log(
    `  output stream: ${verdict.outputs} entries, ${verdict.duplicates} duplicates, ${verdict.missing} missing, ${verdict.extra} extra, ${pending} pending` +
      (partitions === undefined
        ? ""
        : `, ${verdict.orderViolations} per-key order violations`),
  );
  console.log(`  ${ok ? "PASS" : "FAIL"}: every input exactly once`);
  return ok;
}

async function scaling(
  client: RespClient,
  url: string,
  lookupUrl: string,
): Promise<void> {
  console.log(
    `\nThroughput, ${scalingEvents} entries, lookup latency ${latency} ms, capacity ${capacity} per worker:`,
  );
  let single = 0;
  for (const count of [1, 2, 4]) {
    if (interrupted) return; // no new workers once Ctrl-C stops the others
    const name = `${run}:scale-${count}`;
    const input = `${name}:in`;
    const output = `${name}:out`;
    await loadInputs(client.send, { input, count: scalingEvents, keys: 1000 });
    created.push(input, output);
    const pool = new WorkerPool({
      url,
      workers: count,
      input,
      output,
      group: name,
      order: "unordered",
      capacity,
      delayMs: 0,
      lookup: lookupUrl,
    });
    pools.add(pool);
    pool.start();
    try {
      await waitForOutputs(client.send, {
        output,
        count: scalingEvents,
        streams: [input],
        group: name,
        timeoutMs: 600_000,
      });
    } finally {
      await pool.stop();
      pools.delete(pool);
    }
    const rate = throughput(
      await verifyOutputs(client.send, output, scalingEvents),
    );
    if (count === 1) single = rate;
    console.log(
      `  W=${count}: ${Math.round(rate).toLocaleString("en-US")} entries/s (${
        (rate / single).toFixed(2)
      }x of W=1)`,
    );
  }
}

async function cleanUp(client: RespClient): Promise<void> {
  // Only on a server we did not start: drop the demo's keys.
  const keys = await client.send(["KEYS", `${run}:*`]) as string[];
  for (let i = 0; i < keys.length; i += 100) {
    await client.send(["DEL", ...keys.slice(i, i + 100)]);
  }
}
