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

const { values: flags } = parseArgs({
  args: Deno.args,
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
});
if (flags.help) {
  console.log(HELP);
  Deno.exit(0);
}
const events = positive("events", flags.events);
const workers = positive("workers", flags.workers);
const partitions = flags.partitions === undefined
  ? undefined
  : positive("partitions", flags.partitions);
const capacity = positive("capacity", flags.capacity);
const scalingEvents = positive("scaling-events", flags["scaling-events"]);
const latency = Number(flags.latency);

function positive(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    console.error(
      `--${name} must be a positive integer: current value is ${text}`,
    );
    Deno.exit(2);
  }
  return value;
}

let server: Awaited<ReturnType<typeof startRedisServer>> | undefined;
let url = flags["redis-url"];
if (url === undefined) {
  try {
    server = await startRedisServer();
  } catch (error) {
    if (error instanceof RedisMissingError) {
      console.error(`error: ${error.message}`);
      Deno.exit(1);
    }
    throw error;
  }
  url = server.url;
  console.log(`Started redis-server at ${url}`);
}
const client = new RespClient(url);
const lookup = startLookupService({ latency, jitter: 0, failureRate: 0 });
const run = `demo-redis:${Date.now()}`;
const created: string[] = [];
let failed = false;

try {
  failed = !await chaosRun();
  if (!flags["no-scaling"]) await scaling();
} finally {
  if (server === undefined) await cleanUp();
  client.close();
  await lookup.close();
  await server?.stop();
}
Deno.exit(failed ? 1 : 0);

async function chaosRun(): Promise<boolean> {
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
    url: url!,
    workers,
    input,
    output,
    group: name,
    order: partitions === undefined ? "unordered" : "key-ordered",
    capacity,
    delayMs: 0,
    lookup: lookup.url,
    claimIdleMs: 1_000,
    leaseMs: 1_500,
    ...(partitions === undefined ? {} : { partitions }),
  });
  let outputs = 0;
  const started = performance.now();
  pool.start();
  const chaotic = flags["no-chaos"] ? Promise.resolve() : chaos(pool, {
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

async function scaling(): Promise<void> {
  console.log(
    `\nThroughput, ${scalingEvents} entries, lookup latency ${latency} ms, capacity ${capacity} per worker:`,
  );
  let single = 0;
  for (const count of [1, 2, 4]) {
    const name = `${run}:scale-${count}`;
    const input = `${name}:in`;
    const output = `${name}:out`;
    await loadInputs(client.send, { input, count: scalingEvents, keys: 1000 });
    created.push(input, output);
    const pool = new WorkerPool({
      url: url!,
      workers: count,
      input,
      output,
      group: name,
      order: "unordered",
      capacity,
      delayMs: 0,
      lookup: lookup.url,
    });
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

async function cleanUp(): Promise<void> {
  // Only on a server we did not start: drop the demo's keys.
  const keys = await client.send(["KEYS", `${run}:*`]) as string[];
  for (let i = 0; i < keys.length; i += 100) {
    await client.send(["DEL", ...keys.slice(i, i + 100)]);
  }
}
