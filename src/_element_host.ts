// What an element and its owners hand each other: the engine as the element
// sees it, what a stop aborts, and a batch call as one of its inputs sees it.
import type { Attempt, SharedCall, SignalSource } from "./_attempt.ts";
import type { Config } from "./_config.ts";
import type { Counters } from "./_counters.ts";
import type { DeadlineQueue } from "./_deadline_queue.ts";
import type { PromiseSlots } from "./_promise_slots.ts";
import type { Element } from "./_element.ts";
import type { SampleOutcome, WindowedLimit } from "./_windowed_limit.ts";

/** What an element needs from the engine that owns it. */
export interface ElementHost<I, O> {
  readonly config: Config<I, O>;
  readonly counters: Counters;
  readonly deadlines: DeadlineQueue<Element<I, O>> | undefined;
  readonly attemptDeadlines: DeadlineQueue<Attempt<I, O>> | undefined;
  readonly signals: SignalSource;
  /** The element wants a call slot for its next attempt. */
  requestStart(element: Element<I, O>): void;
  /** An attempt stopped holding its call slot. */
  callEnded(): void;
  /** The element reached DONE. */
  completed(element: Element<I, O>): void;
  /** The element failed for good; the stream must fail with `error`. */
  failed(element: Element<I, O>, error: unknown): void;
  /** The adaptive limit, which samples every attempt; undefined when fixed. */
  readonly limit: WindowedLimit | undefined;
  /**
   * Set when an input has one call at most: the function form with no
   * retry, attempt timeout, adaptive limit or batch. Such an element needs
   * no {@linkcode Attempt}: only its total timeout or a stop can make its
   * call's completion stale, and both take it out of RUNNING.
   */
  readonly plain: boolean;
  /** Follows plain calls' native promises; without it, two closures per call. */
  readonly promiseSlots?: PromiseSlots<O> | undefined;
  /** An attempt ended; may run the limit's update, and stop the stream. */
  sampled(startedAt: number, inFlight: number, outcome: SampleOutcome): void;
}

/** What a stop or a timeout aborts: an attempt, or a plain call's signal. */
export interface Abortable {
  abort(reason: unknown): void;
}

/** A batch call, as an element of it sees it. */
export interface BatchedCall<I, O> extends SharedCall {
  /** Re-sends the element with the call's other retries, after `delay`. */
  retryLater(element: Element<I, O>, delay: number): void;
}
