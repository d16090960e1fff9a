// An adversarial review of the Redis scale-out against a real redis-server:
// each test here failed on the code it was written against (835a197), and
// pins the defect it found. The last one, a deleted entry lost when the
// dead-letter commit after its XAUTOCLAIM failed, was fixed by recording the
// ids an XAUTOCLAIM drops in the same script.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RespClient } from "../../demo/redis_resp.ts";
import { startRedisServer } from "../../demo/redis_server.ts";
import { type RedisFields, redisWorker } from "../../src/redis.ts";
import { controlledFn, deferred } from "../_deferred.ts";
import {
  addEntries,
  deliverAll,
  eventually,
  isClaim,
  pending,
  readAll,
  type RedisStreamEntry,
  useRedis,
  within,
} from "./_redis.ts";

const redis = useRedis();

test("redisWorker() never acknowledges an entry whose output has too many fields for the commit script", async () => {
  const input = redis.name("review-wide");
  const output = `${input}:out`;
  await addEntries(redis.client, input, 1);
  // XADD takes it (see below); Lua's unpack() in the script does not.
  const wide: RedisFields = {};
  for (let i = 0; i < 4_000; i++) wide[`f${i}`] = "v";
  const worker = redisWorker({
    send: redis.client.send,
    input,
    output,
    group: "g",
    consumer: "c",
    blockMs: 50,
    fn: () => wide,
  });
  await worker.done.catch(() => {});
  await worker.stop();
  const written = Number(await redis.client.send(["XLEN", output]));
  const stillPending = await pending(redis.client, input, "g");
  // Committed with its output, or not acknowledged: never acked without it.
  assert.equal(
    written + stillPending,
    1,
    `output entries: ${written}, pending: ${stillPending}`,
  );
  // The same output through XADD directly is fine: the limit is the script's.
  const direct = await redis.client.send([
    "XADD",
    `${input}:direct`,
    "*",
    ...Object.entries(wide).flat(),
  ]);
  assert.equal(typeof direct, "string");
});

for (const blockMs of [60_000, 0]) {
  test(`redisWorker() claims idle entries every claimIntervalMs while its read blocks (blockMs: ${blockMs})`, async () => {
    const input = redis.name("review-claim-blocked");
    const output = `${input}:out`;
    await addEntries(redis.client, input, 1);
    // A consumer that read the entry and died: it becomes claimable after 500 ms.
    await deliverAll(redis.client, input, "g", "dead");
    const reads = new RespClient(redis.server.url);
    const worker = redisWorker({
      send: redis.client.send,
      blockingSend: reads.send,
      input,
      output,
      group: "g",
      consumer: "alive",
      blockMs,
      claimIdleMs: 500,
      claimIntervalMs: 100,
      fn: ({ fields }) => fields,
    });
    try {
      // 500 ms of idleness and a claim every 100 ms: far below 15 s.
      await eventually(
        async () => Number(await redis.client.send(["XLEN", output])) === 1,
        15_000,
      );
    } finally {
      await worker.stop();
      reads.close(); // its XREADGROUP may still block on the server
    }
  });
}

test("redisWorker() gives its leases back when stop() comes while a heartbeat is in flight", async () => {
  const input = redis.name("review-lease-race");
  const workers = `${input}:g:workers`;
  const held = deferred();
  const heartbeatSent = deferred();
  let beats = 0;
  // The real server runs every command at once; only the first heartbeat's
  // reply reaches the worker late, as over a slow network.
  const send = async (args: string[]) => {
    const isScript = args[0] === "EVALSHA" && args[3] === workers;
    const reply = redis.client.send(args);
    if (isScript && args[2] === "3" && beats++ === 0) {
      heartbeatSent.resolve();
      const value = await reply;
      await held.promise;
      return value;
    }
    return reply;
  };
  const worker = redisWorker({
    send,
    input,
    output: `${input}:out`,
    group: "g",
    consumer: "c",
    partitions: 2,
    leaseMs: 60_000,
    pollMs: 10,
    fn: ({ fields }) => fields,
  });
  await heartbeatSent.promise;
  const stopped = worker.stop();
  // The reply comes after stop() began, well within its 1 s best effort.
  await new Promise((resolve) => setTimeout(resolve, 100));
  held.resolve();
  await stopped;
  const leases = [0, 1].map((p) => `${input}:${p}:g:lease`);
  assert.deepEqual(
    await Promise.all(leases.map((key) => redis.client.send(["GET", key]))),
    [null, null],
  );
});

