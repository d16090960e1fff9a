// A partition that a live worker gives up to even out the shares: it stops
// reading it, lets the calls on the entries it has read commit, and only then
// gives the lease back, so a joining worker's arrival runs no call twice.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type RedisFields,
  type RedisStreamEntry,
  redisWorker,
} from "../../src/redis.ts";
import { type Call, controlledFn, deferred } from "../_deferred.ts";
import { eventually, ns, readAll, useRedis } from "./_redis.ts";

const redis = useRedis();

const LEASE_MS = 600; // a beat every 200 ms

/**
 * A worker's options over two partitions of `input`, keyed as they are: each
 * partition commits on its own, so :1's entries do not wait for :0's.
 */
function twoPartitionOptions(input: string) {
  return {
    input,
    output: `${input}:out`,
    group: "g",
    partitions: 2,
    leaseMs: LEASE_MS,
    pollMs: 10,
    order: "key-ordered" as const,
    key: (entry: RedisStreamEntry) => entry.stream,
  };
}

/**
 * Two partitions with one entry each (n = 0 in :0, n = 1 in :1), or in
 * those of `filled` only.
 */
async function twoPartitions(label: string, filled = [0, 1]) {
  const input = redis.name(label);
  for (const p of filled) {
    await redis.client.send(["XADD", `${input}:${p}`, "*", "n", String(p)]);
  }
  return {
    input,
    output: `${input}:out`,
    common: { send: redis.client.send, ...twoPartitionOptions(input) },
  };
}

type RecordingFn = ReturnType<typeof recordingFn>;

/** A fn that records its entries and returns their fields. */
function recordingFn() {
  const entries: RedisStreamEntry[] = [];
  const fn = (entry: RedisStreamEntry): RedisFields => {
    entries.push(entry);
    return entry.fields;
  };
  return { entries, fn };
}

