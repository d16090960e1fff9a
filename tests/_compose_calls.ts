// The compose fuzzer's user code (compose_property_test.ts): the functions and
// handlers a scenario hands the engine. Each call is recorded, to be settled
// by the script, and checked as it starts against the scenario's bounds.
import type {
  AsyncIOState,
  CheckpointBarrier,
  ConcurrencyLimit,
  ResultFuture,
} from "../mod.ts";
import { type Action, type Chunk, type Out, outs } from "./_compose_model.ts";
import type { Scenario } from "./_compose_model.ts";

/** One input of a call, and its future (object form). */
export interface Slot {
  input: number;
  done: boolean;
  future: ResultFuture<Out> | undefined;
}

export interface CallRecord {
  slots: Slot[];
  signal: AbortSignal;
  /** The whole call was settled by the test. */
  settled: boolean;
  batch: boolean;
  resolve(outputs: number, unwanted: boolean): void;
  reject(error: unknown): void;
}

/** The reason the test stops a run with: no error handler may see it. */
export class StopError extends Error {}

/**
 * Ms by which a time we measure in a call may trail the engine's own reading
 * just before it (a loaded machine may preempt us in between): a check that
 * something never comes early allows this much.
 */
const SLACK = 3;

/** Resolves with `value` after a timer. */
const later = <T>(value: T): Promise<T> =>
  new Promise((resolve) => setTimeout(() => resolve(value), 2));

export const slotActive = (slot: Slot, call: CallRecord): boolean =>
  !slot.done && !call.settled && !call.signal.aborted;
export const callActive = (call: CallRecord): boolean =>
  call.slots.some((slot) => slotActive(slot, call));

/** What the user code saw, and the problems it found as calls started. */
export class CallLog {
  readonly problems: string[] = [];
  readonly calls: CallRecord[] = [];
  stopped = false;
  startsAfterStop = 0;
  timeoutCalls = 0;
  policyCalls = 0;
  attemptStarts = 0; // per input
  retryStarts = 0; // per input, attempt > 1
  /** Attempts that failed: thrown, rejected, or out of attemptTimeout. */
  failedAttempts = 0;
  readonly finishedInputs = new Set<number>(); // left for good without outputs
  /** Inputs some call completed with no outputs. */
  readonly zeroOutputs = new Set<number>();
  /** Per input: when its first call started, and whether it timed out. */
  readonly firstStart = new Map<number, number>();
  readonly timedOutInputs = new Set<number>();
  /** Per barrier id: the records in its state. */
  readonly checkpoints = new Map<number, number[]>();
  /** The stream or iterator, once built: calls read its concurrency. */
  view: { stats: { concurrency: number } } | undefined = undefined;
  readonly #s: Scenario;
  readonly #concurrency: number;
  /** Chunks offered, in order. */
  readonly #offered: Chunk[];
  readonly #startTimes: number[] = [];
  #lastFirst = -1;

  constructor(s: Scenario, concurrency: number, offered: Chunk[]) {
    this.#s = s;
    this.#concurrency = concurrency;
    this.#offered = offered;
  }

  keyOf(n: number): number {
    return n % this.#s.keys;
  }

