// The operator behind AsyncIOTransformStream: it accepts chunks, holds
// capacity, dispatches calls (keys, rate limit) and emits through a queue.
// It owns the stream's lifecycle: open, end, failure and cancel.
import { DeadlineQueue } from "./_deadline_queue.ts";
import {
  type Attempt,
  type Counters,
  Element,
  type ElementHost,
  FAILED,
  newCounters,
} from "./_element.ts";
import type { Config } from "./_options.ts";
import { OrderedQueue } from "./_ordered_queue.ts";
import { Fifo } from "./_fifo.ts";
import type { EmissionQueue } from "./_queue.ts";
import { RateLimiter } from "./_rate_limiter.ts";
import { recordEntry, STATE_VERSION, watermarkEntry } from "./_state.ts";
import { UnorderedQueue } from "./_unordered_queue.ts";
import { CheckpointBarrier } from "./checkpoint_barrier.ts";
import type { AsyncIOState, AsyncIOStateEntry, AsyncIOStats } from "./types.ts";
import { Watermark } from "./watermark.ts";

interface Waiter {
  resolve(): void;
  reject(reason: unknown): void;
}

function wait(assign: (waiter: Waiter) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => assign({ resolve, reject }));
}

const ignore = () => {};

export class Operator<I, O, M> implements ElementHost<I, O> {
  readonly config: Config<I, O>;
  readonly counters: Counters = newCounters();
  readonly deadlines: DeadlineQueue<Element<I, O>> | undefined;
  readonly attemptDeadlines: DeadlineQueue<Attempt<I, O>> | undefined;
  readonly #queue: EmissionQueue<I, O>;
  readonly #limiter: RateLimiter<Element<I, O>> | undefined;
  /** Accepted elements waiting for a free call slot (concurrency < capacity). */
  readonly #waiting = new Fifo<Element<I, O>>();
  /** Key-ordered mode: each busy key's last element, which chains the rest. */
  readonly #keyTails: Map<unknown, Element<I, O>> | undefined;
  #controller!: TransformStreamDefaultController<O | M>;
  /** The admission (transform, or restore in start) waiting for capacity. */
  #room: Waiter | undefined = undefined;
  /** The flush waiting for the queue to drain. */
  #drained: Waiter | undefined = undefined;
  /** Restored entries not admitted yet; they still count in snapshots. */
  #backlog: readonly AsyncIOStateEntry<I>[] = [];
  #backlogIndex = 0;
  #ended = false;
  /** Why the stream failed or was cancelled; late writes reject with it. */
  #endReason: unknown = undefined;
  #closeCalled = false;

