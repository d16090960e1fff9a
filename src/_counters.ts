// The counters behind `stream.stats`, shared by the engine, the dispatcher,
// the batcher and every element, which update them in place.
import type { AsyncIOStats } from "./async_io_stats.ts";

/** Counters behind `stream.stats`. */
export interface Counters {
  accepted: number;
  inFlight: number;
  emitted: number;
  outputs: number;
  timedOut: number;
  failedAttempts: number;
  failed: number;
  retries: number;
  rateLimited: number;
  batches: number;
  batchedInputs: number;
}

/** Fresh counters, all zero. */
export function newCounters(): Counters {
  return {
    accepted: 0,
    inFlight: 0,
    emitted: 0,
    outputs: 0,
    timedOut: 0,
    failedAttempts: 0,
    failed: 0,
    retries: 0,
    rateLimited: 0,
    batches: 0,
    batchedInputs: 0,
  };
}

/** The public view of the counters, with the calls now allowed. */
export function statsOf(c: Counters, concurrency: number): AsyncIOStats {
  return {
    accepted: c.accepted,
    pending: c.accepted - c.emitted,
    inFlight: c.inFlight,
    emitted: c.emitted,
    outputs: c.outputs,
    timedOut: c.timedOut,
    failedAttempts: c.failedAttempts,
    failed: c.failed,
    retries: c.retries,
    rateLimited: c.rateLimited,
    batches: c.batches,
    batchedInputs: c.batchedInputs,
    concurrency,
  };
}
