// Property: exactly-once across crashes over feature combinations and both
// front ends. The sibling of exactly_once_property_test.ts, which drives the
// stream with one output per input; this one also runs mapAsync() over a
// synchronous, an asynchronous and a ReadableStream source, with timeouts
// (with a fallback or without), attemptTimeout, retries whose backoff is
// pending, a rate limit, an adaptive limit, batching (both forms), inputs
// with several outputs and error handlers that recover into several outputs. Besides the end result
// it checks a model at every point it can see:
// - at each barrier, what came out before it plus its state is exactly what
//   was accepted before it (an input dropped by the skip policy aside), with
//   no input's outputs on both sides;
// - mapAsync(): after each output handed out, and after random pauses,
//   snapshot() holds exactly the inputs read (restored ones included) whose
//   last output was not handed out;
// - every state is in input order where the mode keeps it, with each
//   watermark between the records it separates, and survives JSON;
// - no record crosses a watermark in any incarnation's output.
// A crash restores either from the last barrier (the sink commits on
// barriers) or, for mapAsync, from snapshot() taken after return() with the
// source's offset then (the consumer commits each input's outputs once it has
// them all): restored states then hold more than `capacity` inputs, and the
// capacity changes per incarnation, so a stream that never admitted its whole
// backlog is snapshotted and restored again.
// EXACTLY_ONCE_SEED and EXACTLY_ONCE_RUNS pick other runs.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  aimd,
  type AsyncBatchFunction,
  type AsyncFunction,
  type AsyncIOState,
  AsyncIOTransformStream,
  type CallContext,
  CheckpointBarrier,
  mapAsync,
  type OutputOrder,
  type ResultFuture,
  Watermark,
} from "../mod.ts";
import { env, type Origin, type Out, outOf, outs } from "./_compose_model.ts";

type Marker = Watermark | CheckpointBarrier;
type Front = "stream" | "sync" | "async" | "readable";
type Policy = "fail" | "settle" | "recover" | "asyncRecover" | "skip";

interface Scenario {
  front: Front;
  form: "mapper" | "object";
  order: OutputOrder;
  /** Per incarnation, cycled: a restore may meet a smaller capacity. */
  capacities: number[];
  inputs: number;
  barrierEvery: number;
  watermarkEvery: number;
  /** Per input, cycled: 0 sync, 1 a microtask, n ≥ 2 a timer of n - 2 ms. */
  latencies: number[];
  /** Per input, cycled: the outputs of the object form (the mapper has 1). */
  outputs: number[];
  /** `input:incarnation` keys: the first attempt rejects, retryably. */
  transient: Set<string>;
  /** Keys whose every attempt rejects, not retryably. */
  fatal: Set<string>;
  /** Keys whose every attempt hangs until its signal aborts. */
  hang: Set<string>;
  /** Keys whose first attempt hangs until its signal aborts. */
  slow: Set<string>;
  timeout: { ms: number; handler: "none" | "sync" | "async" } | null;
  attemptTimeout: number | null;
  retry: { maxAttempts: number; delay: number } | null;
  rateLimit: { limit: number; interval: number } | null;
  adaptive: boolean;
  /** Batching; `maxSize` is capped by the capacity. */
  batch: { maxSize: number; maxWait: number } | null;
  policy: Policy;
  /** Per incarnation: the consumer crashes on its n-th output. */
  crashAt: (number | null)[];
  /**
   * How the consumer crashes: the stream's sink throws or aborts
   * `options.signal`; mapAsync's consumer calls return() or aborts it.
   */
  crashBy: "consumer" | "signal";
  /** Where a mapAsync crash restores from; a stream always uses barriers. */
  restoreFrom: "barrier" | "snapshot";
  /**
   * Per output handed out, cycled: how long the consumer pauses after it, as
   * latencies, or 4: six microtasks with a snapshot() check after each.
   */
  pauses: number[];
  /** An async source's or a ReadableStream's delay per read, as latencies. */
  sourceDelay: number;
}

interface Checkpoint {
  offset: number;
  state: AsyncIOState<number> | undefined;
  committed: number;
}

const MAX_CRASHES = 4;
const MAX_INCARNATIONS = 40;
const keyOf = (input: number) => input % 3;

