import { test } from "node:test";
import { type RedisFields, redisWorker } from "../../src/redis.ts";
import { controlledFn } from "../_deferred.ts";
import { addEntries, pending, type RedisStreamEntry, useRedis } from "./_redis.ts";
const redis = useRedis();
for (const count of [5, 100]) {
  test(`probe: pending with capacity 2, count ${count}`, async () => {
    const input = redis.name("p-cap");
    await addEntries(redis.client, input, 300);
    const { fn, calls } = controlledFn<RedisStreamEntry, RedisFields>();
    const worker = redisWorker({
      send: redis.client.send, blockingSend: redis.reads.send, input, output: `${input}:out`,
      group: "g", consumer: "c", blockMs: 50, capacity: 2, count, fn,
    });
    await new Promise((r) => setTimeout(r, 500));
    console.log("calls", calls.length, "pending", await pending(redis.client, input, "g"), worker.stats.accepted);
    await worker.stop();
  });
}
