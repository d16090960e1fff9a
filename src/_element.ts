// The lifecycle of one accepted input, as one explicit state machine. Every
// race (a late result against a timeout, a retry against a cancel, a second
// completion) is decided here, by checking the state and the current attempt.
import type { DeadlineNode, DeadlineQueue } from "./_deadline_queue.ts";
import type { Config } from "./_options.ts";
import { retryDelay } from "./_backoff.ts";
import { describe } from "./_describe.ts";
import type { ResultFuture } from "./types.ts";
import type { Watermark } from "./watermark.ts";

/** Accepted; waiting for its key, the rate limit or a restore to start. */
export const QUEUED = 0;
/** An attempt is in flight. */
export const RUNNING = 1;
/** Waiting for the delay before a retry (or, after it, for the rate limit). */
export const BACKOFF = 2;
/** The total timeout ran out and the timeout handler may still complete it. */
export const TIMING_OUT = 3;
/** Completed; its outputs wait for their turn to be emitted. */
export const DONE = 4;
/** Completed exceptionally; the stream fails with its error. */
export const FAILED = 5;
/** The stream ended (error or cancel) before this element completed. */
export const ABORTED = 6;
export type ElementState = 0 | 1 | 2 | 3 | 4 | 5 | 6;

/** How an attempt settled. */
const ONE = 0; // the function form's single output
const MANY = 1; // an iterable from ResultFuture.complete
const ERROR = 2;
type Outcome = typeof ONE | typeof MANY | typeof ERROR;

/** Counters behind `stream.stats`. */
export interface Counters {
  accepted: number;
  inFlight: number;
  emitted: number;
  outputs: number;
  timedOut: number;
  failed: number;
  retries: number;
  rateLimited: number;
}

/** Fresh counters, all zero. */
export function newCounters(): Counters {
  return {
    accepted: 0,
    inFlight: 0,
    emitted: 0,
    outputs: 0,
    timedOut: 0,
    failed: 0,
    retries: 0,
    rateLimited: 0,
  };
}

