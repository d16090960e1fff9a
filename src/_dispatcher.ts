// Decides when each accepted input's calls start: one call per key at a time
// (key-ordered mode), at most `concurrency` calls in flight, and no more
// starts than the rate limit allows. Elements wait in one FIFO, so starts
// keep input order (retries join at the back), and a rate-limit token is
// taken only by the call that then starts.
//
// With batching, ready elements join the batcher's open batch instead, and
// the FIFO holds closed batches: each is one call for `concurrency` and the
// rate limit.
//
// Calls start from a microtask, never from the stack that asked for them: a
// user function that completes synchronously cannot re-enter the engine or
// grow the stack, however many results come back at once. The one exception
// is a written input with a free slot: writes never come from our own stack,
// so it starts its call at once, which saves a microtask per input.
//
// With an adaptive limit, `concurrency` follows it: every ended attempt is a
// sample, and a window that changes the limit changes the calls allowed.
// The rate limit caps how often calls start; the limit, how many run.
import type { Batcher } from "./_batcher.ts";
import type { Counters } from "./_counters.ts";
import type { Element } from "./_element.ts";
import { Fifo } from "./_fifo.ts";
import { RateLimiter } from "./_rate_limiter.ts";
import { Timer } from "./_timer.ts";
import { type SampleOutcome, WindowedLimit } from "./_windowed_limit.ts";
import type { ConcurrencyLimit } from "./concurrency_limit.ts";
import type { RateLimitOptions } from "./policy_options.ts";

/** What waits for a call slot: an element, or a closed batch of them. */
export interface Startable {
  /** False once nothing of it may start (it timed out while waiting). */
  readonly startable: boolean;
  /** Starts the call, running user code. */
  start(): void;
}

export class Dispatcher<I, O> {
  readonly #counters: Counters;
  #concurrency: number;
  readonly #ready = new Fifo<Startable>();
  readonly #batcher: Batcher<I, O> | undefined;
  /** The adaptive limit, until `concurrency` is set to a fixed number. */
  #limit: WindowedLimit | undefined = undefined;
  readonly #limiter: RateLimiter | undefined;
  readonly #limiterTimer: Timer | undefined;
  /** The first ready elements, which wait for a rate-limit token. */
  #throttled = 0;
  /** Key-ordered mode: each busy key's last element, which chains the rest. */
  readonly #keyTails: Map<unknown, Element<I, O>> | undefined;
  readonly #keyOf: ((input: I) => unknown) | undefined;
  #scheduled = false;
  #draining = false;
  #stopped = false;

  constructor(
    counters: Counters,
    concurrency: number,
    rateLimit: RateLimitOptions | undefined,
    keyOf: ((input: I) => unknown) | undefined,
    limit?: { limit: ConcurrencyLimit; capacity: number },
    batcher?: Batcher<I, O>,
  ) {
    this.#counters = counters;
    this.#batcher = batcher;
    this.#concurrency = concurrency;
    if (limit !== undefined) {
      this.#limit = new WindowedLimit(limit.limit, limit.capacity);
      this.#concurrency = this.#limit.limit;
    }
    if (rateLimit !== undefined) {
      this.#limiter = new RateLimiter(rateLimit.limit, rateLimit.interval);
      this.#limiterTimer = new Timer(this.#drain);
    }
    if (keyOf !== undefined) {
      this.#keyTails = new Map();
      this.#keyOf = keyOf;
    }
  }

  get concurrency(): number {
    return this.#concurrency;
  }

  /**
   * Fixes the most calls in flight, in place of any adaptive limit; running
   * calls are never aborted.
   */
  set concurrency(value: number) {
    this.#limit = undefined;
    this.#concurrency = value;
    this.#schedule();
  }

  /** The adaptive limit's window, for the attempts to time themselves. */
  get limit(): WindowedLimit | undefined {
    return this.#limit;
  }

