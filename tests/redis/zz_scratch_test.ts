// Scratch probes of the review: not committed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RespClient } from "../../demo/redis_resp.ts";
import { type RedisFields, redisWorker } from "../../src/redis.ts";
import { controlledFn } from "../_deferred.ts";
import {
  addEntries,
  eventually,
  ns,
  pending,
  readAll,
  type RedisStreamEntry,
  useRedis,
} from "./_redis.ts";

const redis = useRedis();

test("probe: a failing fn under fail aborts the others at once and leaves every entry pending", async () => {
  const input = redis.name("p-fail");
  await addEntries(redis.client, input, 3);
  const { fn, calls, callsReach } = controlledFn<
    RedisStreamEntry,
    RedisFields
  >();
  const worker = redisWorker({
    send: redis.client.send,
    blockingSend: redis.reads.send,
    input,
    output: `${input}:out`,
    group: "g",
    consumer: "c",
    blockMs: 50,
    order: "ordered",
    fn,
  });
  const failed = assert.rejects(worker.done, /boom/);
  await callsReach(3);
  calls[2]!.resolve({ n: "2" }); // completed, but waits behind 0 in ordered mode
  calls[0]!.reject(new Error("boom"));
  await failed;
  assert.equal(calls[1]!.context.signal.aborted, true);
  assert.equal(await pending(redis.client, input, "g"), 3);
  assert.equal(await redis.client.send(["EXISTS", `${input}:out`]), 0);
});

test("probe: an onError handler that throws fails the worker and keeps the entry pending", async () => {
  const input = redis.name("p-handler-throws");
  await addEntries(redis.client, input, 2);
  const worker = redisWorker({
    send: redis.client.send,
    blockingSend: redis.reads.send,
    input,
    output: `${input}:out`,
    group: "g",
    consumer: "c",
    blockMs: 50,
    deadLetter: `${input}:dead`,
    fn: (e) => {
      if (e.fields.n === "0") throw new Error("boom");
      return e.fields;
    },
    onError: () => {
      throw new Error("handler broke");
    },
  });
  await assert.rejects(worker.done);
  const out = (await readAll(redis.client, `${input}:out`)).length;
  assert.equal(out + await pending(redis.client, input, "g"), 2);
  assert.equal(await redis.client.send(["EXISTS", `${input}:dead`]), 0);
});

test("probe: deleting the input stream fails the worker clearly", async () => {
  const input = redis.name("p-del");
  await addEntries(redis.client, input, 1);
  const worker = redisWorker({
    send: redis.client.send,
    blockingSend: redis.reads.send,
    input,
    output: `${input}:out`,
    group: "g",
    consumer: "c",
    blockMs: 50,
    fn: (e) => e.fields,
  });
  await eventually(async () =>
    Number(await redis.client.send(["XLEN", `${input}:out`])) === 1
  );
  await redis.client.send(["DEL", input]);
  await assert.rejects(worker.done, (e: Error) => {
    console.log(e.message);
    return e.message.includes(input);
  });
});

test("probe: deleting the input stream while an entry is in flight fails its commit clearly, acking nothing", async () => {
  const input = redis.name("p-del-inflight");
  await addEntries(redis.client, input, 1);
  const { fn, calls, callsReach } = controlledFn<
    RedisStreamEntry,
    RedisFields
  >();
  const worker = redisWorker({
    send: redis.client.send,
    blockingSend: redis.reads.send,
    input,
    output: `${input}:out`,
    group: "g",
    consumer: "c",
    blockMs: 50,
    fn,
  });
  const failed = assert.rejects(worker.done, (e: Error) => {
    console.log(e.message);
    return e.message.includes(input);
  });
  await callsReach(1);
  await redis.client.send(["DEL", input]);
  calls[0]!.resolve({ n: "x" });
  await failed;
  console.log(
    "out exists",
    await redis.client.send(["EXISTS", `${input}:out`]),
  );
});

test("probe: three workers with calls slower than claimIdleMs commit every input once", async () => {
  const input = redis.name("p-three");
  const output = `${input}:out`;
  await addEntries(redis.client, input, 60);
  const clients = Array.from(
    { length: 6 },
    () => new RespClient(redis.server.url),
  );
  const workers = [0, 1, 2].map((w) =>
    redisWorker({
      send: clients[w * 2]!.send,
      blockingSend: clients[w * 2 + 1]!.send,
      input,
      output,
      group: "g",
      consumer: `w${w}`,
      blockMs: 50,
      count: 5,
      claimIdleMs: 30,
      claimIntervalMs: 20,
      capacity: 4,
      order: "unordered",
      fn: async ({ fields }) => {
        await new Promise((r) => setTimeout(r, 20 + Math.random() * 80));
        return fields;
      },
    })
  );
  try {
    await eventually(
      async () =>
        Number(await redis.client.send(["XLEN", output])) >= 60 &&
        await pending(redis.client, input, "g") === 0,
      30_000,
    );
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    for (const c of clients) c.close();
  }
  const got = ns(await readAll(redis.client, output)).sort((a, b) => a - b);
  assert.deepEqual(got, Array.from({ length: 60 }, (_, i) => i));
  console.log(workers.map((w) => [w.stats.committed, w.stats.duplicates]));
});
