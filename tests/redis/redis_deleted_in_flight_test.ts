// An entry deleted (trimmed) from the stream while its call runs, against a
// real redis-server. Redis's XAUTOCLAIM drops a deleted entry from the
// pending list whatever its idle time, so any worker's claim round finds it
// at once; it is reported (dead-lettered) only once claimIdleMs has passed
// since, so a call that commits before then wins.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type RedisFields,
  type RedisStreamEntry,
  redisStreamSource,
} from "../../src/redis.ts";
import { controlledFn } from "../_deferred.ts";
import { type RecordedWorker, startWorker } from "./_heartbeat.ts";
import {
  addEntries,
  deliverAll,
  eventually,
  isClaim,
  ns,
  pending,
  readAll,
  useRedis,
} from "./_redis.ts";

const redis = useRedis();

/** Long enough that no claim round of a test reports by age. */
const LONG_IDLE_MS = 5_000;

/** The server's clock, in ms. */
async function serverNow(): Promise<number> {
  const [s, us] = await redis.client.send(["TIME"]) as [string, string];
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

/** The ms part of a stream id: the server's clock when it was added. */
const msOf = (id: string) => Number(id.split("-")[0]);

/**
 * Worker "a" runs a call held by the test on the one entry of the stream,
 * which is then deleted; worker "b" joins and runs claim rounds, which find
 * it deleted; then the call ends. Returns what each worker did.
 */
async function trimmedMidCall(label: string, deadLetter: boolean) {
  const input = redis.name(label);
  const output = `${input}:out`;
  const dead = `${input}:dead`;
  const [gone] = await addEntries(redis.client, input, 1);
  const held = controlledFn<RedisStreamEntry, RedisFields>();
  const common = {
    input,
    output,
    group: "g",
    ...(deadLetter ? { deadLetter: dead } : {}),
    claimIdleMs: LONG_IDLE_MS,
    blockMs: 50,
    fn: held.fn,
  };
  // Its own claim rounds after the first come after the test.
  const a = startWorker(redis, {
    ...common,
    consumer: "a",
    claimIntervalMs: 60_000,
  });
  let b: RecordedWorker | undefined;
  const failures: unknown[] = [];
  a.worker.done.catch((error) => failures.push(error));
  try {
    await held.callsReach(1);
    await redis.client.send(["XDEL", input, gone!]);
    b = startWorker(redis, { ...common, consumer: "b", claimIntervalMs: 50 });
    b.worker.done.catch((error) => failures.push(error));
    // A second claim is sent once the first round, its reports included,
    // is over.
    const claims = b;
    await eventually(() =>
      failures.length > 0 || claims.count((args) => isClaim(args, input)) >= 3
    );
    assert.deepEqual(failures, []);
    // Those rounds did find it: recorded, not reported.
    assert.notEqual(
      await redis.client.send(["ZSCORE", `${input}:g:deleted`, gone!]),
      null,
    );
    assert.deepEqual(await readAll(redis.client, dead), []);
    held.calls[0]!.resolve({ n: "done" });
    await eventually(() =>
      a.worker.stats.committed + a.worker.stats.duplicates === 1
    );
    // More claim rounds, for a late report to show.
    const since = performance.now();
    await eventually(() =>
      failures.length > 0 ||
      claims.count((args) => isClaim(args, input), since) >= 3
    );
  } finally {
    for (const call of held.calls) call.resolve({ n: "x" });
    await Promise.all([a.stop(), b?.stop()]);
  }
  return {
    failures,
    a: a.worker.stats,
    b: b!.worker.stats,
    output: await readAll(redis.client, output),
    deadLetters: await readAll(redis.client, dead),
    pending: await pending(redis.client, input, "g"),
    left: await redis.client.send(["ZCARD", `${input}:g:deleted`]),
  };
}

test("redisWorker() commits the output of a call on an entry trimmed mid-call, not a dead letter, when another worker's claim rounds find it deleted before claimIdleMs", async () => {
  const result = await trimmedMidCall("in-flight-dead-letter", true);
  assert.deepEqual(result.failures, []);
  assert.deepEqual(result.output.map((e) => e.fields.n), ["done"]);
  assert.deepEqual(
    result.deadLetters.map((e) => e.fields.error),
    [],
    "a call that ran to its end was dead-lettered as never processed",
  );
  const { committed, duplicates, deadLettered } = result.a;
  assert.deepEqual({ committed, duplicates, deadLettered }, {
    committed: 1,
    duplicates: 0,
    deadLettered: 0,
  });
  assert.equal(result.b.committed + result.b.duplicates, 0);
  assert.equal(result.pending, 0);
  assert.equal(result.left, 0);
});

test("redisWorker() without deadLetter does not fail when its claim rounds find an entry deleted whose call runs in another worker, which commits it", async () => {
  const result = await trimmedMidCall("in-flight-no-dead-letter", false);
  assert.deepEqual(result.failures, []);
  assert.deepEqual(result.output.map((e) => e.fields.n), ["done"]);
  assert.equal(result.a.committed, 1);
  assert.equal(result.a.duplicates, 0);
  assert.equal(result.b.committed + result.b.duplicates, 0);
  assert.equal(result.pending, 0);
  assert.equal(result.left, 0);
});

test("redisWorker() dead-letters a deleted entry whose worker died once claimIdleMs has passed since a claim found it, not before", async () => {
  const input = redis.name("in-flight-died");
  const dead = `${input}:dead`;
  const claimIdleMs = 300;
  const [gone] = await addEntries(redis.client, input, 2);
  // Read by a consumer that then died, with no commit.
  await deliverAll(redis.client, input, "g", "died");
  await redis.client.send(["XDEL", input, gone!]);
  const trimmedAt = await serverNow();
  const heir = startWorker(redis, {
    input,
    output: `${input}:out`,
    group: "g",
    consumer: "heir",
    deadLetter: dead,
    claimIdleMs,
    claimIntervalMs: 20,
    blockMs: 10,
    fn: ({ fields }) => fields,
  });
  try {
    await eventually(
      async () => (await readAll(redis.client, dead)).length === 1,
      10_000,
    );
    await eventually(async () =>
      (await readAll(redis.client, `${input}:out`)).length === 1
    );
  } finally {
    await heir.stop();
  }
  const [letter] = await readAll(redis.client, dead);
  assert.equal(letter?.fields.id, gone);
  assert.match(letter!.fields.error!, /deleted/);
  // Server clocks both: the dead letter's id is when it was written.
  const waited = msOf(letter!.id) - trimmedAt;
  assert.ok(waited >= claimIdleMs, `dead-lettered ${waited} ms after the trim`);
  assert.deepEqual(ns(await readAll(redis.client, `${input}:out`)), [1]);
  assert.equal(heir.worker.stats.deadLettered, 1);
  assert.equal(await pending(redis.client, input, "g"), 0);
  assert.equal(await redis.client.send(["ZCARD", `${input}:g:deleted`]), 0);
});

test("redisStreamSource() reports a deleted entry that a claim found once claimIdleMs has passed since, not before", async () => {
  const stream = redis.name("in-flight-source");
  const claimIdleMs = 300;
  const [gone] = await addEntries(redis.client, stream, 1);
  await deliverAll(redis.client, stream, "g", "died");
  await redis.client.send(["XDEL", stream, gone!]);
  const trimmedAt = await serverNow();
  const reported: { ids: string[]; at: number }[] = [];
  const reader = redisStreamSource({
    send: redis.client.send,
    stream,
    group: "g",
    consumer: "c",
    claimIdleMs,
    claimIntervalMs: 20,
    blockMs: 10,
    onDeleted: async (_, ids) =>
      void reported.push({ ids, at: await serverNow() }),
  }).getReader();
  const read = reader.read();
  try {
    await eventually(() => reported.length > 0, 10_000);
  } finally {
    await reader.cancel();
    await read;
  }
  assert.deepEqual(reported.map((r) => r.ids), [[gone]]);
  const waited = reported[0]!.at - trimmedAt;
  assert.ok(waited >= claimIdleMs, `reported ${waited} ms after the trim`);
  assert.equal(await redis.client.send(["ZCARD", `${stream}:g:deleted`]), 0);
});
