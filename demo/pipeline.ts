// The enrichment step: a `fetch` per event through AsyncIOTransformStream,
// with retries on server errors, a fallback when an event runs out of time,
// and an error policy for an event whose lookup failed for good.
import {
  type AsyncBatchFunction,
  type AsyncIOState,
  type AsyncIOStats,
  AsyncIOTransformStream,
  type CallContext,
  CheckpointBarrier,
  type ErrorHandler,
  type OutputOrder,
  type ResultFuture,
  type Settled,
  vegas,
} from "../mod.ts";
import type { DemoEvent, EnrichedEvent, User } from "./events.ts";
import type { OnErrorMode } from "./flags.ts";
import { ServiceHealth, ServiceUnreachableError } from "./reachability.ts";

/** How the enrichment stream calls the service. */
export interface EnrichOptions {
  /** The service's base URL: GET `${url}/users/:id` answers a user as JSON. */
  url: string;
  /**
   * Whether the service is a --url, not the demo's own. Then a call that times
   * out after the service has been silent for OUTAGE_MS ends the run, as a
   * network error then does: a service that accepts connections and never
   * answers would otherwise time every event out, one by one.
   */
  external?: boolean;
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
  /** An event whose lookup failed for good; default "fail". */
  onError?: OnErrorMode;
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

/** The service does not know the user: permanent, so never retried. */
export class UserNotFound extends Error {
  override name = "UserNotFound";
  constructor(readonly userId: number, answer: string) {
    super(`user ${userId} not found: ${answer}`);
  }
}

function retryable(error: unknown): boolean {
  if (error instanceof HttpError) return error.status >= 500;
  return error instanceof TypeError; // fetch's network errors
}

/**
 * GETs `target` and answers its JSON body. A status that is not 2xx fails
 * with HttpError; network errors stay retryable until `health` says the
 * service is gone.
 */
async function getJson(
  target: string,
  signal: AbortSignal,
  health: ServiceHealth,
): Promise<unknown> {
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
  return await response.json();
}

/** Looks up the event's user, aborting with the element's signal. */
export function lookupUser(url: string, health = new ServiceHealth(url)) {
  return async (
    event: DemoEvent,
    { signal }: CallContext,
  ): Promise<EnrichedEvent> => {
    const target = `${url}/users/${event.userId}`;
    const user = await getJson(target, signal, health).catch((error) => {
      // Permanent: the service does not know the user.
      throw error instanceof HttpError && error.status === 404
        ? new UserNotFound(event.userId, error.message)
        : error;
    }) as User;
    return { ...event, user };
  };
}

/**
 * Looks up a batch of events' users with one request to the batch endpoint,
 * GET `${url}/users?ids=1,2,3`, which answers the users in the order asked,
 * null for a user it does not know. Each event completes on its own future,
 * so an unknown user fails its own event and not its neighbours.
 */
export function lookupUsers(
  url: string,
  health = new ServiceHealth(url),
): AsyncBatchFunction<DemoEvent, EnrichedEvent> {
  return {
    async asyncInvokeBatch(events, futures) {
      const ids = events.map((event) => event.userId).join(",");
      const target = `${url}/users?ids=${ids}`;
      // The futures share the batch call's signal.
      const signal = futures[0]!.signal;
      const users = await getJson(target, signal, health) as (User | null)[];
      if (!Array.isArray(users) || users.length !== events.length) {
        throw new TypeError(
          `GET ${target} must answer an array of ${events.length} users`,
        );
      }
      events.forEach((event, i) => {
        const user = users[i];
        if (user === null || user === undefined) {
          futures[i]!.completeExceptionally(
            new UserNotFound(event.userId, `GET ${target} answered null`),
          );
        } else {
          futures[i]!.complete([{ ...event, user }]);
        }
      });
    },
  };
}

/** The enrichment step as the pipeline sees it: two sides and counters. */
export interface Enrichment {
  readonly writable: WritableStream<DemoEvent | CheckpointBarrier>;
  readonly readable: ReadableStream<EnrichedEvent | CheckpointBarrier>;
  readonly stats: AsyncIOStats;
  /** What it does with an event whose lookup failed for good. */
  readonly onError: OnErrorMode;
}

/** The text of a failure, for the output line's "error" field. */
function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The async I/O step of the pipeline. Under `onError: "settle"` its settled
 * records become output lines again: a failed event with `"user": null` and
 * the error; under "skip" a handler drops the event.
 */
export function enrichStream(options: EnrichOptions): Enrichment {
  switch (options.onError ?? "fail") {
    case "fail":
      return withPolicy(asyncIO<"fail">(options, {}), "fail");
    case "skip":
      return withPolicy(
        asyncIO<"fail">(options, {
          // A lost service is not a failed lookup: it ends the run.
          onError: (error) => {
            if (error instanceof ServiceUnreachableError) throw error;
          },
        }),
        "skip",
      );
    case "settle":
      return unsettled(asyncIO<"settle">(options, { onError: "settle" }));
  }
}

function withPolicy(
  stream: AsyncIOTransformStream<DemoEvent, EnrichedEvent, CheckpointBarrier>,
  onError: OnErrorMode,
): Enrichment {
  return {
    writable: stream.writable,
    readable: stream.readable,
    get stats() {
      return stream.stats;
    },
    onError,
  };
}

function asyncIO<E extends "fail" | "settle">(
  options: EnrichOptions,
  policy: { onError?: E | ErrorHandler<DemoEvent, EnrichedEvent> },
): AsyncIOTransformStream<DemoEvent, EnrichedEvent, CheckpointBarrier, E> {
  const health = new ServiceHealth(options.url);
  const common = { ...streamOptions(options, health), ...policy };
  if (options.batch !== undefined) {
    return new AsyncIOTransformStream<
      DemoEvent,
      EnrichedEvent,
      CheckpointBarrier,
      E
    >(lookupUsers(options.url, health), {
      ...common,
      batch: { maxSize: options.batch, maxWait: 5 },
    });
  }
  return new AsyncIOTransformStream<
    DemoEvent,
    EnrichedEvent,
    CheckpointBarrier,
    E
  >(lookupUser(options.url, health), common);
}

/** Turns settled records back into output lines; barriers pass as they are. */
function unsettled(
  stream: AsyncIOTransformStream<
    DemoEvent,
    EnrichedEvent,
    CheckpointBarrier,
    "settle"
  >,
): Enrichment {
  const lines = new TransformStream<
    Settled<DemoEvent, EnrichedEvent> | CheckpointBarrier,
    EnrichedEvent | CheckpointBarrier
  >({
    transform(chunk, controller) {
      if (chunk instanceof CheckpointBarrier) controller.enqueue(chunk);
      else if (chunk.status === "fulfilled") controller.enqueue(chunk.value);
      else if (chunk.reason instanceof ServiceUnreachableError) {
        // A lost service is not a failed lookup: it ends the run.
        controller.error(chunk.reason);
      } else {
        controller.enqueue({
          ...chunk.input,
          user: null,
          error: messageOf(chunk.reason),
        });
      }
    },
  });
  return {
    writable: stream.writable,
    readable: stream.readable.pipeThrough(lines),
    get stats() {
      return stream.stats;
    },
    onError: "settle",
  };
}

function streamOptions(options: EnrichOptions, health: ServiceHealth) {
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
    onTimeout: (event: DemoEvent, result: ResultFuture<EnrichedEvent>) => {
      const outage = options.external
        ? health.outage(`timed out after ${options.timeout} ms`)
        : undefined;
      if (outage !== undefined) result.completeExceptionally(outage);
      else result.complete([{ ...event, user: null, error: "timeout" }]);
    },
    ...(options.restore === undefined ? {} : { restore: options.restore }),
    ...(options.onCheckpoint === undefined
      ? {}
      : { onCheckpoint: options.onCheckpoint }),
  };
}
