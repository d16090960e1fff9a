// redisWorker()'s heartbeat against a real redis-server: while a worker is
// alive, the entries it has read and not committed are not claimed by other
// workers, however long its calls run; a stalled worker's still are.
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadInputs } from "../../demo/redis_cluster.ts";
import { RespClient } from "../../demo/redis_resp.ts";
import {
  type RedisFields,
  type RedisStreamEntry,
  redisWorker,
  type RedisWorkerOptions,
} from "../../src/redis.ts";
import { type Deferred, deferred } from "../_deferred.ts";
import {
  addEntries,
  eventually,
  isClaim,
  isHeartbeat,
  pending,
  readAll,
  useRedis,
} from "./_redis.ts";

const redis = useRedis();

/** A worker on connections of its own, with every command it sent. */
function startWorker(
  options: Omit<RedisWorkerOptions, "send" | "blockingSend">,
) {
  const commands = new RespClient(redis.server.url);
  const reads = new RespClient(redis.server.url);
  const sent: { at: number; args: string[] }[] = [];
  const record = (client: RespClient) => (args: string[]) => {
    sent.push({ at: performance.now(), args });
    return client.send(args);
  };
  const worker = redisWorker({
    ...options,
    send: record(commands),
    blockingSend: record(reads),
  });
  return {
    worker,
    sent,
    /** How many of its commands match, sent after `since`. */
    count(match: (args: string[]) => boolean, since = -Infinity): number {
      return sent.filter((s) => s.at >= since && match(s.args)).length;
    },
    async stop(): Promise<void> {
      await worker.stop();
      commands.close();
      reads.close();
    },
  };
}

/** The entries `consumer` owns in `group`, by id. */
async function ownedBy(
  stream: string,
  group: string,
  consumer: string,
): Promise<string[]> {
  const reply = await redis.client.send(
    ["XPENDING", stream, group, "-", "+", "10000", consumer],
  ) as [string, string, number, number][];
  return reply.map(([id]) => id);
}

/** Each entry's owner and delivery count in `group`. */
async function pendingOf(
  stream: string,
  group: string,
): Promise<Map<string, { owner: string; deliveries: number }>> {
  const reply = await redis.client.send(
    ["XPENDING", stream, group, "-", "+", "10000"],
  ) as [string, string, number, number][];
  return new Map(
    reply.map(([id, owner, , deliveries]) => [id, { owner, deliveries }]),
  );
}

const CLAIM_IDLE_MS = 500;

/**
 * Waits until `claimer` has sent 3 claims of idle entries, each begun when an
 * entry read at `readAt` and never touched since would have been idle for
 * twice `claimIdleMs`: without a heartbeat, any of them would take it.
 */
async function claimsPast(
  claimer: ReturnType<typeof startWorker>,
  stream: string,
  readAt: number,
  claimIdleMs = CLAIM_IDLE_MS,
): Promise<void> {
  const since = readAt + 2 * claimIdleMs;
  await eventually(
    () => claimer.count((args) => isClaim(args, stream), since) >= 3,
  );
}

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
  const a = startWorker({ ...common, consumer: "a", fn: fnOf("a") });
  await eventually(() => calls.length === 1);
  const b = startWorker({ ...common, consumer: "b", fn: fnOf("b") });
  try {
    await claimsPast(b, input, readAt);
    assert.deepEqual(await ownedBy(input, "g", "a"), [slow]);
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
  const b = startWorker({
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
    assert.deepEqual(await ownedBy(input, "g", "a"), [slow]);
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
  const a = startWorker({
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
  const a = startWorker({
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
  const b = startWorker({
    ...common,
    consumer: "b",
    fn: ({ id, fields }) => {
      otherCalls.push(id);
      return fields;
    },
  });
  try {
    await claimsPast(b, input, readAt);
    assert.equal((await ownedBy(input, "g", "a")).length, ids.length);
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
  // Each beat is one call for the first 1,000 entries, and one for the rest.
  const beats = a.count((args) => isHeartbeat(args, input) && args[6] === "-");
  const pages = a.count((args) =>
    isHeartbeat(args, input) && args[6]!.startsWith("(")
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
  const a = startWorker({
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
    const before = await pendingOf(input, "g");
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
  const a = startWorker({ ...common, consumer: "a", claimIntervalMs: 60_000 });
  let b: ReturnType<typeof startWorker> | undefined;
  try {
    await eventually(() => calls === 2);
    await redis.client.send(["XDEL", input, gone!]);
    const since = performance.now();
    await eventually(() =>
      a.count((args) => isHeartbeat(args, input), since) >= 3
    );
    // XCLAIM would have dropped it from the pending list without a word.
    assert.deepEqual(await ownedBy(input, "g", "a"), [gone, kept]);
    // Left idle, it is reported by another worker's claim.
    b = startWorker({ ...common, consumer: "b", claimIntervalMs: 100 });
    await eventually(async () =>
      (await readAll(redis.client, deadLetter)).length === 1
    );
    release.resolve();
    await eventually(async () =>
      (await readAll(redis.client, output)).length === 1 &&
      await pending(redis.client, input, "g") === 0
    );
  } finally {
    release.resolve();
    await Promise.all([a.stop(), b?.stop()]);
  }
  const [dead] = await readAll(redis.client, deadLetter);
  assert.equal(dead?.fields.id, gone);
  assert.equal(calls, 2);
});

test("redisWorker() in a SIGSTOPped process has its entries claimed by another worker after claimIdleMs, and not before", async () => {
  const input = redis.name("heartbeat-stalled");
  const output = `${input}:out`;
  const claimIdleMs = 1_000;
  await loadInputs(redis.client.send, { input, count: 5, keys: 5 });
  // Every call of the process takes a minute: its entries stay in flight.
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      new URL("../../demo/redis_worker.ts", import.meta.url).pathname,
      ...["--url", redis.server.url, "--input", input, "--output", output],
      ...["--group", "g", "--consumer", "stalled", "--capacity", "5"],
      ...["--delay-ms", "60000", "--claim-idle-ms", String(claimIdleMs)],
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  let b: ReturnType<typeof startWorker> | undefined;
  const calls: string[] = [];
  try {
    await eventually(async () => {
      try {
        return (await ownedBy(input, "g", "stalled")).length === 5;
      } catch {
        return false; // no group yet
      }
    });
    const readAt = performance.now();
    b = startWorker({
      input,
      output,
      group: "g",
      consumer: "b",
      claimIdleMs,
      claimIntervalMs: 100,
      blockMs: 50,
      fn: ({ id, fields }) => {
        calls.push(id);
        return { seq: fields.seq! };
      },
    });
    // Alive, the process keeps its entries.
    await claimsPast(b, input, readAt, claimIdleMs);
    assert.equal((await ownedBy(input, "g", "stalled")).length, 5);
    assert.deepEqual(calls, []);
    // Stalled, it loses them.
    child.kill("SIGSTOP");
    await eventually(async () =>
      (await readAll(redis.client, output)).length === 5 &&
      await pending(redis.client, input, "g") === 0
    );
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* exited already */ }
    await child.status;
    await b?.stop();
  }
  assert.equal(new Set(calls).size, 5);
  assert.equal(calls.length, 5);
  const seqs = (await readAll(redis.client, output)).map((e) => e.fields.seq);
  assert.deepEqual(seqs.sort(), ["0", "1", "2", "3", "4"]);
});
