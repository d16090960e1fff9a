// The lifecycle of one accepted input, as one explicit state machine. Every
// race (a late result against a timeout, a retry against a stop, a second
// completion, a completion from inside an abort listener) is decided here.
//
// The rule that settles them all: an attempt is detached (`#current` cleared,
// its call slot released) *before* any user code runs for it, whether that
// code is an abort listener, an iterator or a retry predicate. A completion
// that arrives afterwards finds the attempt no longer current and is ignored,
// and a stop that arrives meanwhile finds no call left to release.
import {
  Attempt,
  type AttemptOwner,
  ERROR,
  MANY,
  ONE,
  type Outcome,
} from "./_attempt.ts";
import { retryDelay } from "./_backoff.ts";
import type { DeadlineNode } from "./_deadline_queue.ts";
import type { Abortable, BatchedCall, ElementHost } from "./_element_host.ts";
import { callErrorHandler, callTimeoutHandler } from "./_handlers.ts";
import { Timer } from "./_timer.ts";
import { followResult, type ResultTarget, toArray } from "./_user_code.ts";
import { sampleOutcome, shouldRetry, timeoutError } from "./_verdicts.ts";
import { type SampleOutcome, TIMED_OUT } from "./_windowed_limit.ts";
import type { Watermark } from "./watermark.ts";

/** Accepted; waiting for its key, a call slot or the rate limit. */
const QUEUED = 0;
/** An attempt is in flight. */
const RUNNING = 1;
/** Waiting for the delay before a retry (or, after it, for a slot). */
const BACKOFF = 2;
/** The total timeout ran out and the timeout handler may still complete it. */
const TIMING_OUT = 3;
/** Completed; its outputs wait for their turn to be emitted. */
const DONE = 4;
/** Completed exceptionally; the stream fails with its error. */
const FAILED = 5;
/** The stream stopped before this element completed. */
const ABORTED = 6;
type State = 0 | 1 | 2 | 3 | 4 | 5 | 6;