function callOn(
  calls: Call<RedisStreamEntry, RedisFields>[],
  stream: string,
): Call<RedisStreamEntry, RedisFields> {
  const call = calls.find((c) => c.input.stream === stream);
  assert.ok(call, `no call on ${stream}`);
  return call;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Worker = ReturnType<typeof redisWorker>;

/**
 * Runs `run` once `first` holds both partitions with `calls` of `held`'s
 * calls in flight, and `second` (which records what it runs in `joined`)
 * has been started; stops both after it, whatever it does.
 */
async function withJoiner(
  common: Awaited<ReturnType<typeof twoPartitions>>["common"],
  held: ReturnType<typeof controlledFn<RedisStreamEntry, RedisFields>>,
  calls: number,
  run: (
    workers: { first: Worker; second: Worker; joined: RecordingFn },
  ) => Promise<void>,
  firstOptions: { handOverMs?: number } = {},
): Promise<void> {
  const first = redisWorker({
    ...common,
    ...firstOptions,
    consumer: "first",
    fn: held.fn,
  });
  const joined = recordingFn();
  let second: Worker | undefined;
  try {
    await eventually(() => first.stats.partitions.length === 2);
    await held.callsReach(calls);
    second = redisWorker({ ...common, consumer: "second", fn: joined.fn });
    await run({ first, second, joined });
  } finally {
    await Promise.all([first.stop(), second?.stop()]);
  }
}

test("redisWorker() hands a partition to a joining worker only after the call in flight on it commits, so it runs once and its key keeps its order", async () => {
  const { input, output, common } = await twoPartitions("handover");
  const held = controlledFn<RedisStreamEntry, RedisFields>();
  await withJoiner(
    common,
    held,
    2,
    async ({ first, second, joined }) => {
      // Well past a lease: without renewal the partition would change hands.
      await sleep(3 * LEASE_MS);
      assert.deepEqual(joined.entries, [], "the joining worker ran a call");
      assert.deepEqual(second.stats.partitions, []);
      assert.ok(held.calls.every((call) => !call.context.signal.aborted));
      assert.equal(first.stats.handingOver.length, 1);
      const given = first.stats.handingOver[0]!;
      const stream = `${input}:${given}`;
      // New entries of the same key wait: the giver no longer reads them.
      for (const n of [10, 11]) {
        await redis.client.send(["XADD", stream, "*", "n", String(n)]);
      }
      await sleep(3 * LEASE_MS);
      assert.equal(held.calls.length, 2);
      assert.deepEqual(joined.entries, []);

      callOn(held.calls, stream).resolve({ n: String(given) });
      await eventually(() =>
        first.stats.handingOver.length === 0 &&
        second.stats.partitions.length === 1
      );
      assert.deepEqual(second.stats.partitions, [given]);
      assert.deepEqual(first.stats.partitions, [1 - given]);
      await eventually(async () =>
        (await readAll(redis.client, output)).length === 3
      );
      callOn(held.calls, `${input}:${1 - given}`).resolve({
        n: String(1 - given),
      });
      await eventually(async () =>
        (await readAll(redis.client, output)).length === 4
      );

      // fn ran once per entry: the held one in the giver only.
      assert.equal(held.calls.length, 2);
      assert.deepEqual(ns(joined.entries), [10, 11]);
      const outputs = ns(await readAll(redis.client, output));
      assert.deepEqual(outputs.filter((n) => n !== 1 - given), [given, 10, 11]);
      assert.equal(first.stats.handOvers, 1);
      assert.equal(first.stats.lateHandOvers, 0);
      assert.equal(first.stats.committed, 2);
      assert.equal(second.stats.committed, 2);
      assert.equal(first.stats.duplicates + second.stats.duplicates, 0);
    },
  );
});

test("redisWorker() hands over the partition with the fewest entries not yet committed: an idle one goes to a joining worker at once while a call runs on the other", async () => {
  // Only the highest-numbered partition has an entry: the one that picking
  // the last partition would hand over, and then wait for.
  const { input, output, common } = await twoPartitions("handover-idle", [1]);
  const held = controlledFn<RedisStreamEntry, RedisFields>();
  await withJoiner(
    common,
    held,
    1,
    async ({ first, second, joined }) => {
      // The call stays held: only the idle partition can change hands.
      await eventually(() => second.stats.partitions.length === 1);
      assert.deepEqual(second.stats.partitions, [0]);
      assert.deepEqual(first.stats.partitions, [1]);
      assert.deepEqual(first.stats.handingOver, []);
      assert.equal(first.stats.handOvers, 1);
      assert.ok(!held.calls[0]!.context.signal.aborted);
      await redis.client.send(["XADD", `${input}:0`, "*", "n", "0"]);
      await eventually(() => joined.entries.length === 1);
      held.calls[0]!.resolve({ n: "1" });
      await eventually(async () =>
        (await readAll(redis.client, output)).length === 2
      );
      assert.equal(held.calls.length, 1);
      assert.deepEqual(ns(joined.entries), [0]);
      assert.equal(first.stats.lateHandOvers, 0);
      assert.equal(first.stats.duplicates + second.stats.duplicates, 0);
    },
  );
});

test("redisWorker() gives a partition up after handOverMs when a call on it outlasts the hand-over; that entry runs again but commits once", async () => {
  const { input, output, common } = await twoPartitions("handover-late");
  const held = controlledFn<RedisStreamEntry, RedisFields>();
  await withJoiner(
    common,
    held,
    2,
    async ({ first, second, joined }) => {
      await eventually(() => second.stats.partitions.length === 1);
      const given = second.stats.partitions[0]!;
      const stream = `${input}:${given}`;
      await eventually(() => joined.entries.length === 1);
      assert.equal(joined.entries[0]!.stream, stream);
      assert.equal(first.stats.lateHandOvers, 1);
      assert.equal(first.stats.handOvers, 0);
      assert.deepEqual(first.stats.handingOver, []);
      assert.deepEqual(first.stats.partitions, [1 - given]);
      // The giver's call runs on: it is not aborted, and its commit is dropped.
      const call = callOn(held.calls, stream);
      assert.equal(call.context.signal.aborted, false);
      call.resolve({ n: "late" });
      await eventually(() => first.stats.duplicates === 1);
      callOn(held.calls, `${input}:${1 - given}`).resolve({ n: "other" });
      await eventually(() => first.stats.committed === 1);
      const outputs = (await readAll(redis.client, output)).map((e) =>
        e.fields.n
      );
      assert.deepEqual(outputs.sort(), [String(given), "other"].sort());
    },
    // Past a lease: the renewals keep it meanwhile.
    { handOverMs: 2 * LEASE_MS },
  );
});

test("redisWorker() hands a partition over only after a read of it that was in flight when the hand-over began has been committed", async () => {
  const input = redis.name("handover-read");
  // A call in flight on :0, none yet on :1, whose read is held: :1 is the
  // one with fewer entries not committed, and is handed over.
  const stream = `${input}:1`;
  await redis.client.send(["XADD", `${input}:0`, "*", "n", "0"]);
  const zeroHeld = deferred();
  let armed = false;
  const readSent = deferred();
  const readHeld = deferred();
  // The armed read of new entries of :1 (no claim cursor) finds one, and its
  // reply is held back.
  const send = async (args: string[]) => {
    if (
      armed && args[0] === "EVALSHA" && args[4] === stream && args[10] === ""
    ) {
      armed = false;
      await redis.client.send(["XADD", stream, "*", "n", "7"]);
      const reply = redis.client.send(args);
      readSent.resolve();
      await readHeld.promise;
      return reply;
    }
    return redis.client.send(args);
  };
  const common = twoPartitionOptions(input);
  const ran: RedisStreamEntry[] = [];
  const fn = async (entry: RedisStreamEntry): Promise<RedisFields> => {
    ran.push(entry);
    if (entry.stream !== stream) await zeroHeld.promise;
    return entry.fields;
  };
  const first = redisWorker({ ...common, send, consumer: "first", fn });
  const joined = recordingFn();
  let second: ReturnType<typeof redisWorker> | undefined;
  try {
    await eventually(() =>
      first.stats.partitions.length === 2 && ran.length === 1
    );
    armed = true;
    await readSent.promise;
    second = redisWorker({
      ...common,
      send: redis.client.send,
      consumer: "second",
      fn: joined.fn,
    });
    await eventually(() =>
      first.stats.handingOver.length === 1 ||
      first.stats.handOvers + first.stats.lateHandOvers > 0
    );
    await sleep(3 * LEASE_MS);
    assert.deepEqual(joined.entries, [], "the joining worker ran a call");
    assert.deepEqual(first.stats.handingOver, [1]);
    readHeld.resolve();
    await eventually(() => second!.stats.partitions.length === 1);
    assert.deepEqual(second.stats.partitions, [1]);
    assert.deepEqual(ns(ran), [0, 7]);
    assert.deepEqual(joined.entries, []);
    assert.equal(first.stats.committed, 1);
    assert.equal(first.stats.handOvers, 1);
  } finally {
    zeroHeld.resolve();
    readHeld.resolve();
    await Promise.all([first.stop(), second?.stop()]);
  }
});

test("redisWorker() drops a hand-over whose lease another worker took meanwhile, leaves that lease alone, and still commits its call once", async () => {
  const { input, output, common } = await twoPartitions("handover-lost");
  const held = controlledFn<RedisStreamEntry, RedisFields>();
  await withJoiner(
    common,
    held,
    2,
    async ({ first, joined }) => {
      await eventually(() => first.stats.handingOver.length === 1);
      const given = first.stats.handingOver[0]!;
      const lease = `${input}:${given}:g:lease`;
      // As if it ran out while the worker stalled, and another took it.
      await redis.client.send(["SET", lease, "another worker"]);
      await eventually(() => first.stats.handingOver.length === 0);
      assert.deepEqual(first.stats.partitions, [1 - given]);
      const call = callOn(held.calls, `${input}:${given}`);
      assert.equal(call.context.signal.aborted, false);
      call.resolve({ n: String(given) });
      await eventually(() => first.stats.committed === 1);
      assert.equal(await redis.client.send(["GET", lease]), "another worker");
      assert.equal(first.stats.handOvers + first.stats.lateHandOvers, 0);
      assert.deepEqual(ns(await readAll(redis.client, output)), [given]);
      assert.deepEqual(joined.entries, []);
    },
  );
});

test("redisWorker() stop() during a hand-over aborts its calls at once and gives every lease back", async () => {
  const { output, common } = await twoPartitions("handover-stop");
  const held = controlledFn<RedisStreamEntry, RedisFields>();
  await withJoiner(
    common,
    held,
    2,
    async ({ first, second, joined }) => {
      await eventually(() => first.stats.handingOver.length === 1);
      await first.stop();
      assert.ok(held.calls.every((call) => call.context.signal.aborted));
      await eventually(() => second.stats.partitions.length === 2);
      await eventually(async () =>
        (await readAll(redis.client, output)).length === 2
      );
      assert.deepEqual(ns(joined.entries).sort(), [0, 1]);
      assert.equal(first.stats.committed, 0);
      assert.equal(first.stats.handOvers + first.stats.lateHandOvers, 0);
    },
  );
});

test("redisWorker() reads no more from a partition whose hand-over began while it read another partition in the same round", async () => {
  const input = redis.name("handover-round");
  // A call in flight on each: of two equally busy partitions, the heartbeat
  // script gives up the last one.
  const given = `${input}:1`;
  await redis.client.send(["XADD", `${input}:0`, "*", "n", "0"]);
  await redis.client.send(["XADD", given, "*", "n", "1"]);
  let armed = false;
  const readHeld = deferred();
  const release = deferred();
  // The armed read of :0 is held before it is sent, in the middle of a round
  // that reads :1 next.
  const send = async (args: string[]) => {
    if (armed && args[0] === "EVALSHA" && args[4] === `${input}:0`) {
      armed = false;
      readHeld.resolve();
      await release.promise;
    }
    return redis.client.send(args);
  };
  const common = twoPartitionOptions(input);
  const held = controlledFn<RedisStreamEntry, RedisFields>();
  const first = redisWorker({
    ...common,
    send,
    consumer: "first",
    fn: held.fn,
  });
  const joined = recordingFn();
  let second: ReturnType<typeof redisWorker> | undefined;
  try {
    await eventually(() => first.stats.partitions.length === 2);
    await held.callsReach(2);
    armed = true;
    await readHeld.promise;
    await redis.client.send(["XADD", given, "*", "n", "2"]);
    second = redisWorker({
      ...common,
      send: redis.client.send,
      consumer: "second",
      fn: joined.fn,
    });
    await eventually(() => first.stats.handingOver.length === 1);
    assert.deepEqual(first.stats.handingOver, [1]);
    release.resolve();
    await sleep(3 * LEASE_MS);
    assert.deepEqual(
      ns(held.calls.map((call) => call.input)).sort(),
      [0, 1],
      "read from a partition being handed over",
    );
    callOn(held.calls, given).resolve({ n: "1" });
    await eventually(() => joined.entries.length === 1);
    assert.deepEqual(ns(joined.entries), [2]);
    assert.equal(first.stats.handOvers, 1);
    assert.equal(first.stats.lateHandOvers, 0);
  } finally {
    release.resolve();
    for (const call of held.calls) call.resolve({ n: "x" });
    await Promise.all([first.stop(), second?.stop()]);
  }
});

for (
  const [how, settle] of [
    [
      "dead-lettered",
      (call: Call<RedisStreamEntry, RedisFields>) =>
        call.reject(new Error("fails for good")),
    ],
    [
      "skipped by onError with no output",
      (call: Call<RedisStreamEntry, RedisFields>) =>
        call.reject(new Error("skipped")),
    ],
    [
      "dropped as a duplicate",
      async (call: Call<RedisStreamEntry, RedisFields>) => {
        const { stream, id } = call.input;
        await redis.client.send(["XACK", stream, "g", id]);
        call.resolve({ n: "late" });
      },
    ],
  ] as const
) {
  test(`redisWorker() counts an entry ${how} as done: its hand-over ends in time`, async () => {
    const { input, common } = await twoPartitions(`handover-${how}`);
    const options = {
      ...common,
      deadLetter: `${input}:dead`,
      ...(how.startsWith("skipped") ? { onError: () => [] } : {}),
    };
    const held = controlledFn<RedisStreamEntry, RedisFields>();
    const first = redisWorker({ ...options, consumer: "first", fn: held.fn });
    let second: ReturnType<typeof redisWorker> | undefined;
    try {
      await held.callsReach(2);
      second = redisWorker({
        ...options,
        consumer: "second",
        fn: recordingFn().fn,
      });
      await eventually(() => first.stats.handingOver.length === 1);
      const given = first.stats.handingOver[0]!;
      await settle(callOn(held.calls, `${input}:${given}`));
      await eventually(() => first.stats.handOvers === 1);
      assert.equal(first.stats.lateHandOvers, 0);
      const { deadLettered, duplicates } = first.stats;
      assert.deepEqual({ deadLettered, duplicates }, {
        deadLettered: how === "dead-lettered" ? 1 : 0,
        duplicates: how === "dropped as a duplicate" ? 1 : 0,
      });
      await eventually(() => second!.stats.partitions.length === 1);
      assert.deepEqual(second.stats.partitions, [given]);
    } finally {
      for (const call of held.calls) call.resolve({ n: "x" });
      await Promise.all([first.stop(), second?.stop()]);
    }
  });
}

test('redisWorker() in "ordered" mode hands a partition over only once the entries read before its own, from other partitions too, have committed', async () => {
  const { input, common } = await twoPartitions("handover-ordered");
  const { order: _, key: __, ...ordered } = common;
  const held = controlledFn<RedisStreamEntry, RedisFields>();
  const first = redisWorker({ ...ordered, consumer: "first", fn: held.fn });
  let second: ReturnType<typeof redisWorker> | undefined;
  try {
    await held.callsReach(2);
    // Read in this order: :0's entry comes out first.
    assert.deepEqual(held.calls.map((call) => call.input.stream), [
      `${input}:0`,
      `${input}:1`,
    ]);
    second = redisWorker({
      ...ordered,
      consumer: "second",
      fn: recordingFn().fn,
    });
    await eventually(() => first.stats.handingOver.length === 1);
    assert.deepEqual(first.stats.handingOver, [1]);
    callOn(held.calls, `${input}:1`).resolve({ n: "1" });
    await sleep(3 * LEASE_MS);
    assert.deepEqual(first.stats.handingOver, [1]);
    assert.equal(first.stats.committed, 0);
    callOn(held.calls, `${input}:0`).resolve({ n: "0" });
    await eventually(() => first.stats.handOvers === 1);
    assert.equal(first.stats.committed, 2);
  } finally {
    for (const call of held.calls) call.resolve({ n: "x" });
    await Promise.all([first.stop(), second?.stop()]);
  }
});

test("redisWorker() shares partitions so that none of the live workers is left without one: 4 partitions over 3 workers go 2, 1, 1", async () => {
  const input = redis.name("handover-shares");
  const common = {
    send: redis.client.send,
    input,
    output: `${input}:out`,
    group: "g",
    partitions: 4,
    leaseMs: LEASE_MS,
    pollMs: 10,
    fn: ({ fields }: RedisStreamEntry) => fields,
  };
  const workers = ["a", "b", "c"].map((consumer) =>
    redisWorker({ ...common, consumer })
  );
  try {
    // A share of ceil(4 / 3) = 2 each would leave the third with none; the
    // first by name takes the one more.
    const held = () => workers.map((worker) => worker.stats.partitions.length);
    await eventually(() => held().join() === "2,1,1");
    assert.deepEqual(
      workers.flatMap((worker) => worker.stats.partitions).sort(),
      [0, 1, 2, 3],
    );
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
  }
});
