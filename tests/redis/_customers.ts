// The examples' customers on the Redis server that .ci/steps/50_redis.sh
// starts and names in REDIS_URL, for the tests of examples/redis_*.ts.
import assert from "node:assert/strict";
import { createClient } from "npm:redis@6.3.1";

/** customer:1..9 hold these names; customer:10 does not exist. */
export const CUSTOMERS = [
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

/** The server's URL, from REDIS_URL. */
export const url = redisUrl();

const adminClient = () => createClient({ url });
export type Admin = ReturnType<typeof adminClient>;

/** Runs `use` with a connected client of its own, closed after. */
export async function withAdmin<T>(
  use: (admin: Admin) => Promise<T>,
): Promise<T> {
  const admin = adminClient();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.close();
  }
}

/** The outputs for `orders`: known customers only, with their names. */
export function expected<T extends { customerId: number }>(orders: T[]) {
  return orders.filter((order) => order.customerId <= CUSTOMERS.length).map(
    (order) => ({ ...order, customer: CUSTOMERS[order.customerId - 1] }),
  );
}

/**
 * Runs `examples/<name>` on 20 orders as a user would, checks it exits 0 and
 * returns the NDJSON lines it printed, parsed.
 */
export async function printedByExample(name: string): Promise<unknown[]> {
  const example = new URL(`../../examples/${name}`, import.meta.url);
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
  return lines.map((line) => JSON.parse(line));
}
