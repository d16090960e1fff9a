// After stop(), a worker leaves no timer, op or resource of its own behind:
// Deno.test's sanitizers check it (this file is Deno-only, as tests/redis is).
import { RespClient } from "../../demo/redis_resp.ts";
import { startRedisServer } from "../../demo/redis_server.ts";
import { type RedisFields, redisWorker } from "../../src/redis.ts";

for (const partitions of [undefined, 2]) {
  Deno.test({
    name:
      `redisWorker() leaves nothing running after stop() (partitions: ${partitions})`,
    sanitizeOps: true,
    sanitizeResources: true,
  }, async () => {
    const server = await startRedisServer();
    const client = new RespClient(server.url);
    const reads = new RespClient(server.url);
    const input = "leak";
    for (let n = 0; n < 20; n++) {
      const stream = partitions === undefined ? input : `${input}:${n % 2}`;
      await client.send(["XADD", stream, "*", "n", String(n)]);
    }
    const worker = redisWorker({
      send: client.send,
      blockingSend: reads.send,
      input,
      output: "leak:out",
      group: "g",
      consumer: "c",
      blockMs: 200,
      pollMs: 20,
      leaseMs: 600,
      timeout: 20_000, // armed all along; below the default claimIdleMs
      ...(partitions === undefined ? {} : { partitions }),
      fn: ({ fields }) =>
        new Promise<RedisFields>((resolve) => setTimeout(resolve, 5, fields)),
    });
    while (Number(await client.send(["XLEN", "leak:out"])) < 20) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await worker.stop();
    client.close();
    reads.close();
    await server.stop();
  });
}
