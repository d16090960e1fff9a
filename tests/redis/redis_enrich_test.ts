// examples/redis_enrich.ts against a real Redis server. Run by
// .ci/steps/50_redis.sh, which starts the server, seeds it and sets REDIS_URL.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createClient } from "npm:redis@6.3.1";
import {
  customerKey,
  enrichOrders,
  type Order,
  sampleOrders,
} from "../../examples/redis_enrich.ts";

/** What the CI step seeds: customer:1..9; customer 10 does not exist. */
const CUSTOMERS = [
  "Ada",
  "Grace",
  "Edsger",
  "Barbara",
  "Donald",
  "Frances",
  "John",
  "Katherine",
  "Alan",
];

function redisUrl(): string {
  const url = Deno.env.get("REDIS_URL");
  if (url === undefined) {
    throw new Error("Set REDIS_URL; .ci/steps/50_redis.sh starts a server");
  }
  return url;
}
const url = redisUrl();

function expected(orders: Order[]) {
  return orders.filter((order) => order.customerId <= CUSTOMERS.length).map(
    (order) => ({ ...order, customer: CUSTOMERS[order.customerId - 1] }),
  );
}

test("enrichOrders() adds each order's customer from Redis in input order and drops unknown customers", async () => {
  const orders = [...sampleOrders(500, 10)];
  const enriched = await enrichOrders(url, orders);
  assert.equal(enriched.length, 450);
  assert.deepEqual(enriched, expected(orders));
});

test("examples/redis_enrich.ts prints one NDJSON line per order of a known customer", async () => {
  const example = new URL("../../examples/redis_enrich.ts", import.meta.url);
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-env",
      example.href,
      url,
      "20",
    ],
    stdout: "piped",
    stderr: "piped",
    // A client that is never closed keeps the example alive: fail, not hang.
    signal: AbortSignal.timeout(60_000),
  }).output();
  const decoder = new TextDecoder();
  assert.equal(code, 0, decoder.decode(stderr));
  const lines = decoder.decode(stdout).trimEnd().split("\n");
  assert.deepEqual(
    lines.map((line) => JSON.parse(line)),
    expected([...sampleOrders(20, 10)]),
  );
});

const adminClient = () => createClient({ url });
type Admin = ReturnType<typeof adminClient>;

async function withAdmin<T>(use: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = adminClient();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.close();
  }
}

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
