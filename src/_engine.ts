// The engine behind every front end: it accepts inputs into an emission
// queue within `capacity`, hands them to the dispatcher, and emits results
// to an Output. It owns the lifecycle, in one place:
//
//   start()  open(), then the restored inputs          (or a stop)
//   write()  accept one chunk; resolves when there is room for the next
//   end()    input ended: wait until all is emitted, close(), close output
//   stop()   any stop (cancel, abort, a signal) or a failure: #terminate()
//
// With `batch`, a Batcher sits before the dispatcher: the engine tells it
// when no more input can join the open batch (a watermark, end of input,
// capacity), and it closes there.
//
// Every way out, end() or #terminate(), goes through #dispose(): no call,
// timer or listener of ours outlives the stream, and close() runs exactly
// once, after open() has settled.
import { Batcher } from "./_batcher.ts";
import { type Config, fixedConcurrency } from "./_config.ts";
import { DeadlineQueue } from "./_deadline_queue.ts";
import { describe } from "./_describe.ts";
import { Dispatcher } from "./_dispatcher.ts";
import { type Counters, newCounters, statsOf } from "./_counters.ts";
import { Element } from "./_element.ts";
import type { Abortable, ElementHost } from "./_element_host.ts";
import {
  type Awaited,
  DRAIN,
  InputGate,
  NOTHING,
  PULL,
  ROOM,
  SETTLED,
} from "./_input_gate.ts";
import type { Output, Waiter } from "./_output.ts";
import {
  BARRIER,
  FAILED,
  type Kind,
  kindOf,
  WATERMARK,
} from "./_chunk_kind.ts";
import { type Attempt, SignalSource } from "./_attempt.ts";
import { OrderedQueue } from "./_ordered_queue.ts";
import { PromiseSlots } from "./_promise_slots.ts";
import { adopt } from "./_user_code.ts";
import type { EmissionQueue } from "./_queue.ts";
import { recordEntry, STATE_VERSION, watermarkEntry } from "./_state.ts";
import { UnorderedQueue } from "./_unordered_queue.ts";
import type { CheckpointBarrier } from "./checkpoint_barrier.ts";
import type { AsyncIOState, AsyncIOStateEntry } from "./async_io_state.ts";
import type { AsyncIOStats } from "./async_io_stats.ts";
import { Watermark } from "./watermark.ts";
import type { SampleOutcome, WindowedLimit } from "./_windowed_limit.ts";

const ignore = () => {};

export class Engine<I, O, M> implements ElementHost<I, O> {
  readonly config: Config<I, O>;
  readonly counters: Counters = newCounters();
  readonly deadlines: DeadlineQueue<Element<I, O>> | undefined;
  readonly attemptDeadlines: DeadlineQueue<Attempt<I, O>> | undefined;
  readonly signals: SignalSource;
  readonly #output: Output<O | M>;
  readonly #holdsBack: boolean;
  readonly #queue: EmissionQueue<I, O>;
  readonly #dispatcher: Dispatcher<I, O>;
  readonly #batcher: Batcher<I, O> | undefined;
  readonly #settle: boolean;
  readonly plain: boolean;
  readonly promiseSlots: PromiseSlots<O> | undefined;
  readonly #gate = new InputGate();
  /** Restored entries not admitted yet; they still count in snapshots. */
  #backlogIndex = 0;
  /** The records among them: accepted and pending in stats, as in snapshots. */
  #backlogRecords: number;
  #ended = false;
  /** Why the stream stopped or failed; later writes reject with it. */
  #endReason: unknown = undefined;
  /** Whether the lifecycle began: close() runs only if it did. */
  #began = false;
  /** Set while open() runs: close() must wait for it. */
  #opening: Promise<unknown> | undefined = undefined;
  #closeCalled = false;
  /**
   * Set while the queue emits or a barrier is taken, where user code (a
   * readable size(), onCheckpoint) may complete other inputs: they wait in
   * `#held` until then. So emission never re-enters the queue (a record
   * cannot come out behind the watermark that follows it), and an input in
   * a barrier's state cannot come out ahead of the barrier.
   */
  #holding = false;
  #held: Element<I, O>[] | undefined = undefined;
  /** Set while #releaseHeld() runs: what is held meanwhile waits its turn. */
  #releasing = false;
  /** The output was pulled while `#holding`: emission resumes after it. */
  #resumeDue = false;

