// An adversarial review of the Redis scale-out against a real redis-server:
// each test here failed on the code it was written against, and pins the
// defect it found.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RespClient } from "../../demo/redis_resp.ts";
import { startRedisServer } from "../../demo/redis_server.ts";
import {
  type RedisFields,
  redisStreamSource,
  redisWorker,
} from "../../src/redis.ts";
import { controlledFn, deferred } from "../_deferred.ts";
import {
  addEntries,
  deliverAll,
  eventually,
  pending,
  readAll,
  readInGroup,
  type RedisStreamEntry,
  useRedis,
} from "./_redis.ts";

const redis = useRedis();

/** Rejects if `promise` has not settled within `ms` (a hang, not a speed). */
async function within<T>(promise: Promise<T>, ms: number, what: string) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} hung`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

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
