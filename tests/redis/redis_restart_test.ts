// redisWorker() processes while the redis-server itself is killed and
// restarted: they fail clearly, are restarted, and nothing is lost.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  inputStreams,
  loadInputs,
  pendingCount,
  verifyOutputs,
  waitForOutputs,
  WorkerPool,
} from "../../demo/redis_cluster.ts";
import { RespClient } from "../../demo/redis_resp.ts";
import { startRedisServer } from "../../demo/redis_server.ts";

const COUNT = 4_000;

test("redisWorker() processes lose nothing and duplicate nothing when Redis restarts mid-run", async () => {
  // An append-only file fsynced on every write: a killed server keeps all
  // it acknowledged, as a production server with persistence would.
  const server = await startRedisServer({ appendonly: true });
  let client = new RespClient(server.url);
  const pool = new WorkerPool({
    url: server.url,
    workers: 2,
    input: "restart:in",
    output: "restart:out",
    group: "restart",
    order: "unordered",
    capacity: 20,
    delayMs: 5,
    jitter: true,
    claimIdleMs: 1_000,
  });
  try {
    await loadInputs(client.send, {
      input: "restart:in",
      count: COUNT,
      keys: 100,
    });
    pool.start();
    const streams = inputStreams("restart:in");
    await waitForOutputs(client.send, {
      output: "restart:out",
      count: COUNT / 4,
      streams: [],
      group: "restart",
      timeoutMs: 60_000,
    });
    client.close();
    await server.kill();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await server.restart();
    client = new RespClient(server.url);
    const before = Number(await client.send(["XLEN", "restart:out"]));
    assert.ok(before < COUNT, "the run ended before the restart");
    await waitForOutputs(client.send, {
      output: "restart:out",
      count: COUNT,
      streams,
      group: "restart",
      timeoutMs: 60_000,
    });
    await pool.stop();
    const verdict = await verifyOutputs(client.send, "restart:out", COUNT);
    assert.equal(verdict.outputs, COUNT);
    assert.equal(verdict.duplicates, 0);
    assert.equal(verdict.missing, 0);
    assert.equal(await pendingCount(client.send, streams, "restart"), 0);
    // The workers failed clearly and were restarted.
    assert.ok(pool.failures.length > 0);
    for (const failure of pool.failures) {
      assert.match(
        failure,
        /^worker worker-\d failed: Cannot .*: (Redis connection closed|Connection refused|LOADING Redis is loading)/,
      );
    }
  } finally {
    await pool.stop();
    client.close();
    await server.stop();
  }
});