function later<T>(delay: number, value: T): T | Promise<T> {
  if (delay === 0) return value;
  if (delay === 1) return Promise.resolve(value);
  return new Promise((resolve) => setTimeout(() => resolve(value), delay - 2));
}

/** A call that never settles on its own: it rejects when its signal aborts. */
function hanging(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), {
      once: true,
    });
  });
}

const pick = <T>(values: T[], index: number) => values[index % values.length]!;

/** What one incarnation saw; shared with the checks. */
class Incarnation {
  /** Records accepted: restored ones, then those read from the source. */
  readonly read: number[] = [];
  /** Inputs the skip policy dropped in this incarnation. */
  readonly dropped = new Set<number>();
  /** Those of every incarnation. */
  readonly #everDropped: Set<number>;

  constructor(everDropped: Set<number>) {
    this.#everDropped = everDropped;
  }

  drop(input: number): void {
    this.dropped.add(input);
    this.#everDropped.add(input);
  }
  /** Every chunk the consumer received, committed or not. */
  readonly received: (Out | Marker)[] = [];
  /** Inputs whose last output the consumer received. */
  readonly complete = new Set<number>();
  readonly #parts = new Map<number, number>();
  /** Source offset at each barrier, and the state each barrier carried. */
  readonly offsets = new Map<number, number>();
  readonly states = new Map<number, AsyncIOState<number>>();
  /** Inputs read at the moment each barrier was produced. */
  readonly readAtBarrier = new Map<number, number[]>();
  /** The last chunk the source handed out. */
  lastDelivered: number | Marker | undefined = undefined;

