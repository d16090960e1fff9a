// redisWorker()'s heartbeat in a worker process that is stalled (SIGSTOP):
// alive, it keeps its entries from the claims of other workers; stalled, it
// stops beating, and they are claimed after claimIdleMs, as before.
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadInputs } from "../../demo/redis_cluster.ts";
import {
  claimsPast,
  ownedBy,
  type RecordedWorker,
  startWorker,
} from "./_heartbeat.ts";
import { eventually, pending, readAll, useRedis } from "./_redis.ts";

const redis = useRedis();

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
  let b: RecordedWorker | undefined;
  const calls: string[] = [];
  try {
    await eventually(async () => {
      try {
        return (await ownedBy(redis, input, "g", "stalled")).length === 5;
      } catch {
        return false; // no group yet
      }
    });
    const readAt = performance.now();
    b = startWorker(redis, {
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
    assert.equal((await ownedBy(redis, input, "g", "stalled")).length, 5);
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