  /**
   * `reuseHandlers`: follow plain calls' promises through reused handlers
   * (see PromiseSlots). `mapAsync` gains about 5% per item; a stream, whose
   * own machinery dominates, measured no gain, so it keeps its closures.
   */
  constructor(
    config: Config<I, O>,
    output: Output<O | M>,
    reuseHandlers = false,
  ) {
    this.config = config;
    this.#output = output;
    this.#holdsBack = output.holdsBack;
    this.promiseSlots = reuseHandlers ? new PromiseSlots() : undefined;
    this.#settle = config.onError === "settle";
    this.#backlogRecords = config.restore.reduce(
      (records, entry) => entry.kind === "record" ? records + 1 : records,
      0,
    );
    this.plain = config.mapper !== undefined && config.retry === undefined &&
      config.attemptTimeout === Infinity &&
      config.concurrencyLimit === undefined && config.batch === undefined;
    const emit = (element: Element<I, O>) => this.#emit(element);
    this.#queue = config.order === "ordered"
      ? new OrderedQueue(emit)
      : new UnorderedQueue(emit);
    if (config.timeout !== Infinity) {
      this.deadlines = new DeadlineQueue(config.timeout);
    }
    if (config.batch !== undefined) {
      // attemptTimeout then runs per batch call, in the batcher.
      this.#batcher = new Batcher(
        config,
        this.counters,
        (call) => this.#dispatcher.enqueue(call),
        (element) => this.#queue.beforeWatermark(element),
        this.deadlines,
      );
    } else if (config.attemptTimeout !== Infinity) {
      this.attemptDeadlines = new DeadlineQueue(config.attemptTimeout);
    }
    this.signals = new SignalSource(
      config.attemptTimeout === Infinity && config.retry === undefined,
      this.deadlines,
    );
    this.#dispatcher = new Dispatcher(
      this.counters,
      config.concurrency,
      config.rateLimit,
      config.order === "key-ordered" ? config.key : undefined,
      config.concurrencyLimit === undefined ? undefined : {
        limit: config.concurrencyLimit,
        capacity: config.capacity,
      },
      this.#batcher,
    );
  }

  // --- the input side ---

  /** Runs open(), then admits the restored inputs; a stop ends it early. */
  async start(): Promise<void> {
    const { signal, open } = this.config;
    if (signal !== undefined) {
      // A Proxy of a signal passes `instanceof`, and its traps may throw.
      try {
        // Before open(): on a pre-aborted signal, neither open() nor close() runs.
        if (signal.aborted) return this.stop(signal.reason);
        signal.addEventListener("abort", this.#onSignalAbort, { once: true });
      } catch (error) {
        return this.stop(error);
      }
    }
    this.#began = true;
    if (open !== undefined) {
      // Recorded before open() runs: a stop from inside it must wait too.
      let opened!: () => void;
      this.#opening = new Promise<void>((resolve) => opened = resolve);
      let opening: Promise<unknown>;
      try {
        opening = adopt(open());
      } catch (error) {
        opening = Promise.reject(error);
      }
      opening.finally(() => {
        this.#opening = undefined;
        opened();
      }).catch(ignore);
      await this.#settled(opening);
    }
    const backlog = this.config.restore;
    while (this.#backlogIndex < backlog.length && !this.#ended) {
      // As a write waits for the output's demand, so does a restored input:
      // results must not pile up beyond capacity where no one reads them.
      while (this.#output.backpressure) {
        await this.#wait(PULL);
        // A stop between the pull and here leaves the entry in snapshots,
        // and results that completed meanwhile may have filled it again.
        if (this.#ended) throw this.#endReason;
      }
      const entry = backlog[this.#backlogIndex++]!;
      if (entry.kind === "record") this.#backlogRecords--; // #admit counts it
      const full = this.#admit(
        entry.kind === "record"
          ? new Element<I, O>(this, entry.input)
          : new Element<I, O>(
            this,
            entry.timestamp as I,
            new Watermark(entry.timestamp),
          ),
        false,
      );
      if (full) await this.#wait(ROOM);
    }
  }

  /** Accepts one chunk; the promise, if any, resolves when there is room. */
  write(chunk: I | M): Promise<void> | undefined {
    if (this.#ended) return Promise.reject(this.#endReason);
    // A writer.write() from inside our own emission (a readable size()) is
    // taken from a microtask, once the queue is out of it.
    if (this.#holding) return Promise.resolve().then(() => this.write(chunk));
    if (this.#output.backpressure) {
      // From the top once a read came: by this microtask the stream may
      // have stopped, or results that completed meanwhile may have filled
      // the readable side again.
      return this.#wait(PULL).then(() => this.write(chunk));
    }
    return this.#accept(chunk);
  }

  /**
   * Whether a chunk may be offered now. If not, `waiter` is told once one
   * may; after a stop it is not, and this returns false.
   */
  ready(waiter: Waiter): boolean {
    if (this.#ended) return false;
    if (!this.#output.backpressure) return true;
    this.#gate.listen(PULL, waiter);
    return false;
  }

  /**
   * write() for a feeder that waits by callback, after ready(): it saves a
   * promise per chunk. Returns whether the next chunk may come at once; if
   * not, `waiter` is told once it may, or rejected by a stop.
   */
  offer(chunk: I | M, waiter: Waiter): boolean {
    const kind = this.#kindOf(chunk);
    if (kind === BARRIER) {
      const settled = this.#checkpoint(chunk as CheckpointBarrier);
      if (settled === undefined) return true;
      settled.then(waiter.resolve, waiter.reject);
      return false;
    }
    const element = this.#elementOf(chunk, kind);
    if (element === undefined) return false;
    if (!this.#admit(element)) return true;
    if (!this.#ended) this.#gate.listen(ROOM, waiter);
    return false;
  }

  /** The input ended: resolves once every result is out and close() ran. */
  async end(): Promise<void> {
    if (this.#ended) throw this.#endReason;
    this.#batcher?.inputEnded();
    if (this.#queue.size > 0) await this.#wait(DRAIN);
    this.#dispose(false);
    try {
      // As open() does, close() lets a stop through at once.
      await this.#settled(this.#close());
    } catch {
      // A stop, or close()'s error, which #terminate() got: see below.
    }
    // A stop while close() ran (a reader's cancel, options.signal) ends it
    // as any stop does.
    if (this.#ended) throw this.#endReason;
    this.#ended = true;
    this.#unlisten();
    this.#output.close();
  }

  /** Every stop and every failure: see {@linkcode Engine.#terminate}. */
  stop(reason: unknown): void {
    this.#terminate(reason);
  }

  /**
   * The output wants more: the results held back for it go first, and the
   * input side goes on only if they left it wanting more still.
   */
  pulled(): void {
    // Only an output that holds back has results waiting for its demand.
    if (this.#holdsBack) this.#resume();
    if (this.#gate.awaited === PULL && !this.#output.backpressure) {
      this.#gate.open();
    }
  }

  /** Emits what waited for the output's demand, as far as it goes. */
  #resume(): void {
    // A pull from inside our own emission or barrier (a read from a
    // readable size(), or from onCheckpoint): what runs is not re-entered;
    // emission resumes once it is out.
    if (this.#holding) return void (this.#resumeDue = true);
    this.#resumeDue = false;
    this.#holding = true;
    this.#queue.resume();
    this.#holding = false;
    this.#afterEmission();
    if (this.#held !== undefined) this.#releaseHeld();
  }

  // --- what elements call back ---

  requestStart(element: Element<I, O>): void {
    this.#dispatcher.requestStart(element);
  }

  callEnded(): void {
    this.#dispatcher.callEnded();
  }

  completed(element: Element<I, O>): void {
    if (this.#holding) return void (this.#held ??= []).push(element);
    // Emit before the key passes on, so the next same-key result, which may
    // come at once, cannot overtake this one.
    this.#holding = true;
    this.#queue.completed(element);
    this.#holding = false;
    this.#afterEmission();
    this.#dispatcher.completed(element);
    if (this.#held !== undefined) this.#releaseHeld();
    if (this.#resumeDue) this.#resume();
  }

  /**
   * Completes, in order, what completed while the queue was held, and what
   * completes while those are emitted after them, not ahead of the rest.
   */
  #releaseHeld(): void {
    if (this.#held === undefined || this.#releasing) return;
    this.#releasing = true;
    try {
      let held: Element<I, O>[] | undefined;
      while ((held = this.#held) !== undefined) {
        this.#held = undefined;
        for (const element of held) this.completed(element);
      }
    } finally {
      this.#releasing = false;
    }
  }

  failed(_element: Element<I, O>, error: unknown): void {
    this.#terminate(error);
  }

  get limit(): WindowedLimit | undefined {
    return this.#dispatcher.limit;
  }

  sampled(startedAt: number, inFlight: number, outcome: SampleOutcome): void {
    try {
      this.#dispatcher.sample(startedAt, inFlight, outcome);
    } catch (error) {
      this.#terminate(error); // the limit's update threw
    }
  }

  // --- public views ---

  get concurrency(): number {
    return this.#dispatcher.concurrency;
  }

  /** Fixes the calls in flight; throws a RangeError or TypeError for a bad value. */
  setConcurrency(value: unknown): void {
    this.#dispatcher.concurrency = fixedConcurrency(
      "Cannot set the concurrency as",
      value,
      this.config.capacity,
    );
  }

  snapshot(): AsyncIOState<I> {
    const entries: AsyncIOStateEntry<I>[] = [];
    for (let e = this.#queue.head; e !== undefined; e = e.next) {
      if (e.leaving) continue;
      entries.push(
        e.marker === undefined
          ? recordEntry(e.input)
          : watermarkEntry(e.input as number),
      );
    }
    const backlog = this.config.restore;
    for (let i = this.#backlogIndex; i < backlog.length; i++) {
      entries.push({ ...backlog[i]! });
    }
    return { version: STATE_VERSION, entries };
  }

  get stats(): AsyncIOStats {
    const stats = statsOf(this.counters, this.#dispatcher.concurrency);
    const waiting = this.#backlogRecords;
    if (waiting === 0) return stats;
    // Restored records not admitted yet are in snapshots: they count too.
    return {
      ...stats,
      accepted: stats.accepted + waiting,
      pending: stats.pending + waiting,
    };
  }

  // --- internals ---

  #accept(chunk: I | M): Promise<void> | undefined {
    const kind = this.#kindOf(chunk);
    if (kind === BARRIER) return this.#checkpoint(chunk as CheckpointBarrier);
    const element = this.#elementOf(chunk, kind);
    if (element === undefined) return Promise.reject(this.#endReason);
    return this.#admit(element) ? this.#wait(ROOM) : undefined;
  }

  /** What a chunk is; a Proxy's trap that throws fails the stream. */
  #kindOf(chunk: unknown): Kind {
    try {
      return kindOf(chunk);
    } catch (error) {
      this.#terminate(error);
      return FAILED;
    }
  }

  /**
   * The element of a record or a watermark; undefined if classifying or
   * reading the chunk failed the stream. A watermark's timestamp is read
   * once, here, into its element's `input`: a Proxy's trap that throws fails
   * the stream now, and snapshots never run a getter of the user's object.
   * One that is not a number (a bare brand, or plain JS) fails it too: a
   * snapshot holding it would be a state that `restore` refuses.
   */
  #elementOf(chunk: unknown, kind: Kind): Element<I, O> | undefined {
    if (kind === FAILED) return undefined;
    if (kind !== WATERMARK) return new Element<I, O>(this, chunk as I);
    let timestamp: unknown;
    try {
      timestamp = (chunk as Watermark).timestamp;
    } catch (error) {
      this.#terminate(error);
      return undefined;
    }
    if (typeof timestamp !== "number") {
      this.#terminate(
        new TypeError(
          `Cannot accept the watermark as its timestamp must be a number: current value is ${
            describe(timestamp)
          }`,
        ),
      );
      return undefined;
    }
    return new Element<I, O>(this, timestamp as I, chunk as Watermark);
  }

  /**
   * Queues an element; returns whether the caller must wait before the next
   * one: for room, or for ever after a stop. A written input may start its
   * call at once (`startNow`): writes never come from our own stack.
   * Restored ones start from a microtask, since start() runs inside the
   * constructor.
   */
  #admit(element: Element<I, O>, startNow = true): boolean {
    if (this.#ended) return true;
    if (element.marker === undefined) {
      this.#queue.push(element);
      this.counters.accepted++;
      try {
        this.#dispatcher.admit(element, startNow);
      } catch (error) {
        element.failBeforeStart(error); // options.key threw
      }
    } else {
      // A watermark may leave at once, running a readable size().
      this.#holding = true;
      this.#queue.push(element);
      this.#holding = false;
      this.#releaseHeld();
      if (this.#resumeDue) this.#resume();
      this.#batcher?.close(); // event time does not wait for maxWait
    }
    if (this.#ended) return true;
    if (this.#queue.size < this.config.capacity) return false;
    this.#batcher?.inputBlocked(true);
    return true;
  }

  #checkpoint(barrier: CheckpointBarrier): Promise<void> | undefined {
    let returned: unknown;
    this.#holding = true;
    try {
      const { onCheckpoint } = this.config; // called with no `this`
      returned = onCheckpoint?.(this.snapshot(), barrier);
    } catch (error) {
      this.#terminate(error);
    }
    // Ahead of the pending results: their inputs are in the snapshot.
    const sent = !this.#ended && this.#enqueue(barrier as M);
    this.#holding = false;
    this.#releaseHeld();
    if (this.#resumeDue) this.#resume();
    if (!sent) return Promise.reject(this.#endReason);
    if (returned === undefined) return;
    return this.#settled(adopt(returned));
  }

  /**
   * Emits an element's outputs, or its watermark; returns false, leaving it
   * queued and unemitted, while an output that holds back wants no more (it
   * waits for `pulled()`) or after a stop. An input's outputs leave together: many may
   * overfill the output, by the rest of that one input's outputs.
   */
  #emit(element: Element<I, O>): boolean {
    if (this.#ended || (this.#holdsBack && this.#output.backpressure)) {
      return false;
    }
    if (element.marker !== undefined) {
      element.leaving = true; // see Element.emitOutputs()
      const sent = this.#enqueue(element.marker as M, element);
      if (!sent) element.leaving = false;
      return sent;
    }
    const count = element.emitOutputs(
      this.#settle && !element.recovered
        ? this.#enqueueFulfilled(element)
        : this.#enqueueOutput,
    );
    if (count < 0) return false;
    if (count === 0) this.counters.emitted++;
    element.emitted();
    return true;
  }

  #enqueueOutput = (output: O, element: Element<I, O>): boolean =>
    this.#enqueueCounted(output, element);

  /** `onError: "settle"` wraps each output of a fulfilled input. */
  #enqueueFulfilled(element: Element<I, O>): (value: O) => boolean {
    const input = element.input;
    return (value) =>
      this.#enqueueCounted(
        { status: "fulfilled", input, value } as unknown as O,
        element,
      );
  }

  /**
   * Counts an output before it goes out, and its input as emitted with its
   * last output, as snapshot() has it (see Element.emitOutputs()): a sink
   * (Deno's pipeTo) or a readable size() sees the chunk within the enqueue.
   */
  #enqueueCounted(output: O, element: Element<I, O>): boolean {
    const counters = this.counters;
    const last = element.leaving;
    counters.outputs++;
    if (last) counters.emitted++;
    if (this.#enqueue(output, element)) return true;
    counters.outputs--; // it went nowhere: a stop from inside size()
    if (last) counters.emitted--;
    return false;
  }

  /**
   * The only place chunks leave; a throwing `size()` fails the stream.
   * Returns whether the chunk went out: one that a stop from inside
   * `size()` left nowhere did not, and its input must stay unemitted. One
   * that a sink received within the enqueue (Deno's pipeTo) did, even if
   * that sink then stopped the stream.
   */
  #enqueue(chunk: O | M, from?: Element<I, O>): boolean {
    try {
      return this.#output.enqueue(chunk, from) !== false;
    } catch (error) {
      this.#terminate(error);
      return false;
    }
  }

  /** Wakes the input side if what it waits for has come. */
  #afterEmission(): void {
    const awaited = this.#gate.awaited;
    if (awaited === NOTHING) return;
    const size = this.#queue.size;
    if (
      (awaited === ROOM && size < this.config.capacity) ||
      (awaited === DRAIN && size === 0)
    ) {
      this.#batcher?.inputBlocked(false);
      this.#gate.open();
    }
  }

  #wait(awaited: Awaited): Promise<void> {
    if (this.#ended) return Promise.reject(this.#endReason);
    return this.#gate.wait(awaited);
  }

  /** Waits for user code's promise, or for a stop, whichever comes first. */
  #settled(promise: Promise<unknown>): Promise<void> {
    const settled = this.#wait(SETTLED);
    promise.then(
      () => {
        if (this.#gate.awaited === SETTLED) this.#gate.open();
      },
      (error) => this.#terminate(error),
    );
    return settled;
  }

  #onSignalAbort = (event: Event): void => {
    let reason: unknown;
    try {
      // The signal that aborted: `options.signal` may be a Proxy of it.
      reason = (event.target as AbortSignal).reason;
    } catch (error) {
      reason = error;
    }
    this.#terminate(reason);
  };

  /**
   * Nothing starts, fires or listens after this; end() keeps listening to
   * `options.signal` (`unlisten` false) until close() has settled.
   */
  #dispose(unlisten = true): void {
    this.#dispatcher.stop();
    this.deadlines?.dispose();
    this.attemptDeadlines?.dispose();
    if (unlisten) this.#unlisten();
  }

  #unlisten(): void {
    try {
      this.config.signal?.removeEventListener("abort", this.#onSignalAbort);
    } catch {
      // A Proxy's trap: the listener is then released with the signal.
    }
  }

  /**
   * A stop or a failure: aborts every call at once with `reason`, clears
   * every timer, errors every side, and releases the waiting input side,
   * all synchronously; then close() runs once. The queue is kept, so
   * snapshots still hold every input that was not emitted.
   */
  #terminate(reason: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#endReason = reason;
    this.#dispose();
    // Every element first, then every signal: calls may share a signal, and
    // a completion from its abort listener must find its element stopped.
    const attempts: Abortable[] = [];
    for (let e = this.#queue.head; e !== undefined; e = e.next) {
      const attempt = e.stop();
      if (attempt !== undefined) attempts.push(attempt);
    }
    // The output errors before any abort listener runs: one that cancels
    // the reader, or returns the iterator, must not turn a failure into a
    // clean end.
    this.#output.error(reason);
    for (const attempt of attempts) attempt.abort(reason);
    this.#output.aborted?.();
    this.#gate.fail(reason);
    // The stream already carries the first error; a close error is dropped.
    this.#close().catch(ignore);
  }

  /** Runs close() once, after open() has settled. */
  #close(): Promise<void> {
    const close = this.config.close;
    if (close === undefined || this.#closeCalled || !this.#began) {
      return Promise.resolve();
    }
    this.#closeCalled = true;
    const opening = this.#opening ?? Promise.resolve();
    return opening.then(close, close);
  }
}