  receive(chunk: unknown): Out | Marker {
    const out = outOf(chunk);
    this.received.push(out);
    if (!(out instanceof Watermark || out instanceof CheckpointBarrier)) {
      const parts = (this.#parts.get(out.in) ?? 0) + 1;
      this.#parts.set(out.in, parts);
      if (parts === out.of) this.complete.add(out.in);
    }
    return out;
  }
}

/** The records of a state, and the checks every state must pass. */
function checkState(
  s: Scenario,
  state: AsyncIOState<number>,
  where: string,
): number[] {
  assert.deepEqual(JSON.parse(JSON.stringify(state)), state, where);
  const records: number[] = [];
  let watermark = -Infinity;
  for (const entry of state.entries) {
    if (entry.kind === "watermark") {
      assert.ok(
        records.every((input) => input <= entry.timestamp),
        `${where}: a record after watermark ${entry.timestamp} in the state`,
      );
      watermark = entry.timestamp;
    } else {
      assert.ok(
        entry.input > watermark,
        `${where}: record ${entry.input} after watermark ${watermark}`,
      );
      records.push(entry.input);
    }
  }
  assert.equal(new Set(records).size, records.length, `${where}: twice`);
  const ascending = (seq: number[], what: string) =>
    assert.deepEqual(seq, [...seq].sort((a, b) => a - b), `${where}: ${what}`);
  if (s.order === "ordered") ascending(records, "input order");
  if (s.order === "key-ordered") {
    for (const key of [0, 1, 2]) {
      ascending(records.filter((i) => keyOf(i) === key), `key ${key} order`);
    }
  }
  return records;
}

/** snapshot() holds exactly the records read whose outputs are not all out. */
function checkAccounting(
  s: Scenario,
  inc: Incarnation,
  state: AsyncIOState<number>,
  where: string,
  inTransit: boolean,
): void {
  const records = checkState(s, state, where);
  const inState = new Set(records);
  for (const input of records) {
    assert.ok(inc.read.includes(input), `${where}: ${input} never read`);
    assert.ok(!inc.complete.has(input), `${where}: ${input} is out already`);
  }
  for (const input of inc.read) {
    if (inState.has(input) || inc.complete.has(input)) continue;
    // An async read that resolved reaches mapAsync some microtasks later.
    if (inTransit && input === inc.lastDelivered) continue;
    assert.ok(inc.dropped.has(input), `${where}: ${input} lost`);
  }
}

/**
 * What a stream's sink can check of snapshot(): no input whose outputs all
 * came out is in it, and nothing not read. (Deno's pipeTo hands a chunk to
 * the sink within the enqueue, so this runs amid the emission.)
 */
function checkLeft(
  s: Scenario,
  inc: Incarnation,
  state: AsyncIOState<number>,
  where: string,
): void {
  for (const input of checkState(s, state, where)) {
    assert.ok(inc.read.includes(input), `${where}: ${input} never read`);
    assert.ok(!inc.complete.has(input), `${where}: ${input} is out already`);
  }
}

/** How far the runs got, printed with EXACTLY_ONCE_COVERAGE=1. */
const COVER = {
  restored: 0,
  restoredOverCapacity: 0,
  /** A snapshot that held restored inputs not admitted yet, then restored. */
  backlogSnapshotted: 0,
  readAfterStop: 0,
  barrierStates: 0,
  /** Committed outputs from a timeout's fallback, and from onError. */
  fallbacks: 0,
  recovered: 0,
};

/** At barrier `id`: out before it + its state = read before it. */
function checkBarrier(s: Scenario, inc: Incarnation, id: number): void {
  const where = `barrier ${id}`;
  const state = inc.states.get(id)!;
  const records = checkState(s, state, where);
  if (records.length > 0) COVER.barrierStates++;
  const before = inc.readAtBarrier.get(id)!;
  const out = new Set<number>();
  for (const chunk of inc.received) {
    if (chunk instanceof Watermark || chunk instanceof CheckpointBarrier) {
      continue;
    }
    out.add(chunk.in);
  }
  for (const input of records) {
    assert.ok(before.includes(input), `${where}: ${input} read after it`);
    assert.ok(!out.has(input), `${where}: ${input} out before it and in it`);
  }
  for (const input of before) {
    if (records.includes(input)) continue;
    if (inc.complete.has(input)) continue;
    assert.ok(!out.has(input), `${where}: ${input} split by the barrier`);
    assert.ok(inc.dropped.has(input), `${where}: ${input} lost`);
  }
}

/** No record crosses a watermark in what came out. */
function checkWatermarks(inc: Incarnation, where: string): void {
  const chunks = inc.received;
  chunks.forEach((chunk, at) => {
    if (!(chunk instanceof Watermark)) return;
    chunks.forEach((other, i) => {
      if (other instanceof Watermark || other instanceof CheckpointBarrier) {
        return;
      }
      if (i < at) {
        assert.ok(other.in <= chunk.timestamp, `${where}: ${other.in} early`);
      } else {
        assert.ok(other.in > chunk.timestamp, `${where}: ${other.in} late`);
      }
    });
  });
}

function optionsFor(
  s: Scenario,
  n: number,
  inc: Incarnation,
  from: Checkpoint,
) {
  const policies = {
    fail: "fail",
    settle: "settle",
    recover: (_: unknown, input: number) => outs(input, 2, "recover"),
    asyncRecover: (_: unknown, input: number) =>
      later(2, outs(input, 2, "recover")),
    skip: (_: unknown, input: number) => inc.drop(input),
  } as const;
  const fallback = (input: number, result: ResultFuture<Out>) => {
    const outputs = outs(input, 1, "fallback");
    if (s.timeout?.handler === "sync") return result.complete(outputs);
    return (async () => {
      await later(3, 0);
      result.complete(outputs);
    })();
  };
  const timeoutHandler = s.timeout?.handler === "none"
    ? {}
    : s.form === "mapper"
    ? { onTimeout: fallback }
    : {};
  return {
    order: s.order,
    capacity: pick(s.capacities, n),
    key: keyOf,
    onError: policies[s.policy] as "fail",
    ...(s.timeout ? { timeout: s.timeout.ms, ...timeoutHandler } : {}),
    ...(s.attemptTimeout ? { attemptTimeout: s.attemptTimeout } : {}),
    ...(s.retry
      ? {
        retry: {
          ...s.retry,
          retryOnError: (e: unknown) =>
            (e as Error).message === "transient" ||
            (e as Error).name === "TimeoutError",
        },
      }
      : {}),
    ...(s.rateLimit ? { rateLimit: s.rateLimit } : {}),
    ...(s.adaptive
      ? {
        concurrency: aimd({ initial: 1, min: 1, max: pick(s.capacities, n) }),
      }
      : {}),
    ...(s.batch
      ? {
        batch: {
          maxSize: Math.min(s.batch.maxSize, pick(s.capacities, n)),
          maxWait: s.batch.maxWait,
        },
      }
      : {}),
    ...(from.state ? { restore: from.state } : {}),
    onCheckpoint: (state: AsyncIOState<number>, barrier: CheckpointBarrier) => {
      // Persisted as it would be: through JSON.
      inc.states.set(barrier.id, JSON.parse(JSON.stringify(state)));
    },
  };
}

function fnFor(s: Scenario, n: number) {
  const faulty = n < MAX_CRASHES;
  const timed = s.timeout !== null || s.attemptTimeout !== null;
  /** How the call for `input` at `attempt` ends, before its latency. */
  const fault = (input: number, attempt: number, signal: AbortSignal) => {
    if (!faulty) return undefined;
    const key = `${input}:${n}`;
    if (s.fatal.has(key)) return Promise.reject(new Error("fatal"));
    if (attempt === 1 && s.transient.has(key)) {
      return Promise.reject(new Error("transient"));
    }
    if (timed && s.hang.has(key)) return hanging(signal);
    if (timed && attempt === 1 && s.slow.has(key)) return hanging(signal);
    return undefined;
  };
  const latency = (input: number) => pick(s.latencies, input);
  const mapper = (input: number, { attempt, signal }: CallContext) =>
    fault(input, attempt, signal) ??
      later(latency(input), outs(input, 1, "call")[0]!);
  const object: AsyncFunction<number, Out> = {
    asyncInvoke(input, future) {
      const failed = fault(input, future.attempt, future.signal);
      if (failed !== undefined) {
        return void failed.catch((e) => future.completeExceptionally(e));
      }
      const outputs = outs(input, pick(s.outputs, input), "call" as Origin);
      const done = later(latency(input), outputs);
      if (Array.isArray(done)) future.complete(done);
      else void done.then((o) => future.complete(o));
    },
    ...(s.timeout !== null && s.timeout.handler !== "none"
      ? {
        timeout(input: number, result: ResultFuture<Out>) {
          const outputs = outs(input, 1, "fallback");
          if (s.timeout?.handler === "sync") return result.complete(outputs);
          return (async () => {
            await later(3, 0);
            result.complete(outputs);
          })();
        },
      }
      : {}),
  };
  if (s.batch === null) return s.form === "mapper" ? mapper : object;
  // A batch function's call fails or hangs as a whole, with its first fault.
  const batchMapper = (inputs: number[], { attempt, signal }: CallContext) => {
    for (const input of inputs) {
      const failed = fault(input, attempt, signal);
      if (failed !== undefined) return failed;
    }
    return Promise.all(
      inputs.map((input) => later(latency(input), outs(input, 1, "call")[0]!)),
    );
  };
  const batchObject: AsyncBatchFunction<number, Out> = {
    asyncInvokeBatch(inputs, futures) {
      inputs.forEach((input, i) => object.asyncInvoke(input, futures[i]!));
    },
    ...(object.timeout ? { timeout: object.timeout } : {}),
  };
  return s.form === "mapper" ? batchMapper : batchObject;
}

/** The chunks from `offset` on; records are counted as they are handed out. */
function feed(s: Scenario, inc: Incarnation, offset: number) {
  let position = offset;
  const queued: (number | Marker)[] = [];
  return (): IteratorResult<number | Marker> => {
    if (queued.length === 0) {
      if (position === s.inputs) return { done: true, value: undefined };
      const input = position++;
      queued.push(input);
      if ((input + 1) % s.watermarkEvery === 0) {
        queued.push(new Watermark(input));
      }
      if ((input + 1) % s.barrierEvery === 0) {
        const id = (input + 1) / s.barrierEvery;
        inc.offsets.set(id, input + 1); // the source records its offset
        queued.push(new CheckpointBarrier(id));
      }
    }
    return { done: false, value: queued.shift()! };
  };
}

/** A chunk reached the reader: it is read. */
function delivered(inc: Incarnation, chunk: number | Marker): void {
  inc.lastDelivered = chunk;
  if (typeof chunk === "number") inc.read.push(chunk);
  if (chunk instanceof CheckpointBarrier) {
    inc.readAtBarrier.set(chunk.id, [...inc.read]);
  }
}

function undeliver(inc: Incarnation, chunk: number | Marker): void {
  if (typeof chunk === "number") inc.read.pop();
  if (chunk instanceof CheckpointBarrier) inc.readAtBarrier.delete(chunk.id);
}

function sourceFor(s: Scenario, inc: Incarnation, offset: number) {
  const produce = feed(s, inc, offset);
  const next = () => {
    const result = produce();
    if (!result.done) delivered(inc, result.value);
    return result;
  };
  const delayed = () => {
    const delay = s.sourceDelay;
    return delay === 0 ? Promise.resolve(next()) : new Promise<
      IteratorResult<number | Marker>
    >((resolve) => setTimeout(() => resolve(next()), Math.max(0, delay - 2)));
  };
  switch (s.front) {
    case "sync":
      return {
        next,
        [Symbol.iterator]() {
          return this;
        },
      } as IterableIterator<
        number | Marker
      >;
    case "async":
      return {
        next: delayed,
        return: () => Promise.resolve({ done: true, value: undefined }),
        [Symbol.asyncIterator]() {
          return this;
        },
      } as AsyncIterableIterator<number | Marker>;
    default:
      return new ReadableStream<number | Marker>({
        async pull(controller) {
          if (s.sourceDelay > 0) await later(s.sourceDelay, 0);
          const result = produce();
          if (result.done) return controller.close();
          // Before the enqueue, which may run the whole pipe synchronously.
          delivered(inc, result.value);
          try {
            controller.enqueue(result.value);
          } catch {
            // Cancelled meanwhile: the chunk never reached the reader.
            undeliver(inc, result.value);
          }
        },
      }, { highWaterMark: 0 });
  }
}

/** One incarnation: runs until the end of input or a crash. */
async function runIncarnation(
  s: Scenario,
  n: number,
  from: Checkpoint,
  committed: Out[],
  dropped: Set<number>,
): Promise<Checkpoint | "finished"> {
  const inc = new Incarnation(dropped);
  const restored = from.state?.entries.length ?? 0;
  if (restored > 0) COVER.restored++;
  if (restored > pick(s.capacities, n)) COVER.restoredOverCapacity++;
  for (const entry of from.state?.entries ?? []) {
    if (entry.kind === "record") inc.read.push(entry.input);
  }
  const crash = new AbortController();
  const options = { ...optionsFor(s, n, inc, from), signal: crash.signal };
  const fn = fnFor(s, n);
  const crashAt = n < MAX_CRASHES ? s.crashAt[n] ?? null : null;
  const source = sourceFor(s, inc, from.offset);
  let last = from;
  let pending: Out[] = [];
  const where = () => `incarnation ${n}`;

  if (s.front === "stream") {
    const stream = new AsyncIOTransformStream<number, Out, Marker>(
      fn as (input: number) => Out,
      options,
    );
    const sink = new WritableStream<unknown>({
      write(chunk) {
        const out = inc.receive(chunk);
        checkLeft(s, inc, stream.snapshot(), `${where()}, in the sink`);
        if (out instanceof CheckpointBarrier) {
          checkBarrier(s, inc, out.id);
          committed.push(...pending); // the sink commits at the barrier
          pending = [];
          last = {
            offset: inc.offsets.get(out.id)!,
            state: inc.states.get(out.id)!,
            committed: committed.length,
          };
        } else if (!(out instanceof Watermark)) {
          pending.push(out);
          if (pending.length === crashAt) {
            if (s.crashBy === "consumer") throw new Error("crash");
            crash.abort(new Error("crash"));
          }
        }
      },
      close() {
        committed.push(...pending); // end of input is the final commit
      },
    });
    try {
      await (source as ReadableStream<number | Marker>).pipeThrough(stream)
        .pipeTo(sink);
      checkWatermarks(inc, where());
      assert.deepEqual(stream.snapshot().entries, [], "left at the end");
      return "finished";
    } catch (error) {
      if ((error as Error).name === "AssertionError") throw error;
      if (env("EXACTLY_ONCE_DEBUG")) console.log(n, error);
      checkWatermarks(inc, where());
      checkLeft(s, inc, stream.snapshot(), `${where()} after the crash`);
      committed.length = last.committed; // uncommitted output is lost
      return last;
    }
  }

  const mapped = mapAsync<number, Out, Marker>(
    source,
    fn as (input: number) => Out,
    options,
  );
  // With snapshot restores, each input's outputs commit once all are out.
  const groups = new Map<number, Out[]>();
  let handedOut = 0;
  let failed = false;
  for (;;) {
    let result: IteratorResult<Out | Marker>;
    try {
      result = await mapped.next();
    } catch {
      failed = true; // the policy "fail", or a failed handler
      break;
    }
    if (result.done) break;
    const out = inc.receive(result.value);
    if (out instanceof CheckpointBarrier) {
      checkBarrier(s, inc, out.id);
      if (s.restoreFrom === "barrier") {
        committed.push(...pending);
        pending = [];
        last = {
          offset: inc.offsets.get(out.id)!,
          state: inc.states.get(out.id)!,
          committed: committed.length,
        };
      }
    } else if (!(out instanceof Watermark)) {
      handedOut++;
      if (s.restoreFrom === "barrier") pending.push(out);
      else {
        const group = [...groups.get(out.in) ?? [], out];
        groups.set(out.in, group);
        if (group.length === out.of) committed.push(...group);
      }
      if (handedOut === crashAt) break;
    }
    const pause = pick(s.pauses, handedOut);
    if (pause === 4) {
      // Microtask by microtask, as results and reads land in between.
      for (let turn = 0; turn < 6; turn++) {
        await Promise.resolve();
        checkAccounting(
          s,
          inc,
          mapped.snapshot(),
          `${where()}, out ${handedOut}, turn ${turn}`,
          s.front !== "sync",
        );
      }
    } else if (pause > 0) await later(pause, 0);
    checkAccounting(
      s,
      inc,
      mapped.snapshot(),
      `${where()}, out ${handedOut}`,
      s.front !== "sync",
    );
  }
  const crashed = failed || handedOut === crashAt;
  if (crashed && s.crashBy === "signal") crash.abort(new Error("crash"));
  if (crashed) await mapped.return();
  // An async source's pending read may still bring an input, which joins
  // the snapshot: wait for it before the offset is read.
  const readBefore = inc.read.length;
  await later(2 + s.sourceDelay + 2, 0);
  if (inc.read.length > readBefore) COVER.readAfterStop++;
  checkWatermarks(inc, where());
  checkAccounting(s, inc, mapped.snapshot(), `${where()} at the end`, false);
  if (!crashed) {
    committed.push(...pending);
    return "finished";
  }
  if (s.restoreFrom === "barrier") {
    committed.length = last.committed;
    return last;
  }
  return {
    offset: from.offset + inc.read.length -
      (from.state?.entries.filter((e) => e.kind === "record").length ?? 0),
    state: JSON.parse(JSON.stringify(mapped.snapshot())),
    ...(restoredRecords(from) > mapped.stats.accepted
      ? void COVER.backlogSnapshotted++
      : {}),
    committed: committed.length,
  };
}

const restoredRecords = (from: Checkpoint) =>
  from.state?.entries.filter((e) => e.kind === "record").length ?? 0;

async function runScenario(
  s: Scenario,
  dropped: Set<number>,
): Promise<Out[]> {
  const committed: Out[] = [];
  let checkpoint: Checkpoint = { offset: 0, state: undefined, committed: 0 };
  for (let n = 0; n < MAX_INCARNATIONS; n++) {
    const outcome = await runIncarnation(s, n, checkpoint, committed, dropped);
    if (outcome === "finished") return committed;
    checkpoint = outcome;
  }
  throw new Error("never finished");
}

const keys = (max: number) =>
  fc.array(
    fc.tuple(fc.nat(30), fc.nat(MAX_CRASHES)).map(([i, n]) => `${i}:${n}`),
    { maxLength: max },
  ).map((k) => new Set(k));

const scenarios: fc.Arbitrary<Scenario> = fc.record({
  front: fc.constantFrom<Front>("stream", "sync", "async", "readable"),
  form: fc.constantFrom("mapper" as const, "object" as const),
  order: fc.constantFrom<OutputOrder>("ordered", "unordered", "key-ordered"),
  capacities: fc.array(fc.integer({ min: 1, max: 6 }), {
    minLength: 1,
    maxLength: 3,
  }),
  inputs: fc.integer({ min: 0, max: 30 }),
  barrierEvery: fc.integer({ min: 1, max: 8 }),
  watermarkEvery: fc.integer({ min: 1, max: 10 }),
  latencies: fc.array(fc.integer({ min: 0, max: 4 }), {
    minLength: 1,
    maxLength: 6,
  }),
  outputs: fc.array(fc.integer({ min: 1, max: 3 }), {
    minLength: 1,
    maxLength: 4,
  }),
  transient: keys(6),
  fatal: keys(3),
  hang: keys(3),
  slow: keys(4),
  timeout: fc.option(
    fc.record({
      ms: fc.constantFrom(40, 60),
      handler: fc.constantFrom(
        "none" as const,
        "sync" as const,
        "async" as const,
      ),
    }),
  ),
  attemptTimeout: fc.option(fc.constantFrom(10, 20)),
  retry: fc.option(
    fc.record({
      maxAttempts: fc.integer({ min: 2, max: 3 }),
      delay: fc.integer({ min: 0, max: 3 }),
    }),
    { freq: 3 },
  ),
  rateLimit: fc.option(
    fc.record({
      limit: fc.integer({ min: 1, max: 3 }),
      interval: fc.integer({ min: 1, max: 4 }),
    }),
  ),
  adaptive: fc.boolean(),
  batch: fc.option(
    fc.record({
      maxSize: fc.integer({ min: 1, max: 6 }),
      maxWait: fc.constantFrom(0, 2, Infinity),
    }),
    { freq: 3 },
  ),
  policy: fc.constantFrom<Policy>(
    "fail",
    "settle",
    "recover",
    "asyncRecover",
    "skip",
  ),
  crashAt: fc.array(
    fc.option(fc.integer({ min: 1, max: 12 }), { freq: 4 }),
    { minLength: 2, maxLength: MAX_CRASHES },
  ),
  crashBy: fc.constantFrom("consumer" as const, "signal" as const),
  restoreFrom: fc.constantFrom("barrier" as const, "snapshot" as const),
  pauses: fc.array(fc.integer({ min: 0, max: 4 }), {
    minLength: 1,
    maxLength: 5,
  }),
  sourceDelay: fc.integer({ min: 0, max: 3 }),
});

test("AsyncIOTransformStream() and mapAsync() give exactly-once output and exact snapshots across crashes over feature combinations", async () => {
  await fc.assert(
    fc.asyncProperty(scenarios, async (s) => {
      const dropped = new Set<number>();
      const committed = await runScenario(s, dropped);
      for (const out of committed) {
        if (out.from === "fallback") COVER.fallbacks++;
        if (out.from === "recover") COVER.recovered++;
      }
      const counts = new Map<number, Out[]>();
      for (const out of committed) {
        counts.set(out.in, [...counts.get(out.in) ?? [], out]);
      }
      for (const [input, group] of counts) {
        assert.ok(input >= 0 && input < s.inputs, `input ${input} unknown`);
        const of = group[0]!.of;
        assert.deepEqual(
          group.map((out) => `${out.from}:${out.j}/${out.of}`),
          Array.from({ length: of }, (_, j) => `${group[0]!.from}:${j}/${of}`),
          `input ${input}: its outputs once, all together`,
        );
      }
      for (let i = 0; i < s.inputs; i++) {
        if (!counts.has(i)) assert.ok(dropped.has(i), `input ${i} lost`);
      }
      const firsts = committed.filter((out) => out.j === 0).map((o) => o.in);
      const ascending = (seq: number[]) =>
        assert.deepEqual(seq, [...seq].sort((a, b) => a - b));
      if (s.order === "ordered") ascending(firsts);
      if (s.order === "key-ordered") {
        for (const key of [0, 1, 2]) {
          ascending(firsts.filter((i) => keyOf(i) === key));
        }
      }
      if (s.policy === "fail") {
        assert.ok(committed.every((out) => out.from !== "recover"));
      }
    }),
    {
      seed: Number(env("EXACTLY_ONCE_SEED") ?? 20261130),
      numRuns: Number(env("EXACTLY_ONCE_RUNS") ?? 100),
    },
  );
  if (env("EXACTLY_ONCE_COVERAGE")) console.log(COVER);
});
