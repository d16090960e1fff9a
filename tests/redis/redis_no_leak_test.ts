// After stop(), an error or its signal's abort, a worker leaves no timer, op
// or resource of its own behind, its heartbeat's included: Deno.test's
// sanitizers check it (this file is Deno-only, as tests/redis is).
import assert from "node:assert/strict";
import { RespClient } from "../../demo/redis_resp.ts";
import { startRedisServer } from "../../demo/redis_server.ts";
import type { Mapper } from "../../mod.ts";
import {
  type RedisFields,
  type RedisStreamEntry,
  redisWorker,
  type RedisWorkerOptions,
} from "../../src/redis.ts";
import { isHeartbeat } from "./_redis.ts";

const CLAIM_IDLE_MS = 300;

/**
 * Runs a worker on a fresh server with 20 entries until `end` ends it, once
 * its heartbeat has beaten twice (without partitions), then closes all.
 */
async function runToEnd(
  options: Partial<RedisWorkerOptions> & { partitions?: number },
  end: (
    worker: ReturnType<typeof redisWorker>,
    client: RespClient,
  ) => Promise<void>,
  failBeats = false,
): Promise<void> {
  const server = await startRedisServer();
  const client = new RespClient(server.url);
  const reads = new RespClient(server.url);
  const input = "leak";
  let beats = 0;
  // The heartbeat touches only entries in flight: the last one stays so
  // until it has beaten twice.
  const beatenTwice = Promise.withResolvers<void>();
  const send = (args: string[]) => {
    if (isHeartbeat(args, input)) {
      if (++beats === 2) beatenTwice.resolve();
      if (failBeats) return Promise.reject(new Error("beat refused"));
    }
    return client.send(args);
  };
  const fn = (options.fn as Mapper<RedisStreamEntry, RedisFields>) ??
    (({ fields }) =>
      new Promise<RedisFields>((resolve) => setTimeout(resolve, 5, fields)));
  try {
    for (let n = 0; n < 20; n++) {
      const stream = options.partitions === undefined
        ? input
        : `${input}:${n % 2}`;
      await client.send(["XADD", stream, "*", "n", String(n)]);
    }
    const worker = redisWorker({
      send,
      blockingSend: reads.send,
      input,
      output: "leak:out",
      group: "g",
      consumer: "c",
      blockMs: 200,
      pollMs: 20,
      leaseMs: 600,
      claimIdleMs: CLAIM_IDLE_MS,
      timeout: 20_000, // armed all along
      ...options,
      fn: async (entry, context) => {
        if (options.partitions === undefined && entry.fields.n === "19") {
          await beatenTwice.promise;
        }
        return fn(entry, context);
      },
    });
    let ended = false;
    worker.done.catch(() => {}).finally(() => ended = true);
    while (
      !ended && (
        Number(await client.send(["XLEN", "leak:out"])) < 20 ||
        (options.partitions === undefined && beats < 2)
      )
    ) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await end(worker, client);
  } finally {
    client.close();
    reads.close();
    await server.stop();
  }
}

const sanitized = { sanitizeOps: true, sanitizeResources: true };

for (const partitions of [undefined, 2]) {
  Deno.test({
    name:
      `redisWorker() leaves nothing running after stop() (partitions: ${partitions})`,
    ...sanitized,
  }, async () => {
    await runToEnd(
      partitions === undefined ? {} : { partitions },
      (worker) => worker.stop(),
    );
  });
}

Deno.test({
  name: "redisWorker() leaves nothing running after it fails",
  ...sanitized,
}, async () => {
  let failing = false;
  await runToEnd({
    fn: ({ fields }) =>
      failing
        ? Promise.reject(new Error("fn failed"))
        : new Promise<RedisFields>((resolve) => setTimeout(resolve, 5, fields)),
  }, async (worker, client) => {
    failing = true;
    await client.send(["XADD", "leak", "*", "n", "20"]);
    await assert.rejects(worker.done, /fn failed/);
  });
});

Deno.test({
  name: "redisWorker() leaves nothing running after its signal aborts",
  ...sanitized,
}, async () => {
  const controller = new AbortController();
  await runToEnd({ signal: controller.signal }, async (worker) => {
    const reason = new Error("aborted by the caller");
    controller.abort(reason);
    await assert.rejects(worker.done, reason);
  });
});

Deno.test({
  name:
    "redisWorker() fails with its heartbeat's error and leaves nothing running",
  ...sanitized,
}, async () => {
  await runToEnd({}, async (worker) => {
    await assert.rejects(
      worker.done,
      new Error(
        "Cannot keep the pending entries of stream leak in group g from being claimed: beat refused",
      ),
    );
  }, true);
});

Deno.test({
  name: "redisWorker() leaves nothing running after stop() during a hand-over",
  ...sanitized,
}, async () => {
  const server = await startRedisServer();
  const client = new RespClient(server.url);
  try {
    for (const p of [0, 1]) {
      await client.send(["XADD", `leak:${p}`, "*", "n", String(p)]);
    }
    const common = {
      send: client.send,
      input: "leak",
      output: "leak:out",
      group: "g",
      partitions: 2,
      leaseMs: 600,
      pollMs: 20,
    };
    let calls = 0;
    const first = redisWorker({
      ...common,
      consumer: "first",
      // Held until the stop aborts it.
      fn: () => (calls++, new Promise<RedisFields>(() => {})),
    });
    while (calls < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    const second = redisWorker({
      ...common,
      consumer: "second",
      fn: ({ fields }) => fields,
    });
    while (first.stats.handingOver.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await first.stop();
    while (Number(await client.send(["XLEN", "leak:out"])) < 2) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await second.stop();
  } finally {
    client.close();
    await server.stop();
  }
});
