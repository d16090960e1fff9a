/**
 * Enriches orders with their customer's name from Redis, with one `MGET` per
 * batch of orders instead of one `GET` per order: the stream gathers up to
 * 100 orders per call (or what arrived within 5 ms), and the object form
 * (`asyncInvokeBatch`) completes each order's `ResultFuture` on its own.
 *
 * Run it against a server whose `customer:<id>` keys hold names:
 *
 * ```sh
 * redis-cli SET customer:1 Ada
 * deno run --allow-net=127.0.0.1 --allow-env examples/redis_mget.ts \
 *   redis://127.0.0.1:6379 20
 * ```
 *
 * It prints one NDJSON line per order whose customer exists; orders of an
 * unknown customer give no output (`future.complete([])`).
 *
 * @module
 */
import { createClient } from "npm:redis@6.3.1";
import {
  type AsyncBatchFunction,
  type AsyncIOStats,
  AsyncIOTransformStream,
  type ResultFuture,
} from "../mod.ts";

/** An order that refers to a customer by id. */
export interface Order {
  orderId: number;
  customerId: number;
}

/** An order with its customer's name. */
export interface EnrichedOrder extends Order {
  customer: string;
}

/** The Redis key that holds a customer's name. */
export function customerKey(customerId: number): string {
  return `customer:${customerId}`;
}

/** Looks up the customers of a batch of orders with one `MGET`. */
export class RedisMgetLookup
  implements AsyncBatchFunction<Order, EnrichedOrder> {
  readonly #client: ReturnType<typeof createClient>;

  /** @param url A `redis://` URL, such as `redis://127.0.0.1:6379`. */
  constructor(url: string) {
    this.#client = createClient({ url });
  }

  /** Connects once, before the first call. */
  async open(): Promise<void> {
    await this.#client.connect();
  }

  /** One `MGET` for the batch; position i answers order i. */
  asyncInvokeBatch(
    orders: Order[],
    futures: ResultFuture<EnrichedOrder>[],
  ): void {
    const keys = orders.map((order) => customerKey(order.customerId));
    this.#client.mGet(keys).then(
      (names) =>
        names.forEach((name, i) =>
          futures[i]!.complete(
            name === null ? [] : [{ ...orders[i]!, customer: name }],
          )
        ),
      (error) =>
        futures.forEach((future) => future.completeExceptionally(error)),
    );
  }

  /** Quits: on end of input, on error and on cancel. */
  async close(): Promise<void> {
    await this.#client.close();
  }
}

/**
 * Enriches `orders` from Redis at `url`: batches of up to 100 orders, at
 * most 4 `MGET`s in flight. Returns the outputs and the stream's stats.
 */
export async function enrichOrdersBatched(
  url: string,
  orders: Iterable<Order>,
): Promise<{ enriched: EnrichedOrder[]; stats: AsyncIOStats }> {
  const enrich = new AsyncIOTransformStream(new RedisMgetLookup(url), {
    order: "ordered",
    capacity: 400,
    concurrency: 4,
    timeout: 5_000,
    batch: { maxSize: 100, maxWait: 5 },
  });
  const enriched: EnrichedOrder[] = [];
  // A for await loop rather than Array.fromAsync, which Node 20 lacks.
  for await (const order of ReadableStream.from(orders).pipeThrough(enrich)) {
    enriched.push(order);
  }
  return { enriched, stats: enrich.stats };
}

/** `count` orders, with customer ids cycling through 1..`customers`. */
export function* sampleOrders(
  count: number,
  customers: number,
): Generator<Order> {
  for (let orderId = 1; orderId <= count; orderId++) {
    yield { orderId, customerId: ((orderId * 7) % customers) + 1 };
  }
}

if (import.meta.main) {
  const url = Deno.args[0] ?? "redis://127.0.0.1:6379";
  const count = Number(Deno.args[1] ?? 20);
  const { enriched } = await enrichOrdersBatched(
    url,
    sampleOrders(count, 10),
  );
  for (const order of enriched) console.log(JSON.stringify(order));
}
