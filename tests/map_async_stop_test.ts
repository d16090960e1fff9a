// The stop matrix of mapAsync(): each way a consumer stops the iteration
// (return(), throw(), options.signal), in each state the engine can be in,
// in each order, for both function forms. The calls ignore their signal and
// never settle on their own, so a stop that waited for them would hang.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type CallContext,
  mapAsync,
  type MapAsyncIterator,
  type MapAsyncOptions,
  type ResultFuture,
} from "../mod.ts";
import { settle } from "./_deferred.ts";
import { asyncSource, type SourceLog } from "./_sources.ts";

const ORDERS = ["ordered", "unordered", "key-ordered"] as const;
const FORMS = ["function", "object"] as const;
const STATES = {
  running: "calls running",
  ended: "the source ended and calls running",
  blocked: "the read-ahead at capacity",
  backoff: "a retry backoff pending",
  rateLimited: "waiting for a rate-limit token",
} as const;
type State = keyof typeof STATES;
type Order = typeof ORDERS[number];
type Form = typeof FORMS[number];

interface Attempt {
  input: number;
  signal: AbortSignal;
  settledEarly: boolean;
  resolve(value: number): void;
  reject(reason: unknown): void;
}

/** The inputs each state reads, and how many calls start for them. */
function plan(state: State, order: Order) {
  const keyed = order === "key-ordered"; // key = input % 2
  switch (state) {
    case "running":
    case "ended":
      return { inputs: [1, 2, 3, 4], starts: keyed ? 2 : 4, reads: 4 };
    case "blocked":
      return { inputs: [1, 2, 3], starts: 2, reads: 2 };
    case "backoff":
      return { inputs: [1, 2], starts: 2, reads: 2 };
    case "rateLimited":
      return { inputs: [1, 2], starts: 1, reads: 2 };
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > 2_000) throw new Error(`Timed out: ${what}`);
    await settle(1);
  }
}

interface Built {
  mapped: MapAsyncIterator<number, number>;
  attempts: Attempt[];
  counts: { open: number; close: number };
  log: SourceLog;
  controller: AbortController;
  pending: Promise<IteratorResult<number>>;
}

async function build(state: State, order: Order, form: Form): Promise<Built> {
  const attempts: Attempt[] = [];
  const counts = { open: 0, close: 0 };
  const record = (
    input: number,
    signal: AbortSignal,
    resolve: (value: number) => void,
    reject: (reason: unknown) => void,
  ) =>
    void attempts.push({ input, signal, settledEarly: false, resolve, reject });
  const asFunction = (input: number, { signal }: CallContext) =>
    new Promise<number>((resolve, reject) =>
      record(input, signal, resolve, reject)
    );
  const asObject = {
    open: () => void counts.open++,
    asyncInvoke(input: number, result: ResultFuture<number>) {
      record(
        input,
        result.signal,
        (value) => result.complete([value]),
        (reason) => result.completeExceptionally(reason),
      );
    },
    close: () => void counts.close++,
  };
  const controller = new AbortController();
  const options: MapAsyncOptions<number, number> = {
    order,
    capacity: state === "blocked" ? 2 : 10,
    signal: controller.signal,
    ...(order === "key-ordered" ? { key: (n: number) => n % 2 } : {}),
    ...(state === "backoff"
      ? { retry: { maxAttempts: 3, delay: 60_000 } }
      : {}),
    ...(state === "rateLimited"
      ? { rateLimit: { limit: 1, interval: 60_000 } }
      : {}),
  };
  const { inputs, starts, reads } = plan(state, order);
  const { iterator, log } = asyncSource(inputs, { end: state === "ended" });
  const mapped = form === "function"
    ? mapAsync(iterator, asFunction, options)
    : mapAsync(iterator, asObject, options);
  const pending = mapped.next();
  await until(() => attempts.length >= starts, `${starts} calls to start`);
  if (state === "ended") await until(() => log.ended, "the source to end");
  if (state === "backoff") {
    const first = attempts.find((attempt) => attempt.input === 1)!;
    first.settledEarly = true;
    first.reject(new Error("the first attempt fails"));
  }
  await settle(5);
  assert.equal(attempts.length, starts, "calls started before the stop");
  assert.equal(log.reads, reads, "inputs read before the stop");
  assert.deepEqual(
    mapped.snapshot().entries,
    inputs.slice(0, reads).map((input) => ({ kind: "record", input })),
  );
  return { mapped, attempts, counts, log, controller, pending };
}