  /** Checks at a call's start, before it is recorded. */
  starting(inputs: number[], attempts: number[]): void {
    const s = this.#s;
    if (this.stopped) this.startsAfterStop++;
    const now = performance.now();
    if (s.rateLimit !== null) {
      // With SLACK for the lag between the engine's clock reading and ours.
      const { limit, interval } = s.rateLimit;
      const recent = this.#startTimes.filter((t) =>
        now - t < interval - SLACK
      ).length;
      if (recent >= limit) {
        this.problems.push(
          `call of ${inputs} starts after ${recent} starts in ${interval} ms`,
        );
      }
    }
    this.#startTimes.push(now);
    for (const [i, input] of inputs.entries()) {
      if (!this.firstStart.has(input)) this.firstStart.set(input, now);
      // First calls start in input order, restored inputs first (retries
      // join at the back; key-ordered inputs wait for their key).
      if (attempts[i] !== 1 || s.order === "key-ordered") continue;
      const position = this.#offered.indexOf(input);
      if (position < this.#lastFirst) {
        this.problems.push(`first call of ${input} after a later input's`);
      }
      this.#lastFirst = position;
    }
    this.attemptStarts += inputs.length;
    this.retryStarts += attempts.filter((a) => a > 1).length;
    const active = this.calls.filter(callActive);
    const allowed = this.view?.stats.concurrency ?? this.#concurrency;
    if (active.length + 1 > allowed) {
      this.problems.push(
        `call of ${inputs} starts with ${active.length} in flight, concurrency ${allowed}`,
      );
    }
    if (s.order === "key-ordered") this.#keyFree(inputs, active);
  }

  /** Key-ordered: no call starts while a call of its key runs. */
  #keyFree(inputs: number[], active: CallRecord[]): void {
    for (const input of inputs) {
      for (const call of active) {
        for (const slot of call.slots) {
          if (
            slotActive(slot, call) && slot.input !== input &&
            this.keyOf(slot.input) === this.keyOf(input)
          ) {
            this.problems.push(
              `call of ${input} starts while ${slot.input} (same key) runs`,
            );
          }
        }
      }
    }
  }

  /** Records a pending call; its attempt timeout must not come early. */
  record(call: CallRecord): void {
    this.calls.push(call);
    const started = performance.now();
    call.signal.addEventListener("abort", () => {
      const reason = call.signal.reason as { message?: string } | undefined;
      if (!String(reason?.message).includes("attempt timed out")) return;
      this.failedAttempts++;
      const elapsed = performance.now() - started;
      if (!(elapsed >= this.#s.attemptTimeout! - SLACK)) {
        this.problems.push(`an attempt timed out after ${elapsed} ms`);
      }
    });
  }

  /** Settles a call as the script says: with outputs, or a failure. */
  settle(call: CallRecord, a: Action): void {
    if (a.kind === "reject") {
      call.settled = true;
      this.failedAttempts++;
      call.reject(new Error(`failure of ${call.slots.map((x) => x.input)}`));
    } else if (a.kind === "resolve") {
      const n = this.#s.form === "object" ? a.outputs : 1;
      if (n === 0) call.slots.forEach((x) => this.zeroOutputs.add(x.input));
      call.settled = true;
      call.resolve(n, a.unwanted && this.#s.retry?.onResult === true);
    }
  }
}

/** The function or object of the scenario's form, batched or not. */
export function userCode(s: Scenario, log: CallLog): unknown {
  const fail = (message: string): never => {
    throw new Error(message);
  };
  const mode = (input: number, attempt: number) =>
    s.sync[(input * 7 + attempt) % s.sync.length]!;

  const fn = (input: number, { signal, attempt }: {
    signal: AbortSignal;
    attempt: number;
  }) => {
    log.starting([input], [attempt]);
    const m = mode(input, attempt);
    if (m === "value") return outs(input, 1, "call")[0];
    if (m === "throw") log.failedAttempts++, fail(`sync failure of ${input}`);
    return new Promise<Out>((resolve, reject) => {
      const call: CallRecord = {
        slots: [{ input, done: false, future: undefined }],
        signal,
        settled: false,
        batch: false,
        resolve: (_, unwanted) => resolve(outs(input, 1, "call", unwanted)[0]!),
        reject,
      };
      log.record(call);
    });
  };
  const object = {
    asyncInvoke(input: number, future: ResultFuture<Out>) {
      log.starting([input], [future.attempt]);
      const m = mode(input, future.attempt);
      if (m === "value") return future.complete(outs(input, 1, "call"));
      if (m === "throw") log.failedAttempts++, fail(`sync failure of ${input}`);
      log.record({
        slots: [{ input, done: false, future }],
        signal: future.signal,
        settled: false,
        batch: false,
        resolve: (n, unwanted) =>
          future.complete(outs(input, n, "call", unwanted)),
        reject: (error) => future.completeExceptionally(error),
      });
    },
  };
  const batchFn = (inputs: number[], { signal, attempt }: {
    signal: AbortSignal;
    attempt: number;
  }) => {
    log.starting(inputs, inputs.map(() => attempt));
    const m = mode(inputs[0]!, attempt);
    if (m === "value") return inputs.map((i) => outs(i, 1, "call")[0]!);
    if (m === "throw") throw new Error(`sync failure of ${inputs}`);
    return new Promise<Out[]>((resolve, reject) => {
      log.record({
        slots: inputs.map((input) => ({
          input,
          done: false,
          future: undefined,
        })),
        signal,
        settled: false,
        batch: true,
        resolve: (_, unwanted) =>
          resolve(inputs.map((i) => outs(i, 1, "call", unwanted)[0]!)),
        reject,
      });
    });
  };
  const batchObject = {
    asyncInvokeBatch(inputs: number[], futures: ResultFuture<Out>[]) {
      log.starting(inputs, futures.map((f) => f.attempt));
      const m = mode(inputs[0]!, futures[0]!.attempt);
      if (m === "value") {
        inputs.forEach((i, k) => futures[k]!.complete(outs(i, 1, "call")));
        return;
      }
      if (m === "throw") throw new Error(`sync failure of ${inputs}`);
      log.record({
        slots: inputs.map((input, k) => ({
          input,
          done: false,
          future: futures[k],
        })),
        signal: futures[0]!.signal,
        settled: false,
        batch: true,
        resolve: (n, unwanted) =>
          inputs.forEach((i, k) =>
            futures[k]!.complete(outs(i, n, "call", unwanted))
          ),
        reject: (error) =>
          futures.forEach((f) => f.completeExceptionally(error)),
      });
    },
  };
  return s.batch === null
    ? (s.form === "function" ? fn : object)
    : (s.form === "function" ? batchFn : batchObject);
}

/** The engine's options for the scenario, with handlers that log to `log`. */
export function optionsOf(
  s: Scenario,
  log: CallLog,
  bounds: { capacity: number; concurrency: number },
  signal: AbortSignal,
  restore: AsyncIOState<number> | undefined,
): unknown {
  const { capacity, concurrency } = bounds;
  const limit: ConcurrencyLimit = { limit: concurrency, update() {} };
  const recover = (error: unknown, input: number) => {
    log.policyCalls++;
    if (error instanceof StopError) {
      log.problems.push("the policy saw the stop");
    }
    if (s.policy === "skip") {
      log.finishedInputs.add(input);
      return undefined;
    }
    if (s.policy === "asyncRecover") {
      return s.slowHandlers
        ? later(outs(input, 1, "recover"))
        : Promise.resolve(outs(input, 1, "recover"));
    }
    return outs(input, 1, "recover");
  };
  return {
    order: s.order,
    capacity,
    concurrency: s.adaptive ? limit : concurrency,
    key: (n: number) => log.keyOf(n),
    signal,
    ...(s.timeout === null ? {} : {
      timeout: s.timeout,
      onTimeout: (input: number, result: ResultFuture<Out>) => {
        log.timeoutCalls++;
        log.timedOutInputs.add(input);
        // The budget runs from the first call, never from the acceptance.
        const started = log.firstStart.get(input);
        const elapsed = performance.now() - (started ?? Infinity);
        if (!(elapsed >= s.timeout! - SLACK)) {
          log.problems.push(`${input} timed out ${elapsed} ms after its call`);
        }
        // Its call counts as running until its signal aborts: a batch call's
        // does once every input has left it, and they time out together.
        if (!s.fallback) return s.slowHandlers ? later(undefined) : undefined;
        if (!s.slowHandlers) return result.complete(outs(input, 1, "fallback"));
        return later(undefined).then(() =>
          result.complete(outs(input, 1, "fallback"))
        );
      },
    }),
    ...(s.attemptTimeout === null ? {} : { attemptTimeout: s.attemptTimeout }),
    ...(s.rateLimit === null ? {} : { rateLimit: s.rateLimit }),
    ...(s.batch === null ? {} : {
      batch: {
        maxSize: Math.min(s.batch.maxSize, capacity),
        maxWait: s.batch.maxWait,
      },
    }),
    ...(s.retry === null ? {} : {
      retry: {
        maxAttempts: s.retry.maxAttempts,
        delay: s.retry.delay,
        ...(s.retry.onResult
          ? {
            retryOnResult: (results: Out[]) =>
              results.some((r) => r.unwanted === true),
          }
          : {}),
      },
    }),
    onError: s.policy === "fail" || s.policy === "settle" ? s.policy : recover,
    ...(restore === undefined ? {} : { restore }),
    onCheckpoint: (state: AsyncIOState<number>, barrier: CheckpointBarrier) => {
      log.checkpoints.set(
        barrier.id,
        state.entries.flatMap((e) => e.kind === "record" ? [e.input] : []),
      );
      // A slow checkpoint holds the input back until it settles.
      return s.slowHandlers ? later(undefined) : undefined;
    },
  };
}