  /**
   * One attempt ended: `startedAt` by the limit's clock, `inFlight` when it
   * started. Throws what the limit's `update` throws.
   */
  sample(startedAt: number, inFlight: number, outcome: SampleOutcome): void {
    const limit = this.#limit;
    if (limit === undefined || this.#stopped) return;
    const changed = limit.record(startedAt, inFlight, outcome);
    // The update may have fixed the concurrency (setConcurrency) meanwhile.
    if (!changed || this.#limit !== limit) return;
    this.#concurrency = limit.limit;
    this.#schedule();
  }

  /**
   * A newly accepted record: it starts once its key is free. Throws what
   * `options.key` throws. With `now`, from a stack that is not ours (a
   * write), a free slot starts its call before this returns.
   */
  admit(element: Element<I, O>, now: boolean): void {
    const keyTails = this.#keyTails;
    if (keyTails !== undefined) {
      const keyOf = this.#keyOf!; // `this.#keyOf()` would pass us as `this`
      const key = keyOf(element.input);
      element.key = key;
      const busy = keyTails.get(key);
      keyTails.set(key, element);
      if (busy !== undefined) {
        busy.nextSameKey = element; // starts when `busy` completes
        return;
      }
    }
    if (this.#batcher !== undefined) {
      // After every watermark so far: it may wait for maxWait.
      if (!this.#stopped) this.#batcher.add(element, true);
      return;
    }
    if (
      !now || this.#stopped || this.#scheduled || this.#draining ||
      this.#limiter !== undefined || this.#ready.size > 0 ||
      this.#counters.inFlight >= this.#concurrency
    ) {
      return this.requestStart(element);
    }
    // The common case, a free slot and no one ahead: no queue, no microtask.
    this.#draining = true;
    element.start(); // user code; what it makes ready is started below
    this.#draining = false;
    if (this.#ready.size > 0) this.#drain();
  }

  /** The element wants a call slot, for its first attempt or a retry. */
  requestStart(element: Element<I, O>): void {
    if (this.#stopped) return;
    if (this.#batcher !== undefined) return this.#batcher.add(element, false);
    this.enqueue(element);
  }

  /** An element, or a closed batch, waits for a call slot. */
  enqueue(unit: Startable): void {
    if (this.#stopped) return;
    this.#ready.push(unit);
    if (this.#limiterTimer?.armed) {
      this.#throttled++;
      this.#counters.rateLimited++;
    }
    this.#schedule();
  }

  /** A call slot is free. */
  callEnded(): void {
    if (this.#ready.size > 0) this.#schedule();
  }

  /** The element completed: in key-ordered mode its key passes on. */
  completed(element: Element<I, O>): void {
    if (this.#keyTails === undefined) return;
    const next = element.nextSameKey;
    element.nextSameKey = undefined;
    if (next !== undefined) this.requestStart(next);
    else this.#keyTails.delete(element.key);
  }

  /** Nothing starts after this, and no timer of ours stays armed. */
  stop(): void {
    this.#stopped = true;
    this.#batcher?.stop();
    this.#limiterTimer?.clear();
    this.#ready.clear();
  }

  #schedule(): void {
    if (this.#scheduled || this.#draining || this.#stopped) return;
    this.#scheduled = true;
    queueMicrotask(this.#drain);
  }

  #drain = (): void => {
    this.#scheduled = false;
    this.#draining = true;
    const ready = this.#ready;
    const counters = this.#counters;
    const limiter = this.#limiter;
    const batcher = this.#batcher;
    while (
      ready.size > 0 &&
      // A batch is one call however many inputs it carries.
      (batcher === undefined ? counters.inFlight : batcher.calls) <
        this.#concurrency &&
      !this.#stopped
    ) {
      const unit = ready.peek()!;
      if (unit.startable) {
        if (limiter !== undefined && !this.#takeToken(limiter)) break;
        ready.shift();
        if (this.#throttled > 0) this.#throttled--;
        unit.start(); // user code; a synchronous result loops back here
      } else {
        ready.shift(); // it timed out while it waited
        if (this.#throttled > 0) this.#throttled--;
      }
    }
    this.#draining = false;
  };

  #takeToken(limiter: RateLimiter): boolean {
    const time = performance.now();
    if (limiter.tryAcquire(time)) return true;
    // Everyone ready now waits for the limit, the head first.
    this.#counters.rateLimited += this.#ready.size - this.#throttled;
    this.#throttled = this.#ready.size;
    if (!this.#limiterTimer!.armed) {
      this.#limiterTimer!.set(Math.max(1, limiter.waitAfter(time)));
    }
    return false;
  }
}
