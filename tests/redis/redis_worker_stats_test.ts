// A worker's own counters count what its commits did, once each reply has
// come: outputs written (not inputs), dead letters written (not attempted),
// and final by the time stop() resolves. Its `done` is marked handled.
import assert from "node:assert/strict";
import { test } from "node:test";
import { redisWorker, type RedisWorkerOptions } from "../../src/redis.ts";
import { deferred } from "../_deferred.ts";
import {
  addEntries,
  eventually,
  pending,
  readAll,
  useRedis,
} from "./_redis.ts";

const redis = useRedis();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function setup(label: string) {
  const input = redis.name(label);
  const output = `${input}:out`;
  const deadLetter = `${input}:dead`;
  const base = {
    send: redis.client.send,
    blockingSend: redis.reads.send,
    input,
    output,
    group: "g",
    consumer: "c",
    blockMs: 10,
  } satisfies Partial<RedisWorkerOptions>;
  return { input, output, deadLetter, base };
}

/** Whether `args` runs a script on `output`: a commit's, whose first key it is. */
const isCommit = (args: string[], output: string) =>
  args[0] === "EVALSHA" && args[3] === output;

test("redisWorker()'s stats.outputs counts the outputs it wrote, and deadLettered the dead letters", async () => {
  const { input, output, deadLetter, base } = setup("stats-outputs");
  await addEntries(redis.client, input, 4);
  const worker = redisWorker({
    ...base,
    deadLetter,
    fn: {
      // n = 0, 1, 2: that many outputs; n = 3 fails.
      asyncInvoke(entry, result) {
        const n = Number(entry.fields.n);
        if (n === 3) return result.completeExceptionally(new Error("no"));
        result.complete(Array.from({ length: n }, (_, i) => ({ i: `${i}` })));
      },
    },
  });
  try {
    await eventually(() => worker.stats.committed === 4);
  } finally {
    await worker.stop();
  }
  assert.equal((await readAll(redis.client, output)).length, 3);
  assert.equal((await readAll(redis.client, deadLetter)).length, 1);
  const { outputs, emitted, committed, deadLettered, duplicates } =
    worker.stats;
  assert.deepEqual(
    { outputs, emitted, committed, deadLettered, duplicates },
    { outputs: 3, emitted: 4, committed: 4, deadLettered: 1, duplicates: 0 },
  );
});

test("redisWorker() counts a dead letter only once it is written: one whose commit fails counts nowhere", async () => {
  const { input, output, deadLetter, base } = setup("stats-dead-failed");
  await addEntries(redis.client, input, 1);
  const refused = new Error("the commit did not reach Redis");
  const worker = redisWorker({
    ...base,
    send: (args) =>
      isCommit(args, output)
        ? Promise.reject(refused)
        : redis.client.send(args),
    deadLetter,
    fn: () => {
      throw new Error("failed");
    },
  });
  await assert.rejects(worker.done, /the commit did not reach Redis/);
  assert.equal(worker.stats.deadLettered, 0);
  assert.equal(worker.stats.committed, 0);
  assert.equal(await pending(redis.client, input, "g"), 1);
});

test("redisWorker().stop() resolves once a commit in flight has landed, so its stats are final", async () => {
  const { input, output, base } = setup("stats-final");
  await addEntries(redis.client, input, 1);
  const commitSent = deferred();
  const worker = redisWorker({
    ...base,
    // The commit lands at once; its reply comes 300 ms later.
    send: async (args) => {
      if (!isCommit(args, output)) return redis.client.send(args);
      const reply = await redis.client.send(args);
      commitSent.resolve();
      await sleep(300);
      return reply;
    },
    fn: ({ fields }) => fields,
  });
  await commitSent.promise;
  await worker.stop();
  assert.equal(worker.stats.committed, 1);
  assert.equal(worker.stats.outputs, 1);
  assert.equal((await readAll(redis.client, output)).length, 1);
});

test("redisWorker()'s done is marked handled: a failure before anyone awaits it is no unhandled rejection", async () => {
  const { input, base } = setup("stats-handled");
  await addEntries(redis.client, input, 1);
  const failure = new Error("fn failed");
  const worker = redisWorker({
    ...base,
    fn: () => {
      throw failure;
    },
  });
  // Long enough for the failure to settle `done` with no handler attached;
  // an unhandled rejection would fail this test.
  await eventually(() => worker.stats.failed === 1);
  await sleep(100);
  await assert.rejects(worker.done, failure);
});