export class Element<I, O>
  implements DeadlineNode<Element<I, O>>, AttemptOwner<I, O>, ResultTarget<O> {
  readonly #host: ElementHost<I, O>;
  /** For a watermark, its timestamp, read once when it was accepted. */
  readonly input: I;
  /** Set for a watermark, which is DONE from the start and has no input. */
  readonly marker: Watermark | undefined;
  #state: State;
  #attempts = 0;
  #current: Attempt<I, O> | undefined = undefined;
  /** Detached by a due timeout, its signal not aborted yet: a stop aborts it. */
  #expiring: Abortable | undefined = undefined;
  /** A single output, or an array of them when `#many` is set. */
  #outputs: unknown = undefined;
  #many = false;
  /** Its outputs come from the error policy, not from its calls. */
  #recovered = false;
  #backoffTimer: Timer | undefined = undefined;
  /** The plain path's running call: the controller a stop aborts. */
  #plainCall: AbortController | undefined = undefined;

  // Intrusive links owned by the queues and the dispatcher, so that they
  // allocate nothing per element.
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
  /** Its last chunk is leaving the stream: snapshots no longer hold it. */
  leaving = false;
  /** Batching: the last batch call this input joined; its retries group there. */
  lastCall: BatchedCall<I, O> | undefined = undefined;

  constructor(host: ElementHost<I, O>, input: I, marker?: Watermark) {
    this.#host = host;
    this.input = input;
    this.marker = marker;
    this.#state = marker === undefined ? QUEUED : DONE;
  }

  /** Read after user code ran, which may have stopped the stream. */
  get #aborted(): boolean {
    return this.#state === ABORTED;
  }

  get done(): boolean {
    return this.#state === DONE;
  }

  /**
   * Whether a call slot may start this element's next attempt now. A retry
   * whose total budget has run out may not: the deadline's timer, which may
   * fire a little late, times it out (a clock read per retry, none per input).
   */
  get startable(): boolean {
    if (this.#state === QUEUED) return true;
    return this.#state === BACKOFF && this.#backoffTimer?.armed !== true &&
      (this.#host.deadlines === undefined ||
        this.deadline > performance.now());
  }

  /** Whether its outputs came from the error policy. */
  get recovered(): boolean {
    return this.#recovered;
  }

  /** Hands the outputs to `emit` one by one; returns how many there were. */
  emitOutputs(emit: (output: O, from: Element<I, O>) => boolean): number {
    if (!this.#many) return this.#emitLast(emit, this.#outputs as O) ? 1 : -1;
    const outputs = this.#outputs as O[];
    const last = outputs.length - 1;
    for (let i = 0; i < last; i++) {
      if (!emit(outputs[i]!, this)) return -1;
    }
    if (last >= 0 && !this.#emitLast(emit, outputs[last]!)) return -1;
    return outputs.length;
  }

  /**
   * A sink may receive a chunk within its enqueue (Deno's pipeTo does) and
   * take a snapshot there: from the last output on, the input is out.
   */
  #emitLast(
    emit: (output: O, from: Element<I, O>) => boolean,
    output: O,
  ): boolean {
    this.leaving = true;
    if (emit(output, this)) return true;
    this.leaving = false; // it went nowhere: the stream ended
    return false;
  }

  /** Releases the outputs once they have left the stream. */
  emitted(): void {
    this.#outputs = undefined;
  }

  /** QUEUED or BACKOFF → RUNNING: starts the next attempt, running user code. */
  start(): void {
    const host = this.#host;
    if (host.plain) return this.#startPlain(host);
    const attempt = new Attempt<I, O>(
      this,
      ++this.#attempts,
      host.signals.next(),
    );
    this.#run(attempt, host.counters.inFlight + 1); // itself included
    host.attemptDeadlines?.add(attempt);
    const { mapper, asyncFunction, asyncInvoke } = host.config;
    let returned: unknown;
    try {
      returned = mapper !== undefined
        ? mapper(this.input, attempt.context())
        : asyncInvoke!.call(asyncFunction, this.input, attempt.future());
    } catch (error) {
      return this.settle(attempt, ERROR, error);
    }
    attempt.follow(returned, mapper !== undefined);
  }

  /** QUEUED → RUNNING on the plain path: the same steps, with no Attempt. */
  #startPlain(host: ElementHost<I, O>): void {
    const signals = host.signals;
    this.#plainCall = signals.next();
    this.#state = RUNNING;
    this.#attempts = 1;
    host.counters.inFlight++;
    host.deadlines?.add(this);
    let returned: unknown;
    let native: boolean;
    try {
      // Called as a plain function: `this` must not be our config.
      const mapper = host.config.mapper!;
      returned = mapper(this.input, signals.context!);
      native = returned instanceof Promise; // throws for a revoked Proxy
    } catch (error) {
      return this.#plainEnded(ERROR, error);
    }
    if (!native) return followResult(returned, this, true);
    // A native promise, the common case, is followed here: closures that
    // call this class alone keep their call sites monomorphic, where
    // followResult()'s serve every kind of target. mapAsync's engine follows
    // it through reused handlers instead.
    try {
      const slots = host.promiseSlots;
      if (slots !== undefined) {
        return slots.follow(returned as Promise<O>, this);
      }
      (returned as Promise<O>).then(
        (value: O) => this.#plainEnded(ONE, value),
        (error) => this.#plainEnded(ERROR, error),
      );
    } catch (error) {
      this.#plainEnded(ERROR, error); // its own `then` was replaced by a throwing one
    }
  }

  /** The plain call's result (a {@linkcode ResultTarget}). */
  resolve(value: O): void {
    this.#plainEnded(ONE, value);
  }

  /** The plain call's failure (a {@linkcode ResultTarget}). */
  reject(error: unknown): void {
    this.#plainEnded(ERROR, error);
  }

  /** The plain call's outcome; ignored once a stop came first. */
  #plainEnded(outcome: Outcome, payload: unknown): void {
    if (this.#state !== RUNNING) return;
    const host = this.#host;
    this.#plainCall = undefined;
    host.counters.inFlight--;
    if (outcome === ERROR) {
      host.counters.failedAttempts++;
      this.#fail(payload);
    } else {
      this.#finish(ONE, payload);
    }
    host.callEnded();
  }

  /**
   * QUEUED or BACKOFF → RUNNING as one input of a batch call, which then runs
   * the user code; the attempt shares the call's controller.
   */
  joinBatch(
    call: BatchedCall<I, O>,
    controller: AbortController,
    callsInFlight: number,
  ): Attempt<I, O> {
    const attempt = new Attempt<I, O>(this, ++this.#attempts, controller, call);
    this.lastCall = call;
    // An adaptive limit counts calls: each input samples its call.
    this.#run(attempt, callsInFlight);
    return attempt;
  }

  /**
   * QUEUED or BACKOFF → RUNNING: `attempt` holds a call slot from now on.
   * The adaptive limit samples it against `callsInFlight`.
   */
  #run(attempt: Attempt<I, O>, callsInFlight: number): void {
    const host = this.#host;
    this.#current = attempt;
    this.#state = RUNNING;
    host.counters.inFlight++;
    const limit = host.limit;
    if (limit !== undefined) {
      attempt.startedAt = limit.now();
      attempt.inFlightAtStart = callsInFlight;
    }
    if (this.#attempts === 1) host.deadlines?.add(this);
    else host.counters.retries++;
  }

  /**
   * The single place where a current attempt's outcome is decided. A late,
   * duplicate or stale completion (the first one won already, or the attempt
   * was detached by a timeout or a stop) is ignored.
   */
  settle(attempt: Attempt<I, O>, outcome: Outcome, payload: unknown): void {
    if (attempt !== this.#current) return;
    this.#current = undefined;
    const final = this.#state === TIMING_OUT; // its call ended in expire()
    if (!final) {
      this.#host.counters.inFlight--;
      this.#host.attemptDeadlines?.remove(attempt);
      if (attempt.call !== undefined) attempt.leaveCall(undefined, true);
    }
    this.#decide(attempt, outcome, payload, final);
    if (!final) attempt.call?.unneeded();
  }

  /**
   * The total timeout ran out, first phase: the element lets go of its call
   * (or its backoff) before any signal aborts, since calls whose deadlines
   * were stamped together may share a signal. Returns what `expire` needs:
   * the detached attempt, null after a backoff, false if nothing expires.
   */
  prepareExpiry(): Abortable | null | false {
    const wasRunning = this.#state === RUNNING;
    if (!wasRunning && this.#state !== BACKOFF) return false;
    this.#state = TIMING_OUT;
    this.#host.counters.timedOut++;
    const plainCall = this.#plainCall;
    if (plainCall !== undefined) {
      this.#plainCall = undefined;
      this.#host.counters.inFlight--;
      return this.#expiring = plainCall;
    }
    if (wasRunning) return this.#expiring = this.#detach();
    this.#backoffTimer?.clear(); // a batch's retry skips it when it starts
    return null;
  }

  /** The total timeout ran out (called by the deadline queue). */
  expire(prepared?: unknown): void {
    const host = this.#host;
    const detached = prepared === undefined
      ? this.prepareExpiry()
      : prepared as Abortable | null | false;
    // A co-timed-out element's verdict, or its call's abort listener, may
    // have stopped the stream, which aborted this call (still counted as
    // timed out: its deadline passed with the others').
    if (detached === false || this.#aborted) return;
    const error = timeoutError("element", host.config.timeout);
    const handler = host.config.timeoutHandler;
    if (handler === undefined) return this.#expireWithoutHandler(error);
    this.#expiring = undefined;
    if (detached !== null) {
      // The call hears of its timeout before the handler runs, which may
      // take as long as it likes.
      detached.abort(error);
      if (this.#aborted) return; // an abort listener stopped the stream
      if (host.limit !== undefined) {
        this.#sample(detached as Attempt<I, O>, TIMED_OUT);
        if (this.#aborted) return; // the limit's update threw
      }
    } else if (this.#aborted) {
      return;
    }
    host.callEnded();
    const aborted = new AbortController();
    aborted.abort(error);
    // Its verdict comes back through settle(), final as TIMING_OUT.
    const future = new Attempt<I, O>(this, this.#attempts, aborted);
    this.#current = future;
    callTimeoutHandler(handler, this.input, future, error);
  }

  /**
   * No handler: the input fails with the timeout, and as for any failure the
   * verdict comes before the call's signal aborts, so an abort listener that
   * stops the consumer cannot turn it into a clean end. A stream that the
   * verdict stops aborts the call itself (it is still `#expiring`).
   */
  #expireWithoutHandler(error: DOMException): void {
    const host = this.#host;
    const expiring = this.#expiring;
    if (expiring !== undefined && host.limit !== undefined) {
      this.#sample(expiring as Attempt<I, O>, TIMED_OUT);
    }
    if (!this.#aborted) {
      this.#fail(error);
      host.callEnded();
    }
    // Aborted here in any case (aborts are idempotent): a stop from inside
    // an error handler aborts the handler's signal, its `#current`, and
    // drops `#expiring` without aborting it.
    this.#expiring = undefined;
    expiring?.abort(error);
  }

  /** An attempt's own time budget ran out: a failed, retryable attempt. */
  attemptExpired(attempt: Attempt<I, O>): void {
    if (attempt !== this.#current || this.#state !== RUNNING) return;
    const error = timeoutError("attempt", this.#host.config.attemptTimeout);
    this.#detach();
    // The verdict before the signal, as for any failure (see above).
    this.#decide(attempt, ERROR, error, false);
    attempt.abort(error);
  }

  /**
   * The stream stopped: nothing of this element runs or fires any more, and
   * its input stays for snapshots. Returns the attempt whose signal the
   * caller must then abort, once every element is stopped.
   */
  stop(): Abortable | undefined {
    const attempt = this.#current ?? this.#expiring ?? this.#plainCall;
    this.#current = this.#expiring = this.#plainCall = undefined;
    if (this.#state === RUNNING && attempt !== undefined) {
      this.#host.counters.inFlight--;
    }
    this.#backoffTimer?.clear();
    if (this.#state < DONE) this.#state = ABORTED;
    return attempt;
  }

  /** Fails the element for a reason found outside its calls (its key threw). */
  failBeforeStart(error: unknown): void {
    this.#state = FAILED;
    this.#host.failed(this, error);
  }

  /** Releases the running attempt's call slot before its signal aborts. */
  #detach(): Attempt<I, O> {
    const attempt = this.#current!;
    this.#current = undefined;
    this.#host.counters.inFlight--;
    this.#host.attemptDeadlines?.remove(attempt);
    return attempt;
  }

  /**
   * Decides what follows an attempt that no longer holds its slot. User code
   * runs in here (an iterable's iterator, the retry predicates) and may stop
   * the stream, so the state is checked after each.
   */
  #decide(
    attempt: Attempt<I, O>,
    outcome: Outcome,
    payload: unknown,
    final: boolean,
  ): void {
    if (outcome === MANY) {
      try {
        payload = toArray(payload);
      } catch (error) {
        outcome = ERROR;
        payload = error;
      }
    }
    if (this.#aborted) return;
    if (final) {
      // The timeout handler's verdict is final: no retry after the budget.
      if (outcome === ERROR) this.#fail(payload);
      else this.#finish(outcome, payload);
      return;
    }
    const host = this.#host;
    if (outcome === ERROR) host.counters.failedAttempts++;
    let retry = false;
    try {
      retry = shouldRetry(
        host.config.retry,
        this.#attempts,
        outcome,
        payload,
        this.input,
      );
    } catch (error) {
      if (this.#aborted) return;
      // A throwing retry predicate is a bug in the stream's configuration,
      // not a failed input: it fails the stream, whatever onError says.
      this.#state = FAILED;
      return host.failed(this, error);
    }
    if (this.#aborted) return;
    if (host.limit !== undefined) {
      const sampled = sampleOutcome(outcome, payload, retry);
      if (sampled !== undefined) this.#sample(attempt, sampled);
      if (this.#aborted) return; // the limit's update threw
    }
    if (retry) this.#backoff();
    else if (outcome === ERROR) this.#fail(payload);
    else this.#finish(outcome, payload);
    host.callEnded(); // only now, so a waiting input starts after the verdict
  }

  #sample(attempt: Attempt<I, O>, outcome: SampleOutcome): void {
    this.#host.sampled(attempt.startedAt, attempt.inFlightAtStart, outcome);
  }

  #backoff(): void {
    this.#state = BACKOFF;
    const delay = retryDelay(this.#host.config.retry!, this.#attempts);
    // The inputs that a batch call retries are re-sent together.
    if (this.lastCall !== undefined) {
      return this.lastCall.retryLater(this, delay);
    }
    this.#backoffTimer ??= new Timer(() => {
      if (this.#state === BACKOFF) this.#host.requestStart(this);
    });
    this.#backoffTimer.set(delay);
  }

  #finish(outcome: Outcome, payload: unknown): void {
    this.#state = DONE;
    this.#outputs = payload;
    this.#many = outcome === MANY;
    this.#host.deadlines?.remove(this);
    this.#host.completed(this);
  }

  /** Failed for good: the error policy decides what follows. */
  #fail(error: unknown): void {
    const host = this.#host;
    this.#state = FAILED;
    host.deadlines?.remove(this);
    host.counters.failed++;
    const policy = host.config.onError;
    if (policy === "fail") return host.failed(this, error);
    if (policy === "settle") {
      return this.#recover([{
        status: "rejected",
        input: this.input,
        reason: error,
      }]);
    }
    // The handler is user code: it gets a signal that a stop aborts, and
    // its verdict counts only while it is current.
    const recovery = new Attempt<I, O>(
      this,
      this.#attempts,
      new AbortController(),
    );
    this.#current = recovery;
    callErrorHandler(
      policy,
      error,
      this.input,
      recovery.context(),
      (returned) => this.#recoveryEnded(recovery, returned),
      (thrown) => this.#recoveryFailed(recovery, thrown),
    );
  }

  #recoveryEnded(recovery: Attempt<I, O>, returned: unknown): void {
    if (recovery !== this.#current) return; // the stream stopped meanwhile
    this.#current = undefined;
    let outputs: unknown[];
    try {
      outputs = returned === undefined ? [] : toArray(returned);
    } catch (error) {
      return this.#host.failed(this, error);
    }
    this.#recover(outputs);
  }

  #recoveryFailed(recovery: Attempt<I, O>, error: unknown): void {
    if (recovery !== this.#current) return;
    this.#current = undefined;
    this.#host.failed(this, error);
  }

  /** Outputs in place of a failed input's: it counts as emitted. */
  #recover(outputs: unknown[]): void {
    this.#state = DONE;
    this.#outputs = outputs;
    this.#many = true;
    this.#recovered = true;
    this.#host.completed(this);
  }
}
