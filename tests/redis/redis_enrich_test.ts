// examples/redis_enrich.ts against a real Redis server. Run by
// .ci/steps/50_redis.sh, which starts the server, seeds it and sets REDIS_URL.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  customerKey,
  enrichOrders,
  sampleOrders,
} from "../../examples/redis_enrich.ts";
import {
  type Admin,
  expected,
  printedByExample,
  url,
  withAdmin,
} from "./_customers.ts";

test("enrichOrders() adds each order's customer from Redis in input order and drops unknown customers", async () => {
  const orders = [...sampleOrders(500, 10)];
  const enriched = await enrichOrders(url, orders);
  assert.equal(enriched.length, 450);
  assert.deepEqual(enriched, expected(orders));
});

test("examples/redis_enrich.ts prints one NDJSON line per order of a known customer", async () => {
  assert.deepEqual(
    await printedByExample("redis_enrich.ts"),
    expected([...sampleOrders(20, 10)]),
  );
});

async function connectedClients(admin: Admin): Promise<number> {
  const info = await admin.info("clients");
  return Number(/connected_clients:(\d+)/.exec(info)?.[1]);
}

test("RedisCustomerLookup.close() quits its connection when the stream ends", async () => {
  await withAdmin(async (admin) => {
    const before = await connectedClients(admin);
    await enrichOrders(url, sampleOrders(10, 10));
    // The server notices the quit asynchronously: poll, with a generous bound.
    let after = await connectedClients(admin);
    for (let i = 0; i < 100 && after !== before; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      after = await connectedClients(admin);
    }
    assert.equal(after, before);
  });
});

test("asyncInvoke() fails the stream through completeExceptionally when GET fails", async () => {
  await withAdmin(async (admin) => {
    await admin.del(customerKey(99));
    await admin.rPush(customerKey(99), "not a string");
  });
  await assert.rejects(
    enrichOrders(url, [{ orderId: 1, customerId: 1 }, {
      orderId: 2,
      customerId: 99,
    }]),
    /WRONGTYPE/,
  );
});
