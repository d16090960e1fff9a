// The embedded lookup service: a real HTTP server on 127.0.0.1 that answers
// GET /users/:id with JSON after a configurable latency, and fails a
// configurable fraction of requests with HTTP 500. With `missingRate` it does
// not know a fixed fraction of the users, and answers HTTP 404 for them. With
// `serviceSlots` it serves that many requests at once and queues the rest.
// Its batch endpoint, GET /users?ids=1,2,3, answers a JSON array of users in
// the order asked (null for a user it does not know), for one request's
// latency.
import { isMissingUser, type User, userOf } from "./events.ts";

/** How the embedded service behaves. */
export interface LookupServiceOptions {
  /** Mean latency of a response, in milliseconds. */
  latency: number;
  /** Each latency is drawn uniformly from latency ± jitter (never below 0). */
  jitter: number;
  /** The fraction of requests answered with HTTP 500, in [0, 1). */
  failureRate: number;
  /**
   * The fraction of user ids it does not know, in [0, 1): always the same
   * ids ({@linkcode isMissingUser}), answered with HTTP 404, or null in a
   * batch. Default 0.
   */
  missingRate?: number;
  /**
   * The most requests served at once; the rest wait in a FIFO queue, so
   * latency grows with load as on a real server. Infinity: no queue.
   */
  serviceSlots?: number;
}

/** What the service has seen so far. */
export interface LookupServiceStats {
  requests: number;
  /** Requests answered with HTTP 500. */
  failures: number;
  /** User ids it did not know: HTTP 404s, and nulls in batch answers. */
  notFound: number;
  /** The most requests it was serving at the same moment. */
  peakConcurrency: number;
  /** The most requests that waited for a slot at the same moment. */
  peakQueued: number;
}

/** A running service; `close()` stops it. */
export interface LookupService {
  readonly url: string;
  readonly stats: LookupServiceStats;
  close(): Promise<void>;
}

const USER_PATH = /^\/users\/(\d+)$/;
const BATCH_IDS = /^\d+(,\d+)*$/;

// Not cut short when the client goes away: reading request.signal makes
// Deno 2 print a warning, and a response to no one costs nothing here.
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Starts the service on 127.0.0.1 and a free port. */
export function startLookupService(
  options: LookupServiceOptions,
): LookupService {
  const stats: LookupServiceStats = {
    requests: 0,
    failures: 0,
    notFound: 0,
    peakConcurrency: 0,
    peakQueued: 0,
  };
  const missingRate = options.missingRate ?? 0;
  let serving = 0;
  const slots = options.serviceSlots ?? Infinity;
  const queue: (() => void)[] = [];
  let queueHead = 0;

  /** Waits for a free slot, first come first served. */
  function slot(): Promise<void> | undefined {
    if (serving < slots) return;
    return new Promise<void>((resolve) => {
      queue.push(resolve);
      stats.peakQueued = Math.max(stats.peakQueued, queue.length - queueHead);
    });
  }

  /** Hands the freed slot to the longest waiter. */
  function release(): void {
    serving--;
    if (queueHead === queue.length) return;
    const next = queue[queueHead++]!;
    if (queueHead === queue.length) queue.length = queueHead = 0;
    serving++;
    next();
  }

  function known(id: number): User | null {
    if (!isMissingUser(id, missingRate)) return userOf(id);
    stats.notFound++;
    return null;
  }

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const match = USER_PATH.exec(url.pathname);
    const ids = url.pathname === "/users" ? url.searchParams.get("ids") : null;
    if (
      request.method !== "GET" ||
      (match === null && (ids === null || !BATCH_IDS.test(ids)))
    ) {
      return Response.json({ error: "not found" }, { status: 404 });
    }
    stats.requests++;
    const waiting = slot();
    if (waiting === undefined) serving++;
    else await waiting; // release() took the slot for this request
    stats.peakConcurrency = Math.max(stats.peakConcurrency, serving);
    try {
      const spread = (Math.random() * 2 - 1) * options.jitter;
      await sleep(Math.max(0, options.latency + spread));
      if (Math.random() < options.failureRate) {
        stats.failures++;
        return Response.json({ error: "injected failure" }, { status: 500 });
      }
      if (match === null) {
        return Response.json(ids!.split(",").map((id) => known(Number(id))));
      }
      const user = known(Number(match[1]));
      if (user === null) {
        return Response.json({ error: "no such user" }, { status: 404 });
      }
      return Response.json(user);
    } finally {
      release();
    }
  }

  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {}, // keeps stdout clean for the NDJSON output
    onError: () => new Response(null, { status: 499 }),
  }, handle);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    stats,
    close: () => server.shutdown(),
  };
}
