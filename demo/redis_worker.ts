// One worker process of the Redis demo: runs redisWorker() until SIGTERM or
// an error. The demo, the benchmark and the crash tests start several of
// these and kill, stall and restart them.
//
//   deno run --allow-net=127.0.0.1 demo/redis_worker.ts --url redis://127.0.0.1:6379 \
//     --consumer w1 --delay-ms 5
import { parseArgs } from "node:util";
import type { OutputOrder } from "../mod.ts";
import { type RedisFields, redisWorker } from "../src/redis.ts";
import { RespClient } from "./redis_resp.ts";

const flags = parseArgs({
  args: Deno.args,
  options: {
    url: { type: "string" },
    input: { type: "string", default: "demo:in" },
    output: { type: "string", default: "demo:out" },
    group: { type: "string", default: "demo" },
    consumer: { type: "string" },
    partitions: { type: "string" },
    order: { type: "string", default: "unordered" },
    capacity: { type: "string", default: "50" },
    // Each call waits this long; with --jitter, uniformly 0..2x as long.
    "delay-ms": { type: "string", default: "0" },
    jitter: { type: "boolean", default: false },
    // Look each entry's user up in the demo's HTTP lookup service instead.
    lookup: { type: "string" },
    "claim-idle-ms": { type: "string", default: "2000" },
    "lease-ms": { type: "string", default: "2000" },
    "dead-letter": { type: "string" },
  },
}).values;

if (flags.url === undefined || flags.consumer === undefined) {
  console.error("redis_worker.ts needs --url and --consumer");
  Deno.exit(2);
}

const delayMs = Number(flags["delay-ms"]);
const lookup = flags.lookup;
const claimIdleMs = Number(flags["claim-idle-ms"]);

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function process(
  { id, fields }: { id: string; fields: RedisFields },
  { signal }: { signal: AbortSignal },
): Promise<RedisFields> {
  const seq = fields.seq;
  const key = fields.key;
  if (seq === undefined || key === undefined) {
    throw new TypeError(`Entry ${id} lacks the seq or key field`);
  }
  const output: RedisFields = { input: id, seq, key };
  if (lookup !== undefined) {
    const response = await fetch(`${lookup}/users/${key}`, { signal });
    if (!response.ok) throw new Error(`Lookup failed: ${response.status}`);
    output.name = (await response.json() as { name: string }).name;
  } else if (delayMs > 0) {
    await sleep(flags.jitter ? Math.random() * 2 * delayMs : delayMs);
  }
  return output;
}

const commands = new RespClient(flags.url);
const reads = new RespClient(flags.url);
const worker = redisWorker({
  send: commands.send,
  blockingSend: reads.send,
  input: flags.input,
  output: flags.output,
  group: flags.group,
  consumer: flags.consumer,
  fn: process,
  order: flags.order as OutputOrder,
  capacity: Number(flags.capacity),
  key: (entry) => entry.fields.key,
  claimIdleMs,
  leaseMs: Number(flags["lease-ms"]),
  blockMs: 500,
  ...(lookup === undefined ? {} : {
    // A lookup that hangs would hold its entry for as long as the worker
    // lives (its heartbeat keeps the entry from being claimed): bound it, at
    // half of claimIdleMs, to which the demo scales its other timings (with
    // a claimIdleMs of 0 or 1, as in a test that claims at once, unbounded).
    ...(claimIdleMs > 1 ? { timeout: Math.floor(claimIdleMs / 2) } : {}),
    retry: { maxAttempts: 5, delay: 20, multiplier: 2 },
  }),
  ...(flags.partitions === undefined
    ? {}
    : { partitions: Number(flags.partitions) }),
  ...(flags["dead-letter"] === undefined
    ? {}
    : { deadLetter: flags["dead-letter"] }),
});

Deno.addSignalListener("SIGTERM", () => void worker.stop());
let code = 0;
try {
  await worker.done;
} catch (error) {
  console.error(
    `worker ${flags.consumer} failed: ${
      error instanceof Error ? error.message : error
    }`,
  );
  code = 1;
}
commands.close();
reads.close();
console.log(JSON.stringify(worker.stats));
Deno.exit(code);
