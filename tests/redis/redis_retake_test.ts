// A partition whose lease ran out while its worker's calls on it still ran,
// taken back by that same worker: its claim round must not hand those
// entries to fn again, yet still claims what does not run here.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type RedisFields,
  type RedisStreamEntry,
  redisWorker,
} from "../../src/redis.ts";
import { controlledFn, deferred } from "../_deferred.ts";
import {
  eventually,
  ns,
  pending,
  readAll,
  readInGroup,
  useRedis,
} from "./_redis.ts";

const redis = useRedis();

const LEASE_MS = 600; // a beat every 200 ms

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One partition, `<input>:0`, with an entry `{ n, k }` per item. */
async function onePartition(label: string, items: [string, string][]) {
  const input = redis.name(label);
  const stream = `${input}:0`;
  for (const [n, k] of items) {
    await redis.client.send(["XADD", stream, "*", "n", n, "k", k]);
  }
  return {
    input,
    stream,
    lease: `${stream}:g:lease`,
    output: `${input}:out`,
    common: {
      input,
      output: `${input}:out`,
      group: "g",
      consumer: "worker",
      partitions: 1,
      leaseMs: LEASE_MS,
      pollMs: 10,
    },
  };
}

/**
 * A fn that records each call's start and end (`+n`, `-n`) and ids; the
 * entries whose n is in `held` wait for `release`.
 */
function gatedFn(held: readonly string[]) {
  const release = deferred();
  const events: string[] = [];
  const ids: string[] = [];
  const fn = async (entry: RedisStreamEntry): Promise<RedisFields> => {
    const n = entry.fields.n!;
    events.push(`+${n}`);
    ids.push(entry.id);
    if (held.includes(n)) await release.promise;
    events.push(`-${n}`);
    return { n };
  };
  const started = () => events.filter((e) => e.startsWith("+"));
  return { fn, release, events, ids, started };
}

/** Resolves once the lease holds a token other than `token`. */
function retaken(lease: string, token: unknown): Promise<void> {
  return eventually(async () => {
    const now = await redis.client.send(["GET", lease]);
    return now !== null && now !== token;
  });
}

test("redisWorker() that takes back a partition it lost runs the calls still in flight on it once", async () => {
  const { stream, lease, output, common } = await onePartition("retake", [
    ["0", "a"],
    ["1", "b"],
  ]);
  const gated = gatedFn(["0", "1"]);
  const worker = redisWorker({
    ...common,
    send: redis.client.send,
    fn: gated.fn,
  });
  try {
    await eventually(() => gated.started().length === 2);
    const token = await redis.client.send(["GET", lease]);
    assert.equal(typeof token, "string");
    // As if it ran out while the worker stalled: the worker's next renewal
    // finds it gone and takes it anew, with a claim round of its own.
    await redis.client.send(["DEL", lease]);
    await retaken(lease, token);
    // Read only once that claim round is over.
    await redis.client.send(["XADD", stream, "*", "n", "2", "k", "c"]);
    await eventually(() => gated.started().includes("+2"));
    await sleep(3 * LEASE_MS);
    assert.deepEqual(worker.stats.partitions, [0]);
    assert.deepEqual(gated.started(), ["+0", "+1", "+2"]);

    gated.release.resolve();
    await eventually(async () =>
      worker.stats.committed === 3 &&
      await pending(redis.client, stream, "g") === 0
    );
    await sleep(3 * LEASE_MS);
    assert.deepEqual(gated.started(), ["+0", "+1", "+2"], "fn ran twice");
    assert.equal(new Set(gated.ids).size, 3);
    assert.deepEqual(ns(await readAll(redis.client, output)), [0, 1, 2]);
    assert.equal(worker.stats.committed, 3);
    assert.equal(worker.stats.duplicates, 0);
  } finally {
    gated.release.resolve();
    await worker.stop();
  }
});

