// redisWorker()'s heartbeat against a real redis-server: while a worker is
// alive, the entries it has read and not committed are not claimed by other
// workers, however long its calls run. redis_heartbeat_stall_test.ts shows
// that a stalled worker's still are.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RespClient } from "../../demo/redis_resp.ts";
import {
  type RedisFields,
  type RedisStreamEntry,
  redisWorker,
} from "../../src/redis.ts";
import { type Deferred, deferred } from "../_deferred.ts";
import {
  CLAIM_IDLE_MS,
  claimsPast,
  ownedBy,
  pendingOf,
  type RecordedWorker,
  startWorker,
} from "./_heartbeat.ts";
import {
  addEntries,
  eventually,
  isHeartbeat,
  pending,
  readAll,
  useRedis,
} from "./_redis.ts";

const redis = useRedis();

test("redisWorker() runs a call longer than claimIdleMs once while its worker is alive, though another worker claims idle entries", async () => {
  const input = redis.name("heartbeat-slow");
  const output = `${input}:out`;
  const [slow] = await addEntries(redis.client, input, 1);
  const calls: { consumer: string; id: string }[] = [];
  const release = deferred<void>();
  let readAt = Infinity;
  const fnOf =
    (consumer: string) => async ({ id, fields }: RedisStreamEntry) => {
      calls.push({ consumer, id });
      if (consumer === "a") {
        readAt = performance.now();
        await release.promise;
      }
      return fields;
    };
  const common = {
    input,
    output,
    group: "g",
    claimIdleMs: CLAIM_IDLE_MS,
    claimIntervalMs: 100,
    blockMs: 50,
  };
  const a = startWorker(redis, { ...common, consumer: "a", fn: fnOf("a") });
  await eventually(() => calls.length === 1);
  const b = startWorker(redis, { ...common, consumer: "b", fn: fnOf("b") });
  try {
    await claimsPast(b, input, readAt);
    assert.deepEqual(await ownedBy(redis, input, "g", "a"), [slow]);
    // The call is held three times claimIdleMs at least, then returns.
    release.resolve();
    await eventually(async () =>
      (await readAll(redis.client, output)).length === 1 &&
      await pending(redis.client, input, "g") === 0
    );
  } finally {
    release.resolve();
    await Promise.all([a.stop(), b.stop()]);
  }
  assert.deepEqual(calls, [{ consumer: "a", id: slow }]);
  assert.equal(a.worker.stats.committed, 1);
  assert.equal(b.worker.stats.committed + b.worker.stats.duplicates, 0);
  // Touched with JUSTID: delivered once, and the heartbeat really beat.
  assert.ok(a.count((args) => isHeartbeat(args, input)) >= 3);
});

test("redisWorker() without blockingSend keeps its heartbeat from waiting behind a long blocked read on the same connection", async () => {
  const input = redis.name("heartbeat-shared");
  const output = `${input}:out`;
  const [slow] = await addEntries(redis.client, input, 1);
  const calls: string[] = [];
  const release = deferred<void>();
  let readAt = Infinity;
  // One connection: reads that block for 10 s would hold every beat.
  const shared = new RespClient(redis.server.url);
  const a = redisWorker({
    send: shared.send,
    input,
    output,
    group: "g",
    consumer: "a",
    claimIdleMs: CLAIM_IDLE_MS,
    claimIntervalMs: 10_000,
    blockMs: 10_000,
    fn: async ({ id, fields }) => {
      calls.push(id);
      readAt = performance.now();
      await release.promise;
      return fields;
    },
  });
  await eventually(() => calls.length === 1);
  const b = startWorker(redis, {
    input,
    output,
    group: "g",
    consumer: "b",
    claimIdleMs: CLAIM_IDLE_MS,
    claimIntervalMs: 100,
    blockMs: 50,
    fn: ({ id, fields }) => {
      calls.push(id);
      return fields;
    },
  });
  try {
    await claimsPast(b, input, readAt);
    assert.deepEqual(await ownedBy(redis, input, "g", "a"), [slow]);
  } finally {
    release.resolve();
    await Promise.all([a.stop(), b.stop()]);
    shared.close();
  }
  assert.deepEqual(calls, [slow]);
});

