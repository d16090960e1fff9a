// Decisions about one attempt that need none of the element's private state.
// The element calls them, then decides the race itself: the retry verdict
// runs user code (the predicates), which may stop the stream meanwhile.
import { ERROR, ONE, type Outcome } from "./_attempt.ts";
import type { RetryPolicy } from "./_config.ts";
import { isTimeout } from "./_user_code.ts";
import {
  DROPPED,
  type SampleOutcome,
  SUCCEEDED,
  TIMED_OUT,
} from "./_windowed_limit.ts";

/**
 * Whether the attempt numbered `attempts`, which ended with `outcome`, is
 * retried. The predicates are user code: they may throw, or stop the stream.
 */
export function shouldRetry<I, O>(
  retry: RetryPolicy<I, O> | undefined,
  attempts: number,
  outcome: Outcome,
  payload: unknown,
  input: I,
): boolean {
  if (retry === undefined || attempts >= retry.maxAttempts) return false;
  // The predicates are called with no `this`: not our copy of the policy.
  const { retryOnError, retryOnResult } = retry;
  if (outcome === ERROR) return retryOnError(payload, input);
  if (retryOnResult === undefined) return false;
  // A copy: the predicate is user code, and the element keeps its own array.
  const results = outcome === ONE ? [payload as O] : (payload as O[]).slice();
  return retryOnResult(results, input);
}

/**
 * What an ended attempt tells the adaptive limit, or undefined for nothing.
 * Timeouts and retryable errors are drops; other errors say nothing about
 * the backend's load.
 */
export function sampleOutcome(
  outcome: Outcome,
  payload: unknown,
  retried: boolean,
): SampleOutcome | undefined {
  if (outcome !== ERROR) return SUCCEEDED;
  if (isTimeout(payload)) return TIMED_OUT;
  return retried ? DROPPED : undefined;
}

/** The error that a total or an attempt timeout aborts with. */
export function timeoutError(
  what: "element" | "attempt",
  ms: number,
): DOMException {
  return new DOMException(
    `The ${what} timed out after ${ms} ms`,
    "TimeoutError",
  );
}
