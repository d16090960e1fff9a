// The enrichment step: a `fetch` per event through AsyncIOTransformStream,
// with retries on server errors and a fallback when an event runs out of time.
import {
  type AsyncIOState,
  AsyncIOTransformStream,
  type CallContext,
  type CheckpointBarrier,
  type OutputOrder,
  type ResultFuture,
  vegas,
} from "../mod.ts";
import type { DemoEvent, EnrichedEvent, User } from "./events.ts";
import { ServiceHealth } from "./reachability.ts";

/** How the enrichment stream calls the service. */
export interface EnrichOptions {
  /** The service's base URL: GET `${url}/users/:id` answers a user as JSON. */
  url: string;
  order: OutputOrder;
  capacity: number;
  /**
   * The most calls in flight (at most `capacity`); "auto" for an adaptive
   * limit, vegas(), which suits a service whose latency is steady until it
   * queues. Undefined: capacity.
   */
  concurrency?: number | "auto" | undefined;
  /** The budget of one event over all its attempts, in milliseconds. */
  timeout: number;
  /** Events per request through the batch endpoint; absent: one each. */
  batch?: number | undefined;
  restore?: AsyncIOState<DemoEvent>;
  onCheckpoint?: (
    state: AsyncIOState<DemoEvent>,
    barrier: CheckpointBarrier,
  ) => void;
}

/** A response that is not 2xx. 5xx is retried; anything else fails the run. */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(readonly status: number, url: string) {
    super(`GET ${url} answered HTTP ${status}`);
  }
}

function retryable(error: unknown): boolean {
  if (error instanceof HttpError) return error.status >= 500;
  return error instanceof TypeError; // fetch's network errors
}

/**
 * Looks up the event's user with `fetch`, aborting with the element's signal.
 * Network errors stay retryable until `health` says the service is gone.
 */
export function lookupUser(url: string, health = new ServiceHealth(url)) {
  return async (
    event: DemoEvent,
    { signal }: CallContext,
  ): Promise<EnrichedEvent> => {
    const target = `${url}/users/${event.userId}`;
    let response: Response;
    try {
      response = await fetch(target, { signal });
    } catch (error) {
      throw error instanceof TypeError ? health.networkError(error) : error;
    }
    health.answered();
    if (!response.ok) {
      await response.body?.cancel();
      throw new HttpError(response.status, target);
    }
    const user = await response.json() as User;
    return { ...event, user };
  };
}

/**
 * Looks up a batch of events' users with one request to the batch endpoint,
 * GET `${url}/users?ids=1,2,3`, which answers the users in the order asked.
 */
export function lookupUsers(url: string, health = new ServiceHealth(url)) {
  return async (
    events: DemoEvent[],
    { signal }: CallContext,
  ): Promise<EnrichedEvent[]> => {
    const ids = events.map((event) => event.userId).join(",");
    const target = `${url}/users?ids=${ids}`;
    let response: Response;
    try {
      response = await fetch(target, { signal });
    } catch (error) {
      throw error instanceof TypeError ? health.networkError(error) : error;
    }
    health.answered();
    if (!response.ok) {
      await response.body?.cancel();
      throw new HttpError(response.status, target);
    }
    const users = await response.json() as User[];
    return events.map((event, i) => ({ ...event, user: users[i]! }));
  };
}

/** The async I/O step of the pipeline. */
export function enrichStream(
  options: EnrichOptions,
): AsyncIOTransformStream<DemoEvent, EnrichedEvent, CheckpointBarrier> {
  const common = streamOptions(options);
  if (options.batch !== undefined) {
    return new AsyncIOTransformStream(lookupUsers(options.url), {
      ...common,
      batch: { maxSize: options.batch, maxWait: 5 },
    });
  }
  return new AsyncIOTransformStream(lookupUser(options.url), common);
}

function streamOptions(options: EnrichOptions) {
  return {
    order: options.order,
    key: (event: DemoEvent) => event.userId,
    capacity: options.capacity,
    ...(options.concurrency === undefined ? {} : {
      concurrency: options.concurrency === "auto"
        ? vegas()
        : options.concurrency,
    }),
    timeout: options.timeout,
    retry: {
      maxAttempts: 100, // the timeout is what really bounds the retries
      delay: 5,
      multiplier: 2,
      maxDelay: 100,
      jitter: 0.5,
      retryOnError: retryable,
    },
    onTimeout: (event: DemoEvent, result: ResultFuture<EnrichedEvent>) =>
      result.complete([{ ...event, user: null, error: "timeout" }]),
    ...(options.restore === undefined ? {} : { restore: options.restore }),
    ...(options.onCheckpoint === undefined
      ? {}
      : { onCheckpoint: options.onCheckpoint }),
  };
}