/** What an element needs from the operator that owns it. */
export interface ElementHost<I, O> {
  readonly config: Config<I, O>;
  readonly deadlines: DeadlineQueue<Element<I, O>> | undefined;
  readonly attemptDeadlines: DeadlineQueue<Attempt<I, O>> | undefined;
  readonly counters: Counters;
  /** The element may start its next attempt once the rate limit allows. */
  requestStart(element: Element<I, O>): void;
  /** An attempt stopped running, so another call may start. */
  callEnded(): void;
  /** The element reached DONE. */
  completed(element: Element<I, O>): void;
  /** The element reached FAILED; the stream must fail with `error`. */
  failed(error: unknown): void;
}

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  value instanceof Promise ||
  (value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function");

export class Element<I, O> implements DeadlineNode<Element<I, O>> {
  readonly host: ElementHost<I, O>;
  readonly input: I;
  /** Set for a watermark, which is DONE from the start and has no input. */
  readonly marker: Watermark | undefined;
  state: ElementState;
  attempts = 0;
  current: Attempt<I, O> | undefined = undefined;
  /** A single output, or an array of them when `many` is set. */
  outputs: unknown = undefined;
  many = false;
  #backoffTimer: ReturnType<typeof setTimeout> | undefined = undefined;

  // Intrusive links, so the queues allocate nothing per element.
  prev: Element<I, O> | undefined = undefined;
  next: Element<I, O> | undefined = undefined;
  deadline = 0;
  prevDue: Element<I, O> | undefined = undefined;
  nextDue: Element<I, O> | undefined = undefined;
  /** The unordered queue's segment (an opaque slot it owns). */
  segment: unknown = undefined;
  nextReady: Element<I, O> | undefined = undefined;
  /** Key-ordered mode: this input's key and the next input with that key. */
  key: unknown = undefined;
  nextSameKey: Element<I, O> | undefined = undefined;

  constructor(host: ElementHost<I, O>, input: I, marker?: Watermark) {
    this.host = host;
    this.input = input;
    this.marker = marker;
    this.state = marker === undefined ? QUEUED : DONE;
  }

  /** Re-read after user code ran, which may have ended the stream. */
  get #aborted(): boolean {
    return this.state === ABORTED;
  }

  get startable(): boolean {
    return (this.state === QUEUED || this.state === BACKOFF) &&
      this.#backoffTimer === undefined;
  }

  /** QUEUED or BACKOFF → RUNNING: starts the next attempt. */
  start(): void {
    const host = this.host;
    const attempt = new Attempt<I, O>(this, ++this.attempts);
    this.current = attempt;
    this.state = RUNNING;
    host.counters.inFlight++;
    if (this.attempts === 1) host.deadlines?.add(this);
    else host.counters.retries++;
    host.attemptDeadlines?.add(attempt);
    host.config.invoke(this.input, attempt);
  }

  /**
   * The single place where an attempt's outcome is decided. User code runs
   * in here (an iterable's iterator, the retry predicates) and may end the
   * stream; the state is checked after each, so an aborted element stays so.
   */
  settle(attempt: Attempt<I, O>, outcome: Outcome, payload: unknown): void {
    // A late, duplicate or stale completion: the first one won already.
    if (attempt !== this.current) return;
    this.current = undefined;
    const host = this.host;
    const timingOut = this.state === TIMING_OUT; // its call ended in expire()
    if (!timingOut) {
      host.counters.inFlight--;
      host.attemptDeadlines?.remove(attempt);
    }
    if (outcome === MANY) {
      const outputs = toOutputs(payload);
      if (outputs === undefined) {
        outcome = ERROR;
        payload = new TypeError(
          `Cannot complete the element as results must be iterable: current value is ${
            describe(payload)
          }`,
        );
      } else {
        payload = outputs;
      }
    }
    if (this.#aborted) return;
    if (timingOut) {
      // The timeout handler's verdict is final: no retry after the budget.
      if (outcome === ERROR) this.#fail(payload);
      else this.#finish(outcome, payload);
      return;
    }
    if (outcome === ERROR) host.counters.failed++;
    let retry: boolean;
    try {
      retry = this.#shouldRetry(outcome, payload);
    } catch (error) {
      // A throwing retry predicate fails the element with its error.
      [retry, outcome, payload] = [false, ERROR, error];
    }
    if (this.#aborted) return;
    if (retry) this.#backoff();
    else if (outcome === ERROR) this.#fail(payload);
    else this.#finish(outcome, payload);
    host.callEnded(); // only now, so a waiting input starts after the verdict
  }

  /** The total timeout ran out (called by the deadline queue). */
  expire(): void {
    const host = this.host;
    const wasRunning = this.state === RUNNING;
    if (!wasRunning && this.state !== BACKOFF) return;
    const timeoutError = new DOMException(
      `The element timed out after ${host.config.timeout} ms`,
      "TimeoutError",
    );
    // Decided before any user code runs (abort listeners, the handler), so a
    // stream that ends meanwhile finds this element no longer holding a call.
    this.state = TIMING_OUT;
    host.counters.timedOut++;
    if (wasRunning) {
      const attempt = this.current!;
      this.current = undefined;
      host.counters.inFlight--;
      host.attemptDeadlines?.remove(attempt);
      attempt.abort(timeoutError);
      if (this.#aborted) return; // an abort listener ended the stream
    } else {
      this.#clearBackoff();
    }
    const handler = host.config.timeoutHandler;
    if (handler === undefined) return this.#fail(timeoutError);
    const future = new Attempt<I, O>(this, this.attempts, timeoutError);
    this.current = future;
    let returned: unknown;
    try {
      returned = handler(this.input, future);
    } catch (error) {
      return this.settle(future, ERROR, error);
    }
    // Left incomplete by the handler: the stream fails with the timeout.
    if (isThenable(returned)) {
      returned.then(
        () => this.settle(future, ERROR, timeoutError),
        (error) => this.settle(future, ERROR, error),
      );
    } else {
      this.settle(future, ERROR, timeoutError);
    }
    host.callEnded();
  }

  /** An attempt's own time budget ran out: a failed, retryable attempt. */
  attemptExpired(attempt: Attempt<I, O>): void {
    if (attempt !== this.current || this.state !== RUNNING) return;
    const error = new DOMException(
      `The attempt timed out after ${this.host.config.attemptTimeout} ms`,
      "TimeoutError",
    );
    attempt.abort(error);
    this.settle(attempt, ERROR, error);
  }

  /** The stream ended: stop whatever is running, keep the input for snapshots. */
  abort(reason: unknown): void {
    // Only a call that is still current holds a slot: settle() and expire()
    // release theirs before they run user code that might end the stream.
    if (this.state === RUNNING && this.current !== undefined) {
      this.host.counters.inFlight--;
    }
    if (this.state === BACKOFF) this.#clearBackoff();
    this.current?.abort(reason);
    this.current = undefined;
    if (this.state < DONE) this.state = ABORTED;
  }

  #shouldRetry(outcome: Outcome, payload: unknown): boolean {
    const retry = this.host.config.retry;
    if (retry === undefined || this.attempts >= retry.maxAttempts) return false;
    if (outcome === ERROR) return retry.retryOnError(payload, this.input);
    if (retry.retryOnResult === undefined) return false;
    const results = outcome === ONE ? [payload as O] : payload as O[];
    return retry.retryOnResult(results, this.input);
  }

  #backoff(): void {
    this.state = BACKOFF;
    const delay = retryDelay(this.host.config.retry!, this.attempts);
    this.#backoffTimer = setTimeout(() => {
      this.#backoffTimer = undefined;
      if (this.state === BACKOFF) this.host.requestStart(this);
    }, delay);
  }

  #clearBackoff(): void {
    clearTimeout(this.#backoffTimer);
    this.#backoffTimer = undefined;
  }

  #finish(outcome: Outcome, payload: unknown): void {
    this.state = DONE;
    this.outputs = payload;
    this.many = outcome === MANY;
    this.host.deadlines?.remove(this);
    this.host.completed(this);
  }

  #fail(error: unknown): void {
    this.state = FAILED;
    this.host.deadlines?.remove(this);
    this.host.failed(error);
  }
}

