// examples/redis_mget.ts against a real Redis server. Run by
// .ci/steps/50_redis.sh, which starts the server and sets REDIS_URL; this
// file seeds the customers it needs itself.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  customerKey,
  enrichOrdersBatched,
  sampleOrders,
} from "../../examples/redis_mget.ts";
import {
  type Admin,
  CUSTOMERS,
  expected,
  printedByExample,
  url,
  withAdmin,
} from "./_customers.ts";

await withAdmin(async (admin) => {
  for (const [i, name] of CUSTOMERS.entries()) {
    await admin.set(customerKey(i + 1), name);
  }
  await admin.del(customerKey(10));
});

/** How many times the server ran `command` so far. */
async function commandCalls(admin: Admin, command: string): Promise<number> {
  const info = await admin.info("commandstats");
  return Number(
    new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0,
  );
}

test("enrichOrdersBatched() adds each order's customer with one MGET per batch, in input order", async () => {
  await withAdmin(async (admin) => {
    const mgetsBefore = await commandCalls(admin, "mget");
    const getsBefore = await commandCalls(admin, "get");
    const orders = [...sampleOrders(1_000, 10)];
    const { enriched, stats } = await enrichOrdersBatched(url, orders);
    assert.equal(enriched.length, 900);
    assert.deepEqual(enriched, expected(orders));
    assert.ok(stats.batches >= 10, `${stats.batches} batches of at most 100`);
    assert.ok(stats.batches < 1_000 / 5, `${stats.batches} batches: too small`);
    assert.equal(stats.batchedInputs, 1_000);
    assert.equal(
      await commandCalls(admin, "mget") - mgetsBefore,
      stats.batches,
    );
    assert.equal(await commandCalls(admin, "get"), getsBefore, "no GET");
  });
});

test("examples/redis_mget.ts prints one NDJSON line per order of a known customer", async () => {
  assert.deepEqual(
    await printedByExample("redis_mget.ts"),
    expected([...sampleOrders(20, 10)]),
  );
});

test("asyncInvokeBatch() fails the stream through completeExceptionally when MGET fails", async () => {
  // A user that may run everything but MGET: the server answers NOPERM.
  await withAdmin((admin) =>
    admin.sendCommand([
      "ACL",
      "SETUSER",
      "no-mget",
      "on",
      ">no-mget-password",
      "~*",
      "+@all",
      "-mget",
    ])
  );
  try {
    const noMget = new URL(url);
    noMget.username = "no-mget";
    noMget.password = "no-mget-password";
    await assert.rejects(
      enrichOrdersBatched(noMget.href, sampleOrders(3, 10)),
      /NOPERM/,
    );
  } finally {
    await withAdmin((admin) =>
      admin.sendCommand(["ACL", "DELUSER", "no-mget"])
    );
  }
});