  constructor(config: Config<I, O>) {
    this.config = config;
    const emit = (element: Element<I, O>) => this.#emit(element);
    this.#queue = config.order === "ordered"
      ? new OrderedQueue(emit)
      : new UnorderedQueue(emit);
    if (config.timeout !== Infinity) {
      this.deadlines = new DeadlineQueue(config.timeout);
    }
    if (config.attemptTimeout !== Infinity) {
      this.attemptDeadlines = new DeadlineQueue(config.attemptTimeout);
    }
    if (config.rateLimit !== undefined) {
      this.#limiter = new RateLimiter(
        config.rateLimit.limit,
        config.rateLimit.interval,
        (element) => element.startable,
        (element) => {
          // Calls may have started while it waited: then it waits again for
          // a slot (its spent start only makes the rate stricter).
          if (this.counters.inFlight < config.concurrency) element.start();
          else this.#waiting.push(element);
        },
      );
    }
    if (config.order === "key-ordered") this.#keyTails = new Map();
  }

  // --- TransformStream callbacks ---

  async start(
    controller: TransformStreamDefaultController<O | M>,
  ): Promise<void> {
    this.#controller = controller;
    const { signal, open, restore } = this.config;
    if (signal !== undefined) {
      if (signal.aborted) return this.#terminate(signal.reason, true);
      signal.addEventListener("abort", this.#onSignalAbort, { once: true });
    }
    if (restore !== undefined) this.#backlog = restore.entries;
    try {
      await open?.();
    } catch (error) {
      this.#terminate(error, false);
      throw error;
    }
    // Restored entries go first, and still respect capacity.
    while (this.#backlogIndex < this.#backlog.length && !this.#ended) {
      const entry = this.#backlog[this.#backlogIndex++]!;
      const element = entry.kind === "record"
        ? new Element<I, O>(this, entry.input)
        : new Element<I, O>(
          this,
          undefined as I,
          new Watermark(entry.timestamp),
        );
      await this.#admit(element);
    }
  }

  transform(chunk: I | M): Promise<void> | undefined {
    // Defensive: a write that reaches transform() after a failure or cancel
    // must not look accepted.
    if (this.#ended) return Promise.reject(this.#endReason);
    if (chunk instanceof Watermark) {
      return this.#admit(new Element<I, O>(this, undefined as I, chunk));
    }
    if (chunk instanceof CheckpointBarrier) return this.#checkpoint(chunk);
    return this.#admit(new Element<I, O>(this, chunk as I));
  }

  flush(): Promise<void> | void {
    if (this.#queue.size === 0) return this.#end();
    return wait((waiter) => this.#drained = waiter).then(() => this.#end());
  }

  cancel(reason: unknown): Promise<void> | undefined {
    return this.#terminate(reason, false);
  }

  // --- what elements call back ---

  requestStart(element: Element<I, O>): void {
    if (this.#ended) return;
    if (this.counters.inFlight >= this.config.concurrency) {
      this.#waiting.push(element);
      return;
    }
    const limiter = this.#limiter;
    if (limiter === undefined || limiter.tryAcquire()) return element.start();
    this.counters.rateLimited++;
    limiter.wait(element);
  }

  callEnded(): void {
    const waiting = this.#waiting;
    while (
      waiting.size > 0 && !this.#ended &&
      this.counters.inFlight < this.config.concurrency
    ) {
      const element = waiting.shift()!;
      if (element.startable) this.requestStart(element);
    }
  }

  completed(element: Element<I, O>): void {
    // Emit before releasing the key: the next same-key call may complete at
    // once, and must not overtake this one.
    this.#queue.completed(element);
    this.#afterEmission();
    if (this.#keyTails !== undefined) this.#releaseKey(element);
  }

  failed(error: unknown): void {
    this.#terminate(error, true);
  }

  // --- public views ---

  snapshot(): AsyncIOState<I> {
    const entries: AsyncIOStateEntry<I>[] = [];
    for (
      let element = this.#queue.head;
      element !== undefined;
      element = element.next
    ) {
      entries.push(
        element.marker === undefined
          ? recordEntry(element.input)
          : watermarkEntry(element.marker.timestamp),
      );
    }
    for (let i = this.#backlogIndex; i < this.#backlog.length; i++) {
      const entry = this.#backlog[i]!;
      entries.push(
        entry.kind === "record"
          ? recordEntry(entry.input)
          : watermarkEntry(entry.timestamp),
      );
    }
    return { version: STATE_VERSION, entries };
  }

  get stats(): AsyncIOStats {
    const c = this.counters;
    return {
      accepted: c.accepted,
      pending: c.accepted - c.emitted,
      inFlight: c.inFlight,
      emitted: c.emitted,
      outputs: c.outputs,
      timedOut: c.timedOut,
      failed: c.failed,
      retries: c.retries,
      rateLimited: c.rateLimited,
    };
  }

  // --- internals ---

  /** Accepts an element; resolves once there is room for the next one. */
  #admit(element: Element<I, O>): Promise<void> | undefined {
    this.#queue.push(element);
    if (element.marker === undefined) {
      this.counters.accepted++;
      this.#dispatch(element);
    }
    if (this.#queue.size < this.config.capacity || this.#ended) return;
    return wait((waiter) => this.#room = waiter);
  }

  #dispatch(element: Element<I, O>): void {
    const keyTails = this.#keyTails;
    if (keyTails !== undefined) {
      let key: unknown;
      try {
        key = this.config.key!(element.input);
      } catch (error) {
        element.state = FAILED;
        this.#terminate(error, true);
        return;
      }
      element.key = key;
      const busy = keyTails.get(key);
      keyTails.set(key, element);
      if (busy !== undefined) {
        busy.nextSameKey = element; // waits until its key is free
        return;
      }
    }
    this.requestStart(element);
  }

  #releaseKey(element: Element<I, O>): void {
    const next = element.nextSameKey;
    element.nextSameKey = undefined;
    if (next !== undefined) this.requestStart(next);
    else this.#keyTails!.delete(element.key);
  }

  #emit(element: Element<I, O>): boolean {
    if (this.#ended) return false;
    const controller = this.#controller;
    try {
      if (element.marker !== undefined) {
        controller.enqueue(element.marker as M);
        return true;
      }
      if (element.many) {
        const outputs = element.outputs as O[];
        for (let i = 0; i < outputs.length; i++) {
          controller.enqueue(outputs[i]!);
        }
        this.counters.outputs += outputs.length;
      } else {
        controller.enqueue(element.outputs as O);
        this.counters.outputs++;
      }
    } catch {
      // The readable side was cancelled while the stream was flushing: the
      // spec does not call transformer.cancel then, so this is where it shows.
      this.#readableCancelledDuringFlush();
      return false;
    }
    this.counters.emitted++;
    element.outputs = undefined;
    return true;
  }

  /** Wakes whoever waits for room or for the queue to drain. */
  #afterEmission(): void {
    const size = this.#queue.size;
    if (this.#room !== undefined && size < this.config.capacity) {
      const room = this.#room;
      this.#room = undefined;
      room.resolve();
    }
    if (this.#drained !== undefined && size === 0) {
      const drained = this.#drained;
      this.#drained = undefined;
      drained.resolve();
    }
  }

  #readableCancelledDuringFlush(): void {
    // Let the flush finish, so that the pending close() and cancel() settle.
    const drained = this.#drained;
    this.#drained = undefined;
    this.#terminate(
      new DOMException("The readable side was cancelled", "AbortError"),
      false,
    );
    drained?.resolve();
  }

  #checkpoint(barrier: CheckpointBarrier): Promise<void> | undefined {
    const onCheckpoint = this.config.onCheckpoint;
    let returned: void | Promise<void> = undefined;
    try {
      returned = onCheckpoint?.(this.snapshot(), barrier);
    } catch (error) {
      this.#terminate(error, true);
      return;
    }
    // Ahead of the pending results: their inputs are in the snapshot.
    this.#controller.enqueue(barrier as M);
    if (returned === undefined) return;
    return Promise.resolve(returned).then(
      ignore,
      (error) => void this.#terminate(error, true),
    );
  }

  #onSignalAbort = (): void => {
    this.#terminate(this.config.signal!.reason, true);
  };

  #dispose(): void {
    this.#ended = true;
    this.deadlines?.dispose();
    this.attemptDeadlines?.dispose();
    this.#limiter?.dispose();
    this.config.signal?.removeEventListener("abort", this.#onSignalAbort);
  }

  /** Normal end: every element was emitted. Close errors fail the stream. */
  #end(): Promise<void> | void {
    this.#dispose();
    const close = this.config.close;
    if (close === undefined || this.#closeCalled) return;
    this.#closeCalled = true;
    return close();
  }

  /**
   * Failure or cancel: aborts every in-flight signal with `reason` and
   * clears every timer, but keeps the queue so snapshots still hold it.
   */
  #terminate(reason: unknown, errorStream: boolean): Promise<void> | undefined {
    if (this.#ended) return;
    this.#endReason = reason;
    this.#dispose();
    for (
      let element = this.#queue.head;
      element !== undefined;
      element = element.next
    ) {
      element.abort(reason);
    }
    if (errorStream) this.#controller.error(reason);
    this.#room?.reject(reason);
    this.#drained?.reject(reason);
    this.#room = this.#drained = undefined;
    const close = this.config.close;
    if (close === undefined || this.#closeCalled) return;
    this.#closeCalled = true;
    try {
      // The stream already carries the first error; a close error is dropped.
      return Promise.resolve(close()).then(ignore, ignore);
    } catch {
      return;
    }
  }
}
