// One call of the async function, as the engine holds it. User code never
// sees this object: it gets the plain `CallContext` or `ResultFuture` that
// `context()` and `future()` make, whose own properties are all public.
import type { DeadlineNode } from "./_deadline_queue.ts";
import { followResult } from "./_user_code.ts";
import type { CallContext, ResultFuture } from "./call_context.ts";

/** How an attempt settled. */
export const ONE = 0; // the function form's single output
export const MANY = 1; // an iterable from ResultFuture.complete
export const ERROR = 2;
export type Outcome = typeof ONE | typeof MANY | typeof ERROR;

/** What decides an attempt's outcome: its element. */
export interface AttemptOwner<I, O> {
  settle(attempt: Attempt<I, O>, outcome: Outcome, payload: unknown): void;
  attemptExpired(attempt: Attempt<I, O>): void;
}

/** A call shared by several attempts: a batch. */
export interface SharedCall {
  /** One attempt no longer waits for the call (settled, or stopped). */
  left(reason: unknown, settled: boolean): void;
  /** After a settled attempt's verdict: aborts the call if none waits for it. */
  unneeded(): void;
}

/**
 * Where attempts get their signals. With no attempt timeout and no retry, a
 * call's signal aborts only when the whole stream stops, or when its total
 * timeout runs out, which it does together with every call whose deadline
 * was stamped with its own. Then up to SHARED_SIGNAL_USES calls of one
 * deadline batch share one controller (an AbortController costs
 * microseconds on some runtimes). Listeners that calls leave on it are
 * released with it, so they stay bounded.
 */
export class SignalSource {
  readonly #shared: boolean;
  /** With a timeout: its deadline batches, whose calls all time out together. */
  readonly #deadlines: { readonly generation: number } | undefined;
  #controller: AbortController | undefined = undefined;
  #uses = 0;
  #batchOfController = 0;
  /**
   * When shared, the signal of the controller that `next()` returned last:
   * reading it from the controller costs a brand check per call on some
   * runtimes.
   */
  signal: AbortSignal | undefined = undefined;
  /** When shared, the first attempt's context for that signal, frozen. */
  context: CallContext | undefined = undefined;

  constructor(
    shared: boolean,
    deadlines?: { readonly generation: number },
  ) {
    this.#shared = shared;
    this.#deadlines = deadlines;
  }

  next(): AbortController {
    if (!this.#shared) return new AbortController();
    const batch = this.#deadlines?.generation ?? 0;
    if (
      this.#controller === undefined || ++this.#uses > SHARED_SIGNAL_USES ||
      batch !== this.#batchOfController
    ) {
      this.#controller = new AbortController();
      this.signal = this.#controller.signal;
      this.context = Object.freeze({ signal: this.signal, attempt: 1 });
      this.#uses = 1;
      this.#batchOfController = batch;
    }
    return this.#controller;
  }
}

const SHARED_SIGNAL_USES = 64;

/**
 * One call of the async function. Internal: user code sees only the plain
 * objects that `context()` and `future()` make, never this one.
 */
export class Attempt<I, O> implements DeadlineNode<Attempt<I, O>> {
  readonly #element: AttemptOwner<I, O>;
  readonly number: number;
  readonly #controller: AbortController;
  /** The batch call this attempt is one input of, if any. */
  readonly call: SharedCall | undefined;
  #left = false;
  /** For an adaptive limit: when it started, and the calls then in flight. */
  startedAt = 0;
  inFlightAtStart = 0;
  deadline = 0;
  prevDue: Attempt<I, O> | undefined = undefined;
  nextDue: Attempt<I, O> | undefined = undefined;

  constructor(
    element: AttemptOwner<I, O>,
    number: number,
    controller: AbortController,
    call?: SharedCall,
  ) {
    this.#element = element;
    this.number = number;
    this.#controller = controller;
    this.call = call;
  }

  /** The function form's context: own data properties only, so it spreads. */
  context(): CallContext {
    return Object.freeze({
      signal: this.#controller.signal,
      attempt: this.number,
    });
  }

  /** The object form's `ResultFuture`, with detachable methods. */
  future(): ResultFuture<O> {
    const element = this.#element;
    return {
      signal: this.#controller.signal,
      attempt: this.number,
      complete: (results) => element.settle(this, MANY, results),
      completeExceptionally: (error) => element.settle(this, ERROR, error),
    };
  }

  /**
   * Idempotent; a shared controller aborts only when the stream stops, and
   * a batch call's only once none of its inputs waits for it.
   */
  abort(reason: unknown): void {
    if (this.call !== undefined) this.leaveCall(reason, false);
    else this.#controller.abort(reason);
  }

  /** This input no longer waits for its batch call; at most once. */
  leaveCall(reason: unknown, settled: boolean): void {
    if (this.#left) return;
    this.#left = true;
    this.call!.left(reason, settled);
  }

  /** A batch call's output for this input. */
  resolve(output: O): void {
    this.#element.settle(this, ONE, output);
  }

  /** A batch call's failure, for this input. */
  reject(error: unknown): void {
    this.#element.settle(this, ERROR, error);
  }

  expire(): void {
    this.#element.attemptExpired(this);
  }

  /** Wires what the user's function returned to this attempt. */
  follow(returned: unknown, single: boolean): void {
    followResult(returned, this, single);
  }
}
