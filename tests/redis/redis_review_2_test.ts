// An adversarial review of the partitioned worker's retake of a lease it lost,
// its hand-over by entry ids, and the counts its heartbeat script sorts by,
// against a real redis-server.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type RedisCommit,
  type RedisFields,
  type RedisStreamEntry,
  redisStreamSink,
  redisWorker,
} from "../../src/redis.ts";
import { controlledFn } from "../_deferred.ts";
import {
  addEntries,
  deletedIds,
  deliverAll,
  eventually,
  ns,
  pending,
  readAll,
  recordDeleted,
  useRedis,
} from "./_redis.ts";

const redis = useRedis();

const LEASE_MS = 600; // a beat every 200 ms

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One partition, `<input>:0`, with an entry `{ n }` per item. */
async function onePartition(label: string, items: string[]) {
  const input = redis.name(label);
  const stream = `${input}:0`;
  const ids: string[] = [];
  for (const n of items) {
    ids.push(
      await redis.client.send(["XADD", stream, "*", "n", n]) as string,
    );
  }
  return {
    input,
    stream,
    ids,
    lease: `${stream}:g:lease`,
    deleted: `${stream}:g:deleted`,
    output: `${input}:out`,
    deadLetter: `${input}:dead`,
    common: {
      send: redis.client.send,
      input,
      output: `${input}:out`,
      deadLetter: `${input}:dead`,
      group: "g",
      consumer: "worker",
      partitions: 1,
      leaseMs: LEASE_MS,
      pollMs: 10,
    },
  };
}

/** Resolves once the lease holds a token other than `token`. */
function retaken(lease: string, token: unknown): Promise<void> {
  return eventually(async () => {
    const now = await redis.client.send(["GET", lease]);
    return now !== null && now !== token;
  });
}

/**
 * Adds a second entry once the retake is over, lets both calls end, and
 * checks that each committed once: no dead letter, nothing left deleted.
 */
async function commitsBothOnce(
  { stream, output, deadLetter, deleted }: Awaited<
    ReturnType<typeof onePartition>
  >,
  held: ReturnType<typeof controlledFn<RedisStreamEntry, RedisFields>>,
  worker: ReturnType<typeof redisWorker>,
): Promise<void> {
  await redis.client.send(["XADD", stream, "*", "n", "1"]);
  await held.callsReach(2);
  await sleep(3 * LEASE_MS);
  for (const call of held.calls) call.resolve({ n: call.input.fields.n! });
  await eventually(async () =>
    worker.stats.committed + worker.stats.duplicates >= 2 &&
    await pending(redis.client, stream, "g") === 0
  );
  await sleep(3 * LEASE_MS);
  assert.deepEqual(ns(held.calls.map((call) => call.input)), [0, 1]);
  assert.deepEqual(
    (await readAll(redis.client, deadLetter)).map((e) => e.fields.error),
    [],
    "a call that ran to its end was dead-lettered as never processed",
  );
  assert.deepEqual(ns(await readAll(redis.client, output)), [0, 1]);
  assert.deepEqual(await deletedIds(redis.client, deleted), []);
  const { committed, duplicates, deadLettered } = worker.stats;
  assert.deepEqual({ committed, duplicates, deadLettered }, {
    committed: 2,
    duplicates: 0,
    deadLettered: 0,
  });
}

test("redisWorker() that takes back a partition it lost commits the output of a call still in flight there on an entry deleted from the stream meanwhile, not a dead letter", async () => {
  const partition = await onePartition("retake-deleted", ["0"]);
  const { stream, ids, lease, common } = partition;
  const held = controlledFn<RedisStreamEntry, RedisFields>();
  const worker = redisWorker({ ...common, fn: held.fn });
  try {
    await held.callsReach(1);
    // Trimmed while its call runs: still pending, and XACK still takes it.
    await redis.client.send(["XDEL", stream, ids[0]!]);
    const token = await redis.client.send(["GET", lease]);
    // As if the lease ran out while the worker stalled: it takes it anew,
    // and its claim round's XAUTOCLAIM finds the entry deleted.
    await redis.client.send(["DEL", lease]);
    await retaken(lease, token);
    // Read only once that claim round is over.
    await commitsBothOnce(partition, held, worker);
  } finally {
    for (const call of held.calls) call.resolve({ n: "x" });
    await worker.stop();
  }
});

