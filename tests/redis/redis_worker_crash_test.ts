// redisWorker() in worker processes that are killed, stalled and restarted
// while they run, against a real redis-server started here.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  chaos,
  inputStreams,
  loadInputs,
  pendingCount,
  verifyOutputs,
  waitForOutputs,
  WorkerPool,
} from "../../demo/redis_cluster.ts";
import { useRedis } from "./_redis.ts";

const redis = useRedis();

const COUNT = 30_000;
const WORKERS = 4;

/**
 * Runs the workers under chaos to the end and checks what every such run must
 * hold; returns the verdict for the checks of one run.
 */
async function crashRun(name: string, partitions?: number) {
  const input = `${name}:in`;
  const output = `${name}:out`;
  const group = name;
  await loadInputs(redis.client.send, {
    input,
    count: COUNT,
    // Few keys: a key's entries sit close together in a partition, so they
    // would overtake each other without key-ordered mode and the leases.
    keys: partitions === undefined ? 500 : 128,
    ...(partitions === undefined ? {} : { partitions }),
  });
  const pool = new WorkerPool({
    url: redis.server.url,
    workers: WORKERS,
    input,
    output,
    group,
    order: partitions === undefined ? "unordered" : "key-ordered",
    capacity: 20,
    delayMs: 10,
    jitter: true,
    claimIdleMs: 1_000,
    leaseMs: 1_500,
    ...(partitions === undefined ? {} : { partitions }),
  });
  let outputs = 0;
  pool.start();
  const chaotic = chaos(pool, {
    workers: WORKERS,
    everyMs: 350,
    stallMs: 1_500,
    done: () => outputs >= COUNT,
  });
  const streams = inputStreams(input, partitions);
  try {
    await waitForOutputs(redis.client.send, {
      output,
      count: COUNT,
      streams,
      group,
      timeoutMs: 120_000,
      onProgress: (n) => outputs = n,
    });
  } finally {
    outputs = Infinity;
    await chaotic;
    await pool.stop();
  }
  const verdict = await verifyOutputs(redis.client.send, output, COUNT);
  // For the CI log: how much chaos this run saw.
  console.log(
    `${name}: ${pool.kills} SIGKILLs, ${pool.stalls} SIGSTOP stalls, ${pool.restarts} restarts, ${verdict.outputs} outputs`,
  );
  assert.ok(pool.kills >= 10, `only ${pool.kills} kills`);
  assert.ok(pool.stalls >= 3, `only ${pool.stalls} stalls`);
  assert.deepEqual(pool.failures, []);
  assert.equal(verdict.outputs, COUNT);
  assert.equal(verdict.duplicates, 0);
  assert.equal(verdict.missing, 0);
  assert.equal(verdict.extra, 0);
  assert.equal(await pendingCount(redis.client.send, streams, group), 0);
  return verdict;
}

test("redisWorker() delivers every input exactly once through SIGKILLs and SIGSTOP stalls of 4 worker processes", async () => {
  await crashRun("crash");
});

test("redisWorker() keeps per-key order across worker processes and crashes in partitioned mode", async () => {
  const verdict = await crashRun("partitioned", 8);
  assert.equal(verdict.orderViolations, 0);
});