test("redisWorker() that takes back a partition it lost claims the entries another worker left pending there, after its own calls of their keys", async () => {
  const { stream, lease, output, common } = await onePartition(
    "retake-other",
    [["a0", "a"], ["b0", "b"]],
  );
  const gated = gatedFn(["a0", "b0"]);
  const worker = redisWorker({
    ...common,
    send: redis.client.send,
    fn: gated.fn,
    order: "key-ordered",
    key: (entry: RedisStreamEntry) => entry.fields.k,
  });
  try {
    await eventually(() => gated.started().length === 2);
    // As if the lease ran out and another worker took it, read two entries
    // (one of key a) and died: they stay pending under it.
    await redis.client.send(["SET", lease, "another worker"]);
    await eventually(() => worker.stats.partitions.length === 0);
    await redis.client.send(["XADD", stream, "*", "n", "a1", "k", "a"]);
    await redis.client.send(["XADD", stream, "*", "n", "c0", "k", "c"]);
    await readInGroup(redis.client, stream, "g", "another");
    await redis.client.send(["DEL", lease]);
    await eventually(() => worker.stats.partitions.length === 1);
    // c0 is claimed and runs; a1 waits for a0, whose call still runs here.
    await eventually(() => gated.events.includes("-c0"));
    await sleep(3 * LEASE_MS);
    assert.deepEqual(gated.started(), ["+a0", "+b0", "+c0"]);

    gated.release.resolve();
    await eventually(async () =>
      worker.stats.committed === 4 &&
      await pending(redis.client, stream, "g") === 0
    );
    await sleep(3 * LEASE_MS);
    assert.deepEqual(
      gated.started().sort(),
      ["+a0", "+a1", "+b0", "+c0"],
      "fn ran twice",
    );
    assert.equal(new Set(gated.ids).size, 4);
    // Key a in order: a1 started only once a0 had ended.
    assert.ok(gated.events.indexOf("-a0") < gated.events.indexOf("+a1"));
    const outputs = (await readAll(redis.client, output)).map((e) =>
      e.fields.n!
    );
    assert.deepEqual(outputs.slice().sort(), ["a0", "a1", "b0", "c0"]);
    assert.ok(outputs.indexOf("a0") < outputs.indexOf("a1"));
    assert.equal(worker.stats.committed, 4);
    assert.equal(worker.stats.duplicates, 0);
  } finally {
    gated.release.resolve();
    await worker.stop();
  }
});

test("redisWorker() that takes back a partition it lost does not run again an entry committed while that claim round's read was in flight", async () => {
  const { stream, lease, output, common } = await onePartition("retake-race", [
    ["0", "a"],
  ]);
  let armed = false;
  const claimSent = deferred();
  const claimHeld = deferred();
  // The armed claim round's first read (cursor 0-0) of the stream reaches
  // Redis, and its reply is held back.
  const send = async (args: string[]) => {
    if (
      armed && args[0] === "EVALSHA" && args[4] === stream &&
      args[10] === "0-0"
    ) {
      armed = false;
      const reply = redis.client.send(args);
      claimSent.resolve();
      await claimHeld.promise;
      return reply;
    }
    return redis.client.send(args);
  };
  const held = controlledFn<RedisStreamEntry, RedisFields>();
  const worker = redisWorker({ ...common, send, fn: held.fn });
  try {
    await held.callsReach(1);
    const token = await redis.client.send(["GET", lease]);
    armed = true;
    await redis.client.send(["DEL", lease]);
    await claimSent.promise;
    // Its XACK runs after the claim's XAUTOCLAIM, which so returns it.
    held.calls[0]!.resolve({ n: "0" });
    await eventually(() => worker.stats.committed === 1);
    claimHeld.resolve();
    await retaken(lease, token);
    await redis.client.send(["XADD", stream, "*", "n", "1", "k", "b"]);
    await eventually(() =>
      held.calls.some((call) => call.input.fields.n === "1")
    );
    for (const call of held.calls) call.resolve({ n: call.input.fields.n! });
    await eventually(async () =>
      (await readAll(redis.client, output)).length === 2 &&
      await pending(redis.client, stream, "g") === 0
    );
    await sleep(3 * LEASE_MS);
    assert.deepEqual(
      ns(held.calls.map((call) => call.input)),
      [0, 1],
      "fn ran twice",
    );
    assert.deepEqual(ns(await readAll(redis.client, output)), [0, 1]);
    assert.equal(worker.stats.committed, 2);
    assert.equal(worker.stats.duplicates, 0);
  } finally {
    claimHeld.resolve();
    for (const call of held.calls) call.resolve({ n: "x" });
    await worker.stop();
  }
});
