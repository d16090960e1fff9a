/**
 * Enriches orders with their customer's name from Redis, in the style of
 * Flink's `AsyncFunction`: `open()` connects, `asyncInvoke` starts a `GET`
 * and completes the `ResultFuture` from its callbacks, `close()` quits.
 *
 * Run it against a server whose `customer:<id>` keys hold names:
 *
 * ```sh
 * redis-cli SET customer:1 Ada
 * deno run --allow-net=127.0.0.1 --allow-env examples/redis_enrich.ts \
 *   redis://127.0.0.1:6379 20
 * ```
 *
 * It prints one NDJSON line per order whose customer exists; orders of an
 * unknown customer give no output (`result.complete([])`).
 *
 * @module
 */
import { createClient } from "npm:redis@6.3.1";
import {
  type AsyncFunction,
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

/** Looks up each order's customer with one `GET` per order. */
export class RedisCustomerLookup
  implements AsyncFunction<Order, EnrichedOrder> {
  readonly #client: ReturnType<typeof createClient>;

  /** @param url A `redis://` URL, such as `redis://127.0.0.1:6379`. */
  constructor(url: string) {
    this.#client = createClient({ url });
  }

  /** Connects once, before the first call. */
  async open(): Promise<void> {
    await this.#client.connect();
  }

  /** Starts the `GET`; its callbacks complete the element. */
  asyncInvoke(order: Order, result: ResultFuture<EnrichedOrder>): void {
    this.#client.get(customerKey(order.customerId)).then(
      (name) =>
        result.complete(name === null ? [] : [{ ...order, customer: name }]),
      (error) => result.completeExceptionally(error),
    );
  }

  /** Quits: on end of input, on error and on cancel. */
  async close(): Promise<void> {
    await this.#client.close();
  }
}

/** Enriches `orders` from Redis at `url`, 50 `GET`s in flight at most. */
export async function enrichOrders(
  url: string,
  orders: Iterable<Order>,
): Promise<EnrichedOrder[]> {
  const enrich = new AsyncIOTransformStream(new RedisCustomerLookup(url), {
    order: "ordered",
    capacity: 50,
    timeout: 5_000,
  });
  const enriched: EnrichedOrder[] = [];
  // A for await loop rather than Array.fromAsync, which Node 20 lacks.
  for await (const order of ReadableStream.from(orders).pipeThrough(enrich)) {
    enriched.push(order);
  }
  return enriched;
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
  for (const order of await enrichOrders(url, sampleOrders(count, 10))) {
    console.log(JSON.stringify(order));
  }
}