test("redisWorker() that takes back a partition it lost does not dead-letter an entry whose call still runs there when a worker that held it meanwhile found it deleted and died before reporting it", async () => {
  const partition = await onePartition("retake-deleted-left", ["0"]);
  const { stream, ids, lease, deleted, common } = partition;
  const held = controlledFn<RedisStreamEntry, RedisFields>();
  const worker = redisWorker({ ...common, fn: held.fn });
  try {
    await held.callsReach(1);
    await redis.client.send(["XDEL", stream, ids[0]!]);
    // Another worker takes the lease, and its claim finds the entry deleted:
    // XAUTOCLAIM drops it from the pending list, the script records it in
    // the deleted set, and that worker dies before its dead letter.
    await redis.client.send(["SET", lease, "another worker"]);
    await eventually(() => worker.stats.partitions.length === 0);
    const claimed = await redis.client.send([
      "XAUTOCLAIM",
      stream,
      "g",
      "another",
      "0",
      "0-0",
    ]) as unknown[];
    assert.deepEqual(claimed[2], [ids[0]]);
    await recordDeleted(redis.client, deleted, ids[0]!);
    await redis.client.send(["DEL", lease]);
    await eventually(() => worker.stats.partitions.length === 1);
    // Its claim round and each read after it find the id in the set.
    await commitsBothOnce(partition, held, worker);
  } finally {
    for (const call of held.calls) call.resolve({ n: "x" });
    await worker.stop();
  }
});

/** Commits `commits` through a sink; returns what it counted. */
async function sinkCommits(output: string, commits: RedisCommit[]) {
  const counts = { committed: 0, duplicates: 0 };
  await ReadableStream.from(commits).pipeTo(redisStreamSink({
    send: redis.client.send,
    group: "g",
    output,
    onCommit: (committed, duplicates) => {
      counts.committed += committed;
      counts.duplicates += duplicates;
    },
  }));
  return counts;
}

test("redisStreamSink() commits the outputs of an input deleted from the stream whose claim took it off the pending list, if no dead letter did first, and leaves nothing to report", async () => {
  const stream = redis.name("sink-deleted-claimed");
  const output = `${stream}:out`;
  const deleted = `${stream}:g:deleted`;
  const [id] = await addEntries(redis.client, stream, 1);
  await deliverAll(redis.client, stream, "g", "c");
  await redis.client.send(["XDEL", stream, id!]);
  // A claim finds it deleted (the claim script records it) and its worker
  // dies before the dead letter; the call that still runs commits then.
  await redis.client.send(["XAUTOCLAIM", stream, "g", "other", "0", "0-0"]);
  await recordDeleted(redis.client, deleted, id!);
  assert.equal(await pending(redis.client, stream, "g"), 0);
  const counts = await sinkCommits(output, [
    { stream, id: id!, outputs: [{ n: "0" }] },
  ]);
  assert.deepEqual(counts, { committed: 1, duplicates: 0 });
  assert.deepEqual(ns(await readAll(redis.client, output)), [0]);
  assert.deepEqual(await deletedIds(redis.client, deleted), []);
  // A second commit of it is a duplicate.
  assert.deepEqual(
    await sinkCommits(output, [{ stream, id: id!, outputs: [{ n: "1" }] }]),
    { committed: 0, duplicates: 1 },
  );
  assert.deepEqual(ns(await readAll(redis.client, output)), [0]);
});

test("redisStreamSink() still drops the commit of an input that is not pending when <stream>:<group>:deleted holds another type", async () => {
  const stream = redis.name("sink-deleted-wrongtype");
  const output = `${stream}:out`;
  const [id] = await addEntries(redis.client, stream, 1);
  await deliverAll(redis.client, stream, "g", "c");
  await redis.client.send(["XACK", stream, "g", id!]);
  await redis.client.send(["SET", `${stream}:g:deleted`, "not a sorted set"]);
  const counts = await sinkCommits(output, [
    { stream, id: id!, outputs: [{ n: "0" }] },
  ]);
  assert.deepEqual(counts, { committed: 0, duplicates: 1 });
  assert.deepEqual(await readAll(redis.client, output), []);
});