test("redisWorker() stop() returns while a commit waits on a stalled Redis", async () => {
  const server = await startRedisServer();
  const client = new RespClient(server.url);
  const reads = new RespClient(server.url);
  const probe = new RespClient(server.url);
  const { fn, calls, callsReach } = controlledFn<
    RedisStreamEntry,
    RedisFields
  >();
  let stalled = false;
  try {
    await addEntries(client, "in", 3);
    const worker = redisWorker({
      send: client.send,
      blockingSend: reads.send,
      input: "in",
      output: "out",
      group: "g",
      consumer: "c",
      order: "unordered",
      batchSize: 1,
      blockMs: 50,
      fn,
    });
    await callsReach(3);
    Deno.kill(server.pid!, "SIGSTOP");
    stalled = true;
    for (const call of calls) call.resolve(call.input.fields);
    // Let the results reach the sink, whose first commit now hangs.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await within(worker.stop(), 10_000, "stop()");
  } finally {
    if (stalled) Deno.kill(server.pid!, "SIGCONT");
  }
  // Nothing lost: each input is committed or still pending, once the commit
  // that the stall held has run (XLEN and XPENDING are two reads).
  await eventually(async () =>
    Number(await probe.send(["XLEN", "out"])) +
        await pending(probe, "in", "g") === 3
  );
  client.close();
  reads.close();
  probe.close();
  await server.stop();
});

test("redisWorker() does not lose the deleted entries an XAUTOCLAIM reports while it stops", async () => {
  const input = redis.name("review-claim-deleted");
  const deadLetter = `${input}:dead`;
  const [gone] = await addEntries(redis.client, input, 1);
  await deliverAll(redis.client, input, "g", "dead");
  await redis.client.send(["XDEL", input, gone!]);
  const held = deferred();
  const claimSent = deferred();
  const send = async (args: string[]) => {
    const reply = redis.client.send(args);
    if (!isClaim(args, input)) return reply;
    claimSent.resolve();
    const value = await reply;
    await held.promise;
    return value;
  };
  const worker = redisWorker({
    send: redis.client.send,
    blockingSend: send,
    input,
    output: `${input}:out`,
    group: "g",
    consumer: "c",
    deadLetter,
    claimIdleMs: 0,
    blockMs: 50,
    fn: ({ fields }) => fields,
  });
  await claimSent.promise;
  // Redis has now dropped the entry from the pending list and reported it.
  const stopped = worker.stop();
  await new Promise((resolve) => setTimeout(resolve, 50));
  held.resolve();
  await stopped;
  await new Promise((resolve) => setTimeout(resolve, 200));
  const dead = await readAll(redis.client, deadLetter);
  const stillPending = await pending(redis.client, input, "g");
  assert.equal(
    dead.length + stillPending,
    1,
    `dead letters: ${dead.length}, pending: ${stillPending}`,
  );
});

/**
 * Runs `during` while the server holds every write command (CLIENT PAUSE),
 * then kills the connection of `client`: what it had in flight fails.
 */
async function killWhilePaused(
  client: RespClient,
  during: () => Promise<void>,
): Promise<void> {
  const id = String(await client.send(["CLIENT", "ID"]));
  await redis.client.send(["CLIENT", "PAUSE", "20000", "WRITE"]);
  try {
    await during();
    await redis.client.send(["CLIENT", "KILL", "ID", id]);
  } finally {
    await redis.client.send(["CLIENT", "UNPAUSE"]);
  }
}

test("redisWorker() names the stream and the group when its connection is lost during a commit", async () => {
  const input = redis.name("review-lost-commit");
  await addEntries(redis.client, input, 1);
  const commits = new RespClient(redis.server.url);
  const reads = new RespClient(redis.server.url);
  const { fn, calls, callsReach } = controlledFn<
    RedisStreamEntry,
    RedisFields
  >();
  const worker = redisWorker({
    send: commits.send,
    blockingSend: reads.send,
    input,
    output: `${input}:out`,
    group: "g",
    consumer: "c",
    blockMs: 50,
    fn,
  });
  try {
    await callsReach(1);
    const failed = assert.rejects(
      worker.done,
      (error: Error) =>
        error.message.includes(input) && / group g\b/.test(error.message),
    );
    await killWhilePaused(commits, async () => {
      calls[0]!.resolve({ n: "0" });
      // The commit is sent and held by the pause.
      await new Promise((resolve) => setTimeout(resolve, 300));
    });
    await failed;
    assert.equal(await pending(redis.client, input, "g"), 1);
  } finally {
    await worker.stop();
    commits.close();
    reads.close();
  }
});

