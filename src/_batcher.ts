// Batching: inputs that are ready to start gather in one open batch, which
// closes into a BatchCall at `maxSize`, `maxWait` after its first input, or
// when no more input can join it. A closed batch waits in the dispatcher's
// ready FIFO as one unit, so `concurrency` and `rateLimit` count calls; the
// newest one still takes new inputs there, up to `maxSize`.
//
// Each input stays its own Element: it joins a call with an Attempt of its
// own that shares the call's controller, and settles, times out, retries or
// fails on its own. The call holds its slot until every one of its inputs
// has left it (settled, timed out or stopped); then its signal aborts, unless
// the call already returned.
import type { Config } from "./_config.ts";
import { type DeadlineNode, DeadlineQueue } from "./_deadline_queue.ts";
import { describe } from "./_describe.ts";
import type { Attempt } from "./_attempt.ts";
import type { Counters } from "./_counters.ts";
import type { Element } from "./_element.ts";
import { followResult } from "./_user_code.ts";
import { Timer } from "./_timer.ts";
import type { CallContext } from "./call_context.ts";

export class Batcher<I, O> {
  readonly config: Config<I, O>;
  readonly #counters: Counters;
  readonly #maxSize: number;
  readonly #maxWait: number;
  /** Hands a closed batch to the dispatcher. */
  readonly #enqueue: (call: BatchCall<I, O>) => void;
  /** Whether a watermark accepted after an element waits for it. */
  readonly #beforeWatermark: (element: Element<I, O>) => boolean;
  /** The inputs' total `timeout`s. */
  readonly elementDeadlines: DeadlineQueue<Element<I, O>> | undefined;
  readonly #timer: Timer | undefined;
  /** `attemptTimeout`, per batch call. */
  readonly #deadlines: DeadlineQueue<BatchCall<I, O>> | undefined;
  #open: BatchCall<I, O> | undefined = undefined;
  /**
   * The newest closed batch while it waits to start (for a call slot or a
   * rate-limit token) with room for more: new inputs join it.
   */
  #queued: BatchCall<I, O> | undefined = undefined;
  /** Per failed call, the call that gathers its retries until its delay ends. */
  readonly #retries = new Map<BatchCall<I, O>, RetryCall<I, O>>();
  /** Batch calls in flight: what `concurrency` counts. */
  calls = 0;
  /** The input side waits for room: no new input can join. */
  #inputBlocked = false;
  #inputEnded = false;
  #closeScheduled = false;
  #stopped = false;

