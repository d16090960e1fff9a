// A partition's lease is renewed every leaseMs / 3 counted from the start of
// the last renewal, not from its reply: over a slow connection, the period
// must not stretch by the reply's latency, or the lease would lapse between
// two renewals.
import assert from "node:assert/strict";
import { test } from "node:test";
import { redisWorker } from "../../src/redis.ts";
import { useRedis } from "./_redis.ts";

const redis = useRedis();

const LEASE_MS = 600; // a renewal every 200 ms
const REPLY_DELAY_MS = 400; // each renewal's reply comes this much later

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("redisWorker() with partitions renews its leases a period after the last renewal began, however slow its reply", async () => {
  const input = redis.name("lease-renewal");
  const workers = `${input}:g:workers`;
  const renewals: number[] = [];
  let recording = true;
  // The heartbeat script's first key is the live-workers set; its replies
  // are held back, as over a slow connection.
  const send = async (args: string[]) => {
    if (args[0] === "EVALSHA" && args[3] === workers && recording) {
      renewals.push(performance.now());
      const reply = await redis.client.send(args);
      await sleep(REPLY_DELAY_MS);
      return reply;
    }
    return redis.client.send(args);
  };
  const worker = redisWorker({
    send,
    input,
    output: `${input}:out`,
    group: "g",
    consumer: "c",
    partitions: 2,
    leaseMs: LEASE_MS,
    pollMs: 10,
    fn: ({ fields }) => fields,
  });
  try {
    await sleep(6 * REPLY_DELAY_MS);
  } finally {
    recording = false;
    await worker.stop();
  }
  const gaps = renewals.slice(1).map((at, i) => at - renewals[i]!);
  assert.ok(gaps.length >= 4, `${gaps.length + 1} renewals`);
  // A beat waits for the last one's reply, then for what is left of its
  // period: here the reply's delay. Counted from the reply, the gap would be
  // the delay plus a whole period, 600 ms; the margin is for late timers.
  for (const gap of gaps) {
    assert.ok(
      gap < REPLY_DELAY_MS + 130,
      `renewals ${gaps.map(Math.round).join(", ")} ms apart`,
    );
  }
});