const STOPS = {
  "return()": (built: Built) => {
    const done = built.mapped.return();
    const reason = built.attempts.find((a) => !a.settledEarly)!.signal.reason;
    assert.equal((reason as DOMException).name, "AbortError");
    return { done, reason, rejects: false, pendingRejects: false };
  },
  "throw(error)": (built: Built) => {
    const reason = new Error("throw()");
    const done = built.mapped.throw(reason);
    return { done, reason, rejects: true, pendingRejects: false };
  },
  "options.signal": (built: Built) => {
    const reason = new Error("options.signal");
    built.controller.abort(reason);
    const done = built.pending;
    return { done, reason, rejects: true, pendingRejects: true };
  },
} as const;

async function checkStop(
  stop: keyof typeof STOPS,
  state: State,
  order: Order,
  form: Form,
): Promise<void> {
  const built = await build(state, order, form);
  const { mapped, attempts, counts, log, pending } = built;
  const inFlight = attempts.filter((attempt) => !attempt.settledEarly);
  const before = { attempts: attempts.length, snapshot: mapped.snapshot() };

  const stopped = STOPS[stop](built);
  // Synchronously: every call's signal, with one reason, and the source.
  for (const { input, signal } of inFlight) {
    assert.equal(signal.aborted, true, `input ${input}'s signal`);
    assert.equal(signal.reason, stopped.reason, `input ${input}'s reason`);
  }
  if (state === "ended") {
    assert.equal(log.returns, 0, "a source that ended is not returned");
  } else {
    assert.equal(log.returns, 1, "the source is returned at once");
    assert.equal(log.returnReason, stopped.reason);
  }

  const outcome = await stopped.done.then(
    (value) => ({ ok: true as const, value }),
    (reason) => ({ ok: false as const, reason }),
  );
  if (stopped.rejects) {
    assert.equal(outcome.ok, false, "the stop's promise fulfilled");
    if (!outcome.ok) assert.equal(outcome.reason, stopped.reason);
  } else {
    assert.deepEqual(outcome, {
      ok: true,
      value: { done: true, value: undefined },
    });
  }
  if (!stopped.pendingRejects) {
    assert.deepEqual(await pending, { done: true, value: undefined });
  }
  assert.deepEqual(await mapped.next(), { done: true, value: undefined });

  await settle(20);
  assert.equal(attempts.length, before.attempts, "an attempt started after");
  assert.equal(mapped.stats.inFlight, 0, "stats.inFlight after the stop");
  assert.deepEqual(mapped.snapshot(), before.snapshot, "snapshot() changed");
  if (form === "object") assert.deepEqual(counts, { open: 1, close: 1 });

  // Late results are ignored.
  const emitted = mapped.stats.emitted;
  for (const attempt of inFlight) attempt.resolve(100 + attempt.input);
  await settle(20);
  assert.equal(attempts.length, before.attempts, "an attempt started late");
  assert.equal(mapped.stats.emitted, emitted, "a late result was emitted");
  assert.deepEqual(mapped.snapshot(), before.snapshot, "snapshot() changed");
  assert.deepEqual(await mapped.next(), { done: true, value: undefined });
  if (form === "object") assert.deepEqual(counts, { open: 1, close: 1 });
}

for (const stop of Object.keys(STOPS) as (keyof typeof STOPS)[]) {
  for (const state of Object.keys(STATES) as State[]) {
    for (const order of ORDERS) {
      for (const form of FORMS) {
        test(
          `mapAsync() stops at once on ${stop} with ${
            STATES[state]
          } (${order}, ${form} form)`,
          () => checkStop(stop, state, order, form),
        );
      }
    }
  }
}