  constructor(
    config: Config<I, O>,
    counters: Counters,
    enqueue: (call: BatchCall<I, O>) => void,
    beforeWatermark: (element: Element<I, O>) => boolean,
    elementDeadlines?: DeadlineQueue<Element<I, O>>,
  ) {
    this.#beforeWatermark = beforeWatermark;
    this.config = config;
    this.elementDeadlines = elementDeadlines;
    this.#counters = counters;
    this.#maxSize = config.batch!.maxSize;
    this.#maxWait = config.batch!.maxWait;
    this.#enqueue = enqueue;
    if (this.#maxWait !== Infinity) this.#timer = new Timer(this.close);
    if (config.attemptTimeout !== Infinity) {
      this.#deadlines = new DeadlineQueue(config.attemptTimeout);
    }
  }

  /**
   * An element is ready to start: it joins the open batch. `accepted`: it
   * was just accepted, so it comes after every watermark accepted so far.
   */
  add(element: Element<I, O>, accepted: boolean): void {
    if (this.#stopped) return;
    // A batch that waits to start takes the input: it starts no later than
    // a batch of its own would, and under load calls carry more inputs
    // (maxWait bounds how long the first input waits for others, not the
    // size of a call that could not start anyway). Its inputs are all new
    // ones, so it always starts.
    const queued = this.#queued;
    if (this.#open === undefined && queued !== undefined) {
      queued.elements.push(element);
      if (queued.elements.length >= this.#maxSize) this.#queued = undefined;
      return;
    }
    let open = this.#open;
    if (open === undefined) {
      open = this.#open = new BatchCall(this);
      this.#timer?.set(this.#maxWait);
    }
    open.elements.push(element);
    // A watermark that waits for this input (accepted before it, its key
    // was busy) does not wait for maxWait too. None waits for the inputs
    // after it: they wait for maxWait as any other.
    if (
      open.elements.length >= this.#maxSize ||
      (!accepted && this.#beforeWatermark(element))
    ) {
      this.close();
    } else this.#closeIfStuck();
  }

  /** Closes the open batch, if any: it then waits for a call slot. */
  close = (): void => {
    const open = this.#open;
    if (open === undefined || this.#stopped) return;
    this.#open = undefined;
    this.#timer?.clear();
    this.#queued = open.elements.length < this.#maxSize ? open : undefined;
    this.#enqueue(open);
  };

  /** A batch call starts: a batch that waited for it takes no more inputs. */
  starting(call: BatchCall<I, O>): void {
    if (this.#queued === call) this.#queued = undefined;
  }

  /** Whether the input side waits for room (capacity is full). */
  inputBlocked(blocked: boolean): void {
    this.#inputBlocked = blocked;
    if (blocked) this.#closeIfStuck();
  }

  /** End of input: the open batch closes, as does every later one, soon. */
  inputEnded(): void {
    this.#inputEnded = true;
    this.close();
  }

  callStarted(call: BatchCall<I, O>, size: number): void {
    this.calls++;
    this.#counters.batches++;
    this.#counters.batchedInputs += size;
    this.#deadlines?.add(call);
  }

  callEnded(call: BatchCall<I, O>): void {
    this.calls--;
    this.#deadlines?.remove(call);
    this.#closeIfStuck();
  }

  /**
   * An input of `failed` waits `delay` ms to retry. The inputs of one call
   * that retry together are re-sent as one call, after the first one's
   * delay, without waiting for `maxWait`.
   */
  retryLater(
    failed: BatchCall<I, O>,
    element: Element<I, O>,
    delay: number,
  ): void {
    if (this.#stopped) return;
    let retry = this.#retries.get(failed);
    if (retry === undefined) {
      const call = new BatchCall(this);
      const timer = new Timer(() => {
        this.#retries.delete(failed);
        this.#enqueue(call);
      });
      this.#retries.set(failed, retry = { call, timer });
      timer.set(delay);
    }
    retry.call.elements.push(element);
  }

  /** Nothing closes, starts or fires after this. */
  stop(): void {
    this.#stopped = true;
    this.#open = this.#queued = undefined;
    for (const retry of this.#retries.values()) retry.timer.clear();
    this.#retries.clear();
    this.#timer?.clear();
    this.#deadlines?.dispose();
  }

  /**
   * No input can join the open batch any more (the input ended, or the
   * stream is at capacity and no call is in flight that could make room):
   * it closes now, after the current task's other joins.
   */
  #closeIfStuck(): void {
    if (
      this.#open === undefined || this.#closeScheduled ||
      !(this.#inputEnded || (this.#inputBlocked && this.calls === 0))
    ) return;
    this.#closeScheduled = true;
    queueMicrotask(() => {
      this.#closeScheduled = false;
      this.close();
    });
  }
}

interface RetryCall<I, O> {
  readonly call: BatchCall<I, O>;
  readonly timer: Timer;
}

/** One call for many inputs; until it starts, the batch that gathers them. */
export class BatchCall<I, O> implements DeadlineNode<BatchCall<I, O>> {
  readonly #batcher: Batcher<I, O>;
  /** The inputs, until the call starts. */
  elements: Element<I, O>[] = [];
  #attempts: Attempt<I, O>[] = [];
  /** Inputs that still wait for this call. */
  #waiting = 0;
  #controller: AbortController | undefined = undefined;
  /** The call settled as a whole (its result or its failure came back). */
  #returned = false;
  deadline = 0;
  prevDue: BatchCall<I, O> | undefined = undefined;
  nextDue: BatchCall<I, O> | undefined = undefined;

  constructor(batcher: Batcher<I, O>) {
    this.#batcher = batcher;
  }

  /** Whether any input may start now; the others timed out while waiting. */
  get startable(): boolean {
    return this.elements.some((element) => element.startable);
  }

  /** Starts the call with the inputs that may start, running user code. */
  start(): void {
    const batcher = this.#batcher;
    batcher.starting(this);
    const controller = this.#controller = new AbortController();
    const attempts: Attempt<I, O>[] = [];
    const inputs: I[] = [];
    let attempt = 1;
    // The inputs share one deadline: stamped apart, some would time out
    // alone and pass their keys on while this call still runs.
    batcher.elementDeadlines?.hold();
    for (const element of this.elements) {
      if (!element.startable) continue;
      const joined = element.joinBatch(this, controller, batcher.calls + 1);
      attempts.push(joined);
      inputs.push(element.input);
      if (joined.number > attempt) attempt = joined.number;
    }
    batcher.elementDeadlines?.release();
    this.elements = [];
    // Every input's budget ran out since the dispatcher's check (a retry
    // reads the clock): no call; their deadlines time them out.
    if (attempts.length === 0) return;
    this.#attempts = attempts;
    this.#waiting = attempts.length;
    batcher.callStarted(this, attempts.length);
    const { batchMapper, asyncBatchFunction, asyncInvokeBatch } =
      batcher.config;
    let returned: unknown;
    try {
      if (batchMapper !== undefined) {
        const context: CallContext = Object.freeze({
          signal: controller.signal,
          attempt,
        });
        returned = batchMapper(inputs, context);
      } else {
        const futures = attempts.map((each) => each.future());
        returned = asyncInvokeBatch!.call(asyncBatchFunction, inputs, futures);
      }
    } catch (error) {
      return this.reject(error);
    }
    followResult(returned, this, batchMapper !== undefined);
  }

  /**
   * One input left the call. When none waits for it any more, the call frees
   * its slot, and its signal aborts if the call is still running: at once
   * after a stop, and after the verdict (see `unneeded`) after a settle, so
   * that its abort listeners cannot come before a failure.
   */
  left(reason: unknown, settled: boolean): void {
    if (--this.#waiting > 0) return;
    this.#batcher.callEnded(this);
    if (!this.#returned && !settled) this.#controller!.abort(reason);
  }

  unneeded(): void {
    if (this.#waiting > 0 || this.#returned) return;
    this.#controller!.abort(
      new DOMException(
        "The batch call is no longer needed: every input is settled",
        "AbortError",
      ),
    );
  }

  /** One of this call's inputs waits `delay` ms to retry. */
  retryLater(element: Element<I, O>, delay: number): void {
    this.#batcher.retryLater(this, element, delay);
  }

  /** `attemptTimeout` ran out: a failed attempt for each input still in it. */
  expire(): void {
    for (const attempt of this.#attempts) attempt.expire();
  }

  /** The batch function's outputs: one per input, in order. */
  resolve(outputs: unknown): void {
    // Late (every input left: a stop, or their timeouts): dropped unread,
    // as any late result is.
    if (this.#waiting === 0) return void (this.#returned = true);
    const attempts = this.#attempts;
    // A copy first: the array is user data, and its getters may throw, its
    // `length` included (a Proxy's trap).
    let copy: unknown[] | undefined;
    try {
      if (Array.isArray(outputs)) copy = Array.from(outputs);
    } catch (error) {
      return this.reject(error);
    }
    if (copy === undefined || copy.length !== attempts.length) {
      return this.reject(
        new TypeError(
          `Cannot complete the batch as its result must be an array of ${attempts.length} outputs, one per input: current value is ${
            copy === undefined
              ? describe(outputs)
              : `an array of ${copy.length}`
          }`,
        ),
      );
    }
    this.#returned = true;
    // Each settle may run user code that stops the stream; the later
    // inputs then find their attempts detached and are ignored.
    for (let i = 0; i < attempts.length; i++) {
      attempts[i]!.resolve(copy[i] as O);
    }
  }

  /** The call failed: every input still in it fails with `error`. */
  reject(error: unknown): void {
    this.#returned = true;
    const attempts = this.#attempts;
    for (let i = 0; i < attempts.length; i++) attempts[i]!.reject(error);
  }
}
