// An adversarial review of the deleted-entries set (`<stream>:<group>:deleted`)
// against a real redis-server: a claim records there the pending entries
// that XAUTOCLAIM drops because they were deleted from the stream, and the
// dead-letter commit that reports one takes it out, exactly once.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RespClient } from "../../demo/redis_resp.ts";
import {
  redisStreamSource,
  redisWorker,
  type RedisWorkerOptions,
} from "../../src/redis.ts";
import {
  addEntries,
  deletedIds,
  deliverAll,
  eventually,
  pending,
  readAll,
  useRedis,
} from "./_redis.ts";

const redis = useRedis();

/**
 * `count` entries of `stream`, delivered to a consumer that died, then
 * deleted from the stream: they are pending, and gone.
 */
async function deletedWhilePending(stream: string, count: number) {
  const ids = await addEntries(redis.client, stream, count);
  await deliverAll(redis.client, stream, "g", "dead");
  await redis.client.send(["XDEL", stream, ...ids]);
  return ids;
}

function members(key: string): Promise<string[]> {
  return deletedIds(redis.client, key);
}

/**
 * Waits until every id in `stream`'s deleted set is reported, then `ms`
 * more for a late duplicate to show.
 */
async function untilReported(stream: string, timeout: number, ms: number) {
  await eventually(
    async () => (await members(`${stream}:g:deleted`)).length === 0,
    timeout,
  );
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** The input ids that `deadLetter` holds, sorted. */
async function deadLettered(deadLetter: string): Promise<string[]> {
  const entries = await readAll(redis.client, deadLetter);
  return entries.map((entry) => entry.fields.id!).sort();
}

/**
 * A worker without deadLetter fails on deleted entries after its claim
 * recorded them: they are left in the set, as by a worker that died
 * between its claim and its dead letters.
 */
async function leaveInSet(options: Omit<RedisWorkerOptions, "fn">) {
  // One claim, of every one of them.
  const worker = redisWorker({
    ...options,
    count: 100,
    fn: ({ fields }) => fields,
  });
  await assert.rejects(worker.done, /deleted from the stream while pending/);
  await worker.stop();
}

/**
 * Runs a worker with a dead-letter stream over `options` until it holds
 * `count` dead letters, then stops it; returns the worker's stats.
 */
async function deadLetterAll(
  options: Omit<RedisWorkerOptions, "fn" | "deadLetter">,
  deadLetter: string,
  count: number,
) {
  const worker = redisWorker({
    ...options,
    deadLetter,
    fn: ({ fields }) => fields,
  });
  try {
    await eventually(
      async () => (await readAll(redis.client, deadLetter)).length === count,
      5_000,
    );
  } finally {
    await worker.stop();
  }
  return worker.stats;
}

test("redisStreamSource() fails on a key of the wrong type at <stream>:<group>:deleted before its claim drops the deleted entries from the pending list", async () => {
  const stream = redis.name("review-deleted-wrongtype");
  const [gone] = await deletedWhilePending(stream, 1);
  await redis.client.send(["SET", `${stream}:g:deleted`, "not a sorted set"]);
  const reported: string[] = [];
  const options = {
    send: redis.client.send,
    stream,
    group: "g",
    consumer: "c",
    claimIdleMs: 0,
    blockMs: 50,
    onDeleted: (_: string, ids: string[]) => void reported.push(...ids),
  };
  const reader = redisStreamSource(options).getReader();
  await assert.rejects(reader.read(), /WRONGTYPE/);
  // Not lost: once the key is fixed, a claim still finds the entry.
  assert.equal(await pending(redis.client, stream, "g"), 1);
  await redis.client.send(["DEL", `${stream}:g:deleted`]);
  const again = redisStreamSource(options).getReader();
  const read = again.read();
  await eventually(() => reported.length === 1, 5_000);
  assert.deepEqual(reported, [gone]);
  await again.cancel();
  await read;
});

test("redisWorker() in partitions mode dead-letters every deleted entry left in the set, more than count of them, while it keeps its lease", async () => {
  const input = redis.name("review-deleted-partitions");
  const partition = `${input}:0`;
  const ids = await deletedWhilePending(partition, 5);
  const base = {
    send: redis.client.send,
    input,
    output: `${input}:out`,
    group: "g",
    consumer: "c",
    partitions: 1,
    count: 2,
    leaseMs: 300,
    pollMs: 10,
  };
  await leaveInSet(base);
  assert.deepEqual(await members(`${partition}:g:deleted`), ids.sort());
  // A lease taken once, and kept: the claim from 0-0 runs once.
  const stats = await deadLetterAll(base, `${input}:dead`, 5);
  assert.deepEqual(await members(`${partition}:g:deleted`), []);
  assert.equal(stats.deadLettered, 5);
  // A dead letter commits its input: the deleted ones count as any other.
  assert.equal(stats.committed, 5);
  assert.equal(stats.duplicates, 0);
});

test("redisWorker() dead-letters every deleted entry left in the set, more than count of them, a count per claim round", async () => {
  const input = redis.name("review-deleted-rounds");
  const ids = await deletedWhilePending(input, 5);
  const base = {
    send: redis.client.send,
    blockingSend: redis.reads.send,
    input,
    output: `${input}:out`,
    group: "g",
    consumer: "c",
    count: 2,
    claimIdleMs: 0,
    claimIntervalMs: 20,
    blockMs: 10,
  };
  await leaveInSet(base);
  assert.deepEqual(await members(`${input}:g:deleted`), ids.sort());
  await deadLetterAll(base, `${input}:dead`, 5);
  assert.deepEqual(await members(`${input}:g:deleted`), []);
});

test("redisWorker()s racing on the same leftover deleted entries dead-letter each exactly once, with doneRetentionMs: 0", async () => {
  const input = redis.name("review-deleted-race");
  const ids = await deletedWhilePending(input, 40);
  const base = {
    input,
    output: `${input}:out`,
    group: "g",
    count: 100,
    claimIdleMs: 0,
    claimIntervalMs: 5,
    blockMs: 5,
    doneRetentionMs: 0,
  };
  await leaveInSet({
    ...base,
    send: redis.client.send,
    blockingSend: redis.reads.send,
    consumer: "first",
  });
  const deadLetter = `${input}:dead`;
  const clients = Array.from(
    { length: 6 },
    () => new RespClient(redis.server.url),
  );
  const workers = [0, 1, 2].map((w) =>
    redisWorker({
      ...base,
      send: clients[2 * w]!.send,
      blockingSend: clients[2 * w + 1]!.send,
      consumer: `racer-${w}`,
      deadLetter,
      fn: ({ fields }) => fields,
    })
  );
  try {
    // And a few more claim rounds each, for a late duplicate to show.
    await untilReported(input, 10_000, 200);
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
    for (const client of clients) client.close();
  }
  assert.deepEqual(await deadLettered(deadLetter), ids.sort());
  assert.equal(
    workers.reduce((sum, worker) => sum + worker.stats.deadLettered, 0),
    40,
  );
  // Each written once, so committed once; a racer that came second counts a
  // duplicate.
  assert.equal(
    workers.reduce((sum, worker) => sum + worker.stats.committed, 0),
    40,
  );
});

test("redisWorker() dead-letters each deleted entry exactly once after a worker is SIGKILLed between its claim and its dead letters", async () => {
  const input = redis.name("review-deleted-sigkill");
  const ids = await deletedWhilePending(input, 3);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      new URL("../fixtures/redis_deleted_child.ts", import.meta.url).pathname,
      redis.server.url,
      input,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream());
  for await (const text of lines) if (text.includes("claimed")) break;
  child.kill("SIGKILL");
  await child.status;
  // The claim dropped them from the pending list and recorded them.
  assert.equal(await pending(redis.client, input, "g"), 0);
  assert.deepEqual(await members(`${input}:g:deleted`), [...ids].sort());
  const deadLetter = `${input}:dead`;
  const worker = redisWorker({
    send: redis.client.send,
    blockingSend: redis.reads.send,
    input,
    output: `${input}:out`,
    group: "g",
    consumer: "heir",
    deadLetter,
    claimIdleMs: 0,
    claimIntervalMs: 20,
    blockMs: 10,
    fn: ({ fields }) => fields,
  });
  try {
    await untilReported(input, 5_000, 100);
  } finally {
    await worker.stop();
  }
  assert.deepEqual(await deadLettered(deadLetter), [...ids].sort());
});

test("redisWorker() in partitions mode fails on a key of the wrong type at <stream>:<group>:deleted and leaves the deleted entries pending", async () => {
  const input = redis.name("review-deleted-partitions-wrongtype");
  const partition = `${input}:0`;
  await deletedWhilePending(partition, 2);
  await redis.client.send([
    "SET",
    `${partition}:g:deleted`,
    "not a sorted set",
  ]);
  const worker = redisWorker({
    send: redis.client.send,
    input,
    output: `${input}:out`,
    group: "g",
    consumer: "c",
    partitions: 1,
    deadLetter: `${input}:dead`,
    fn: ({ fields }) => fields,
  });
  await assert.rejects(worker.done, /WRONGTYPE/);
  await worker.stop();
  assert.equal(await pending(redis.client, partition, "g"), 2);
});