/**
 * One call of the async function: its `ResultFuture` in the object form and
 * its context in the function form. The signal is created on first access.
 */
export class Attempt<I, O>
  implements ResultFuture<O>, DeadlineNode<Attempt<I, O>> {
  readonly attempt: number;
  readonly #element: Element<I, O>;
  #controller: AbortController | undefined = undefined;
  #aborted: boolean;
  #reason: unknown;
  deadline = 0;
  prevDue: Attempt<I, O> | undefined = undefined;
  nextDue: Attempt<I, O> | undefined = undefined;

  constructor(element: Element<I, O>, attempt: number, abortedWith?: unknown) {
    this.#element = element;
    this.attempt = attempt;
    this.#aborted = abortedWith !== undefined;
    this.#reason = abortedWith;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  // Bound on first access, so `promise.then(result.complete)` works too;
  // the function form never reads them and pays nothing.
  #complete: ((results: Iterable<O>) => void) | undefined = undefined;
  #completeExceptionally: ((error: unknown) => void) | undefined = undefined;

  get complete(): (results: Iterable<O>) => void {
    return this.#complete ??= (results) =>
      this.#element.settle(this, MANY, results);
  }

  get completeExceptionally(): (error: unknown) => void {
    return this.#completeExceptionally ??= (error) =>
      this.#element.settle(this, ERROR, error);
  }

  /** Settles with the function form's single output. */
  resolve(output: O): void {
    this.#element.settle(this, ONE, output);
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }

  expire(): void {
    this.#element.attemptExpired(this);
  }

  /** Wires what the user's function returned to this attempt. */
  settleWith(returned: unknown, single: boolean): void {
    if (isThenable(returned)) {
      returned.then(
        single ? (output) => this.resolve(output as O) : undefined,
        (error) => this.completeExceptionally(error),
      );
    } else if (single) {
      this.resolve(returned as O);
    }
  }
}

function toOutputs(results: unknown): unknown[] | undefined {
  if (Array.isArray(results)) return results;
  if (
    results === null || results === undefined ||
    typeof (results as { [Symbol.iterator]?: unknown })[Symbol.iterator] !==
      "function"
  ) return undefined;
  return Array.from(results as Iterable<unknown>);
}