test("redisWorker() names the stream and the group when its connection is lost during a heartbeat", async () => {
  const input = redis.name("review-lost-heartbeat");
  const client = new RespClient(redis.server.url);
  const worker = redisWorker({
    send: client.send,
    input,
    output: `${input}:out`,
    group: "g",
    consumer: "c",
    partitions: 1,
    leaseMs: 300, // a heartbeat every 100 ms
    pollMs: 10_000,
    fn: ({ fields }) => fields,
  });
  try {
    await eventually(() => worker.stats.partitions.length === 1);
    const failed = assert.rejects(
      worker.done,
      (error: Error) =>
        error.message.includes(input) && / group g\b/.test(error.message),
    );
    await killWhilePaused(client, async () => {
      // A heartbeat is sent and held by the pause.
      await new Promise((resolve) => setTimeout(resolve, 300));
    });
    await failed;
  } finally {
    await worker.stop();
    client.close();
  }
});

test("redisWorker() does not let entries it read but has not started go idle for another worker to claim (claimIdleMs above timeout)", async () => {
  const input = redis.name("review-read-ahead");
  const output = `${input}:out`;
  await addEntries(redis.client, input, 10);
  const calls = new Map<string, number>();
  const clients = Array.from(
    { length: 4 },
    () => new RespClient(redis.server.url),
  );
  // Calls of 400 ms, far within their timeout and claimIdleMs: no entry
  // should run twice, though capacity 1 keeps read entries waiting.
  const workerOf = (n: number) =>
    redisWorker({
      send: clients[2 * n]!.send,
      blockingSend: clients[2 * n + 1]!.send,
      input,
      output,
      group: "g",
      consumer: `w${n}`,
      capacity: 1,
      timeout: 1_000,
      claimIdleMs: 1_500,
      blockMs: 100,
      fn: async ({ id, fields }) => {
        calls.set(id, (calls.get(id) ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, 400));
        return fields;
      },
    });
  const first = workerOf(0);
  await eventually(() => calls.size === 1);
  const second = workerOf(1);
  try {
    await eventually(async () =>
      Number(await redis.client.send(["XLEN", output])) === 10 &&
      await pending(redis.client, input, "g") === 0
    );
  } finally {
    await Promise.all([first.stop(), second.stop()]);
    for (const client of clients) client.close();
  }
  const twice = [...calls].filter(([, n]) => n > 1).map(([id]) => id);
  assert.deepEqual(twice, [], "entries whose fn ran twice");
});

test(
  "redisWorker() does not lose a deleted entry that an XAUTOCLAIM reported when the dead-letter commit fails",
  async () => {
    const input = redis.name("review-claim-deleted-lost");
    const deadLetter = `${input}:dead`;
    const [gone] = await addEntries(redis.client, input, 1);
    await deliverAll(redis.client, input, "g", "dead");
    await redis.client.send(["XDEL", input, gone!]);
    const commits = new RespClient(redis.server.url);
    const reads = new RespClient(redis.server.url);
    const commitsId = String(await commits.send(["CLIENT", "ID"]));
    let paused = false;
    // Once Redis has answered the XAUTOCLAIM (and dropped the entry from the
    // pending list), writes pause, so the dead-letter commit waits, and its
    // connection is lost.
    const blockingSend = async (args: string[]) => {
      const reply = await reads.send(args);
      if (isClaim(args, input) && !paused) {
        paused = true;
        await redis.client.send(["CLIENT", "PAUSE", "20000", "WRITE"]);
        setTimeout(async () => {
          await redis.client.send(["CLIENT", "KILL", "ID", commitsId]);
          await redis.client.send(["CLIENT", "UNPAUSE"]);
        }, 300);
      }
      return reply;
    };
    const worker = redisWorker({
      send: commits.send,
      blockingSend,
      input,
      output: `${input}:out`,
      group: "g",
      consumer: "c",
      deadLetter,
      claimIdleMs: 0,
      blockMs: 50,
      fn: ({ fields }) => fields,
    });
    try {
      await worker.done.catch(() => {});
    } finally {
      await worker.stop();
      commits.close();
      reads.close();
    }
    // The worker failed, as with any lost connection, before its dead
    // letter: the claim recorded the entry, so a restart still finds it.
    assert.deepEqual(await readAll(redis.client, deadLetter), []);
    const restarted = redisWorker({
      send: redis.client.send,
      blockingSend: redis.reads.send,
      input,
      output: `${input}:out`,
      group: "g",
      consumer: "c",
      deadLetter,
      claimIdleMs: 0,
      blockMs: 50,
      fn: ({ fields }) => fields,
    });
    try {
      await eventually(async () =>
        (await readAll(redis.client, deadLetter)).length === 1
      );
    } finally {
      await restarted.stop();
    }
    const [dead] = await readAll(redis.client, deadLetter);
    assert.equal(dead?.fields.id, gone);
    assert.equal(restarted.stats.deadLettered, 1);
    assert.equal(
      await redis.client.send(["ZCARD", `${input}:g:deleted`]),
      0,
    );
  },
);