test("redisWorker() with a claimIdleMs past the longest timer beats at that timer's pace, not at once", async () => {
  const input = redis.name("heartbeat-long");
  await addEntries(redis.client, input, 1);
  const release = deferred<void>();
  let calls = 0;
  const a = startWorker(redis, {
    input,
    output: `${input}:out`,
    group: "g",
    consumer: "a",
    claimIdleMs: 3 * 2 ** 32, // a third of it would overflow setTimeout
    blockMs: 50,
    fn: async ({ fields }) => {
      calls++;
      await release.promise;
      return fields;
    },
  });
  try {
    await eventually(() => calls === 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(a.count((args) => isHeartbeat(args, input)), 0);
  } finally {
    release.resolve();
    await a.stop();
  }
});

test("redisWorker() keeps 1,200 entries in flight from being claimed, with one heartbeat call per 1,000 entries", async () => {
  const input = redis.name("heartbeat-many");
  const output = `${input}:out`;
  const ids = await addEntries(redis.client, input, 1_200);
  const held: Deferred<void>[] = [];
  let readAt = Infinity;
  const otherCalls: string[] = [];
  const common = {
    input,
    output,
    group: "g",
    claimIdleMs: CLAIM_IDLE_MS,
    claimIntervalMs: 100,
    blockMs: 50,
    order: "unordered" as const,
  };
  const a = startWorker(redis, {
    ...common,
    consumer: "a",
    capacity: 1_200,
    count: 400,
    fn: async ({ fields }) => {
      const call = deferred<void>();
      held.push(call);
      if (held.length === ids.length) readAt = performance.now();
      await call.promise;
      return fields;
    },
  });
  await eventually(() => held.length === ids.length);
  const b = startWorker(redis, {
    ...common,
    consumer: "b",
    fn: ({ id, fields }) => {
      otherCalls.push(id);
      return fields;
    },
  });
  try {
    await claimsPast(b, input, readAt);
    assert.equal((await ownedBy(redis, input, "g", "a")).length, ids.length);
    for (const call of held) call.resolve();
    await eventually(async () =>
      (await readAll(redis.client, output)).length === ids.length &&
      await pending(redis.client, input, "g") === 0
    );
  } finally {
    for (const call of held) call.resolve();
    await Promise.all([a.stop(), b.stop()]);
  }
  assert.deepEqual(otherCalls, []);
  assert.equal(a.worker.stats.committed, ids.length);
  // Each beat is one call for the first 1,000 entries read, and one for the
  // rest: the script's arguments are the group, the consumer, then the ids.
  const beats = a.count((args) =>
    isHeartbeat(args, input) && args.length === 6 + 1_000
  );
  const pages = a.count((args) =>
    isHeartbeat(args, input) && args[6] === ids[1_000]
  );
  assert.ok(beats >= 3, `${beats} beats`);
  assert.ok(pages >= 1 && pages <= beats, `${pages} pages, ${beats} beats`);
});

test("redisWorker()'s heartbeat never takes back an entry that another consumer claimed", async () => {
  const input = redis.name("heartbeat-stolen");
  const output = `${input}:out`;
  const [stolen, kept] = await addEntries(redis.client, input, 2);
  const release = deferred<RedisFields>();
  let calls = 0;
  const a = startWorker(redis, {
    input,
    output,
    group: "g",
    consumer: "a",
    claimIdleMs: CLAIM_IDLE_MS,
    blockMs: 50,
    fn: () => {
      calls++;
      return release.promise;
    },
  });
  try {
    await eventually(() => calls === 2);
    // As a claim would after a stall of this worker: another consumer owns
    // the entry now, though its call here still runs.
    await redis.client.send(
      ["XCLAIM", input, "g", "thief", "0", stolen!, "JUSTID"],
    );
    const since = performance.now();
    await eventually(() =>
      a.count((args) => isHeartbeat(args, input), since) >= 3
    );
    const before = await pendingOf(redis, input, "g");
    assert.deepEqual(before.get(stolen!), { owner: "thief", deliveries: 1 });
    assert.deepEqual(before.get(kept!), { owner: "a", deliveries: 1 });
    // Its idle time was not reset either: it has run since the theft.
    const [theft] = await redis.client.send(
      ["XPENDING", input, "g", "-", "+", "1", "thief"],
    ) as [string, string, number, number][];
    const idle = Number(theft?.[2]);
    assert.ok(idle >= CLAIM_IDLE_MS / 3, `idle for ${idle} ms`);
  } finally {
    release.resolve({ done: "1" });
    await a.stop();
  }
});

test("redisWorker()'s heartbeat leaves an entry deleted from the stream pending, for a claim to report", async () => {
  const input = redis.name("heartbeat-deleted");
  const output = `${input}:out`;
  const deadLetter = `${input}:dead`;
  const [gone, kept] = await addEntries(redis.client, input, 2);
  const release = deferred<void>();
  let calls = 0;
  const common = {
    input,
    output,
    group: "g",
    deadLetter,
    claimIdleMs: CLAIM_IDLE_MS,
    blockMs: 50,
    fn: async ({ fields }: RedisStreamEntry) => {
      calls++;
      await release.promise;
      return fields;
    },
  };
  // Its own claims, which would report the entry, come after the test.
  const a = startWorker(redis, {
    ...common,
    consumer: "a",
    claimIntervalMs: 60_000,
  });
  let b: RecordedWorker | undefined;
  try {
    await eventually(() => calls === 2);
    await redis.client.send(["XDEL", input, gone!]);
    const since = performance.now();
    await eventually(() =>
      a.count((args) => isHeartbeat(args, input), since) >= 3
    );
    // XCLAIM would have dropped it from the pending list without a word.
    assert.deepEqual(await ownedBy(redis, input, "g", "a"), [gone, kept]);
    // Left idle, another worker's claim finds it, and a claim round reports
    // it once claimIdleMs has passed since.
    b = startWorker(redis, { ...common, consumer: "b", claimIntervalMs: 100 });
    await eventually(async () =>
      (await readAll(redis.client, deadLetter)).length === 1
    );
    release.resolve();
    await eventually(async () =>
      (await readAll(redis.client, output)).length === 1 &&
      await pending(redis.client, input, "g") === 0 &&
      a.worker.stats.committed + a.worker.stats.duplicates === 2
    );
  } finally {
    release.resolve();
    await Promise.all([a.stop(), b?.stop()]);
  }
  const [dead] = await readAll(redis.client, deadLetter);
  assert.equal(dead?.fields.id, gone);
  assert.equal(calls, 2);
  // The call on it ran to the end, but its commit came second: dropped.
  assert.equal(a.worker.stats.duplicates, 1);
  assert.deepEqual(
    (await readAll(redis.client, output)).map((e) => e.fields.n),
    ["1"],
  );
});

test("redisWorker() stop() waits for a heartbeat in flight: no command of the worker outlives done", async () => {
  const input = redis.name("heartbeat-stop");
  await addEntries(redis.client, input, 1);
  const commands = new RespClient(redis.server.url);
  const reads = new RespClient(redis.server.url);
  const beatSent = deferred<void>();
  const gate = deferred<void>();
  let inFlight = 0;
  let calls = 0;
  const a = redisWorker({
    send: async (args) => {
      inFlight++;
      try {
        // The first beat is held before it reaches Redis.
        if (isHeartbeat(args, input)) {
          beatSent.resolve();
          await gate.promise;
        }
        return await commands.send(args);
      } finally {
        inFlight--;
      }
    },
    blockingSend: reads.send,
    input,
    output: `${input}:out`,
    group: "g",
    consumer: "a",
    claimIdleMs: CLAIM_IDLE_MS,
    blockMs: 50,
    fn: (_entry, { signal }) => {
      calls++;
      return new Promise<RedisFields>((_, reject) =>
        signal.addEventListener("abort", () => reject(signal.reason))
      );
    },
  });
  let stopped = false;
  try {
    await eventually(() => calls === 1);
    await beatSent.promise;
    const stopping = a.stop().then(() => stopped = true);
    // Well past the stop of everything else, well within the wait's bound.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(stopped, false, "done settled with a beat in flight");
    gate.resolve();
    await stopping;
    assert.equal(inFlight, 0);
  } finally {
    gate.resolve();
    await a.stop();
    commands.close();
    reads.close();
  }
});

test("redisWorker()'s heartbeat touches only what its worker read: a dead worker's entries are claimed after claimIdleMs though a live worker shares its consumer name", async () => {
  const input = redis.name("heartbeat-twin");
  // An entry that the group will never deliver as new: it can only be
  // claimed.
  const [orphan] = await addEntries(redis.client, input, 1);
  await redis.client.send(["XGROUP", "CREATE", input, "g", "$"]);
  const calls: string[] = [];
  const common = {
    input,
    output: `${input}:out`,
    group: "g",
    claimIdleMs: CLAIM_IDLE_MS,
    // Only the other worker claims in time.
    claimIntervalMs: 60_000,
    blockMs: 50,
    fn: ({ id, fields }: RedisStreamEntry) => {
      calls.push(id);
      return fields;
    },
  };
  const a = startWorker(redis, { ...common, consumer: "twin" });
  // Past its start, whose re-read of its own entries would take the twin's:
  // it reads new entries now.
  await eventually(() =>
    a.count((args) => args[0] === "XREADGROUP" && args.at(-1) === ">") >= 1
  );
  // Its twin of the same name had read the entry, and died.
  await redis.client.send(
    ["XCLAIM", input, "g", "twin", "0", orphan!, "FORCE", "JUSTID"],
  );
  const readAt = performance.now();
  const b = startWorker(redis, {
    ...common,
    consumer: "b",
    claimIntervalMs: 100,
  });
  try {
    await claimsPast(b, input, readAt);
    await eventually(async () =>
      (await readAll(redis.client, `${input}:out`)).length === 1 &&
      await pending(redis.client, input, "g") === 0
    );
    assert.deepEqual(calls, [orphan]);
    assert.equal(b.worker.stats.committed, 1);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test("redisWorker() aborted by its signal rejects done with the signal's reason, though a beat fails as the connection closes", async () => {
  const input = redis.name("heartbeat-signal");
  await addEntries(redis.client, input, 1);
  const commands = new RespClient(redis.server.url);
  const reads = new RespClient(redis.server.url);
  const beatSent = deferred<void>();
  const closed = deferred<never>();
  closed.promise.catch(() => {});
  const controller = new AbortController();
  let calls = 0;
  const a = redisWorker({
    send: async (args) => {
      if (isHeartbeat(args, input)) {
        beatSent.resolve();
        await closed.promise;
      }
      return commands.send(args);
    },
    blockingSend: reads.send,
    input,
    output: `${input}:out`,
    group: "g",
    consumer: "a",
    claimIdleMs: CLAIM_IDLE_MS,
    blockMs: 50,
    signal: controller.signal,
    fn: (_entry, { signal }) => {
      calls++;
      return new Promise<RedisFields>((_, reject) =>
        signal.addEventListener("abort", () => reject(signal.reason))
      );
    },
  });
  const reason = new Error("shutting down");
  try {
    await eventually(() => calls === 1);
    await beatSent.promise;
    // A shutdown that aborts the worker and closes its connection at once.
    controller.abort(reason);
    closed.reject(new Error("connection closed"));
    await assert.rejects(a.done, (error) => error === reason);
  } finally {
    await a.stop();
    commands.close();
    reads.close();
  }
});
