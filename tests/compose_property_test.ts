// A seeded fuzzer over combinations of features, on both front ends
// (AsyncIOTransformStream, and mapAsync over an async or a sync source): order,
// capacity, fixed or adaptive concurrency, timeout with or without a
// fallback, attemptTimeout, retry (on errors and on results), rateLimit,
// batch (both forms), every onError policy, watermarks, barriers, restore.
// The calls are settled by hand, in any order, late or twice, and the
// consumer reads only when the script says so, so backpressure, capacity and
// concurrency all bite. After every step, and at every call start, it checks:
// - bounds: at most `capacity` inputs (watermarks included) accepted and not
//   emitted; at most `concurrency` calls (batch calls) in flight; no more
//   starts in any `rateLimit.interval` than its limit;
// - key-ordered: no call starts while a call of its key runs (until it
//   settles or its signal aborts);
// - accounting: snapshot() holds exactly the accepted inputs not emitted
//   (not handed out, for mapAsync), and `stats` agree with what the calls saw
//   (accepted, pending, emitted, inFlight, retries, failedAttempts, failed,
//   timedOut, outputs);
// - ordering: input order (ordered), per-key order (key-ordered), no record
//   crosses a watermark, one input's outputs stay together, first calls
//   start in input order; a timed-out input's late result never comes out,
//   and no timeout comes early;
// - liveness: once the consumer reads and the calls complete, every input
//   comes out before the input ends (unless a batch may wait for ever);
// - at the end: every input exactly once; after a stop or a failure, every
//   running call's signal aborted, no call starts, and the snapshot restored
//   into the other front end runs the script again with the same checks;
// - at each barrier: what came out before it plus its state is exactly what
//   was accepted before it;
// - no timer that src/ armed is left after the end or a stop.
// COMPOSE_SEED, COMPOSE_RUNS and COMPOSE_BIG_RUNS pick other runs;
// COMPOSE_SHRINK=1 shrinks a failure; COMPOSE_TIMEOUT (ms) allows long runs.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type AsyncIOState,
  AsyncIOTransformStream,
  CheckpointBarrier,
  type ConcurrencyLimit,
  mapAsync,
  type ResultFuture,
  Watermark,
} from "../mod.ts";
import { settle } from "./_deferred.ts";
import {
  type Action,
  bigScenario,
  type Chunk,
  env,
  type Out,
  outOf,
  outs,
  type Scenario,
  scenario,
} from "./_compose_model.ts";
import { within } from "./_within.ts";

interface Slot {
  input: number;
  done: boolean;
  future: ResultFuture<Out> | undefined;
}

interface CallRecord {
  slots: Slot[];
  signal: AbortSignal;
  /** The whole call was settled by the test. */
  settled: boolean;
  batch: boolean;
  resolve(outputs: number, unwanted: boolean): void;
  reject(error: unknown): void;
}

class StopError extends Error {}

/**
 * Ms by which a time we measure in a call may trail the engine's own reading
 * just before it (a loaded machine may preempt us in between): a check that
 * something never comes early allows this much.
 */
const SLACK = 3;

/**
 * The library's timers that are armed now: setTimeout is wrapped while a
 * scenario runs, and a timer counts as ours when src/ armed it.
 */
const armed = new Map<unknown, string>();
function trackTimers(): () => void {
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  g.setTimeout = (callback: (...args: unknown[]) => void, ms?: number) => {
    const stack = new Error().stack ?? "";
    const handle: unknown = realSet(() => {
      armed.delete(handle);
      callback();
    }, ms);
    if (/[/\\]src[/\\]_?[a-z_0-9]+\.ts/.test(stack)) armed.set(handle, stack);
    return handle;
  };
  g.clearTimeout = (handle: unknown) => {
    armed.delete(handle);
    // deno-lint-ignore no-explicit-any
    realClear(handle as any);
  };
  return () => {
    g.setTimeout = realSet;
    g.clearTimeout = realClear;
    armed.clear();
  };
}

/** Resolves with `value` after a timer. */
const later = <T>(value: T): Promise<T> =>
  new Promise((resolve) => setTimeout(() => resolve(value), 2));

/** How far the runs got, printed with COMPOSE_COVERAGE=1: a fuzzer that never fills capacity proves little. */
const COVER = {
  accepted: 0,
  ended: 0,
  outputs: 0,
  stopped: 0,
  restored: 0,
  full: 0,
  concFull: 0,
};

export async function run(
  s: Scenario,
  restore?: AsyncIOState<number>,
): Promise<void> {
  /** The restored entries, which count as offered before any write. */
  const restoredChunks: Chunk[] = (restore?.entries ?? []).map((e) =>
    e.kind === "record" ? e.input : new Watermark(e.timestamp)
  );
  const restoredRecords = restoredChunks.filter((c) =>
    typeof c === "number"
  ) as number[];
  const problems: string[] = [];
  const calls: CallRecord[] = [];
  const keyOf = (n: number) => n % s.keys;
  const capacity = s.capacity;
  const concurrency = Math.min(s.concurrency, capacity);
  /** The stream or iterator, once built: calls read its concurrency. */
  const current: {
    view?: { stats: { concurrency: number } };
  } = {};
  let stopped = false;
  let startsAfterStop = 0;
  let timeoutCalls = 0;
  let policyCalls = 0;
  let attemptStarts = 0; // per input
  let retryStarts = 0; // per input, attempt > 1
  const finishedInputs = new Set<number>(); // left for good without outputs
  const slotActive = (slot: Slot, call: CallRecord) =>
    !slot.done && !call.settled && !call.signal.aborted;
  const callActive = (call: CallRecord) =>
    call.slots.some((slot) => slotActive(slot, call));

  /** Checks at a call's start, before it is recorded. */
  const startTimes: number[] = [];
  let lastFirst = -1;
  /** Per input: when its first call started, and whether it timed out. */
  const firstStart = new Map<number, number>();
  const timedOutInputs = new Set<number>();
  /** Attempts that failed: thrown, rejected, or out of attemptTimeout. */
  let failedAttempts = 0;
  const fail = (message: string): never => {
    throw new Error(message);
  };
  const starting = (inputs: number[], attempts: number[]) => {
    if (stopped) startsAfterStop++;
    const now = performance.now();
    if (s.rateLimit !== null) {
      // With SLACK for the lag between the engine's clock reading and ours.
      const { limit, interval } = s.rateLimit;
      const recent = startTimes.filter((t) =>
        now - t < interval - SLACK
      ).length;
      if (recent >= limit) {
        problems.push(
          `call of ${inputs} starts after ${recent} starts in ${interval} ms`,
        );
      }
    }
    startTimes.push(now);
    for (const [i, input] of inputs.entries()) {
      if (!firstStart.has(input)) firstStart.set(input, now);
      // First calls start in input order, restored inputs first (retries
      // join at the back; key-ordered inputs wait for their key).
      if (attempts[i] !== 1 || s.order === "key-ordered") continue;
      const position = offered.indexOf(input);
      if (position < lastFirst) {
        problems.push(`first call of ${input} after a later input's`);
      }
      lastFirst = position;
    }
    attemptStarts += inputs.length;
    retryStarts += attempts.filter((a) => a > 1).length;
    const active = calls.filter(callActive);
    const allowed = current.view?.stats.concurrency ?? concurrency;
    if (active.length + 1 > allowed) {
      problems.push(
        `call of ${inputs} starts with ${active.length} in flight, concurrency ${allowed}`,
      );
    }
    if (s.order === "key-ordered") {
      for (const input of inputs) {
        for (const call of active) {
          for (const slot of call.slots) {
            if (
              slotActive(slot, call) && slot.input !== input &&
              keyOf(slot.input) === keyOf(input)
            ) {
              problems.push(
                `call of ${input} starts while ${slot.input} (same key) runs`,
              );
            }
          }
        }
      }
    }
  };
  /** Records a pending call; its attempt timeout must not come early. */
  const record = (call: CallRecord) => {
    calls.push(call);
    const started = performance.now();
    call.signal.addEventListener("abort", () => {
      const reason = call.signal.reason as { message?: string } | undefined;
      if (!String(reason?.message).includes("attempt timed out")) return;
      failedAttempts++;
      const elapsed = performance.now() - started;
      if (!(elapsed >= s.attemptTimeout! - SLACK)) {
        problems.push(`an attempt timed out after ${elapsed} ms`);
      }
    });
  };
  const mode = (input: number, attempt: number) =>
    s.sync[(input * 7 + attempt) % s.sync.length]!;

  const fn = (input: number, { signal, attempt }: {
    signal: AbortSignal;
    attempt: number;
  }) => {
    starting([input], [attempt]);
    const m = mode(input, attempt);
    if (m === "value") return outs(input, 1, "call")[0];
    if (m === "throw") failedAttempts++, fail(`sync failure of ${input}`);
    return new Promise<Out>((resolve, reject) => {
      const call: CallRecord = {
        slots: [{ input, done: false, future: undefined }],
        signal,
        settled: false,
        batch: false,
        resolve: (_, unwanted) => resolve(outs(input, 1, "call", unwanted)[0]!),
        reject,
      };
      record(call);
    });
  };
  const object = {
    asyncInvoke(input: number, future: ResultFuture<Out>) {
      starting([input], [future.attempt]);
      const m = mode(input, future.attempt);
      if (m === "value") return future.complete(outs(input, 1, "call"));
      if (m === "throw") failedAttempts++, fail(`sync failure of ${input}`);
      record({
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
    starting(inputs, inputs.map(() => attempt));
    const m = mode(inputs[0]!, attempt);
    if (m === "value") return inputs.map((i) => outs(i, 1, "call")[0]!);
    if (m === "throw") throw new Error(`sync failure of ${inputs}`);
    return new Promise<Out[]>((resolve, reject) => {
      record({
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
      starting(inputs, futures.map((f) => f.attempt));
      const m = mode(inputs[0]!, futures[0]!.attempt);
      if (m === "value") {
        inputs.forEach((i, k) => futures[k]!.complete(outs(i, 1, "call")));
        return;
      }
      if (m === "throw") throw new Error(`sync failure of ${inputs}`);
      record({
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

  const checkpoints = new Map<number, number[]>();
  const acceptedBefore = new Map<number, number[]>();
  const controller = new AbortController();
  const limit: ConcurrencyLimit = { limit: concurrency, update() {} };
  const recover = (error: unknown, input: number) => {
    policyCalls++;
    if (error instanceof StopError) problems.push("the policy saw the stop");
    if (s.policy === "skip") {
      finishedInputs.add(input);
      return undefined;
    }
    if (s.policy === "asyncRecover") {
      return s.slowHandlers
        ? later(outs(input, 1, "recover"))
        : Promise.resolve(outs(input, 1, "recover"));
    }
    return outs(input, 1, "recover");
  };
  const options = {
    order: s.order,
    capacity,
    concurrency: s.adaptive ? limit : concurrency,
    key: keyOf,
    signal: controller.signal,
    ...(s.timeout === null ? {} : {
      timeout: s.timeout,
      onTimeout: (input: number, result: ResultFuture<Out>) => {
        timeoutCalls++;
        timedOutInputs.add(input);
        // The budget runs from the first call, never from the acceptance.
        const started = firstStart.get(input);
        const elapsed = performance.now() - (started ?? Infinity);
        if (!(elapsed >= s.timeout! - SLACK)) {
          problems.push(`${input} timed out ${elapsed} ms after its call`);
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
      checkpoints.set(
        barrier.id,
        state.entries.flatMap((e) => e.kind === "record" ? [e.input] : []),
      );
      // A slow checkpoint holds the input back until it settles.
      return s.slowHandlers ? later(undefined) : undefined;
    },
  };
  const fnOf = s.batch === null
    ? (s.form === "function" ? fn : object)
    : (s.form === "function" ? batchFn : batchObject);

  // The input side, and what came out, as the consumer saw it.
  const got: unknown[] = [];
  let gotError: unknown = undefined;
  let ended = false;
  let nextInput = restore === undefined ? 0 : 1000;
  let barrierId = restore === undefined ? 0 : 1000;
  /** Chunks offered, in order. */
  const offered: Chunk[] = [...restoredChunks];
  let reads: Promise<void> = Promise.resolve();
  /** Reads asked for and not answered yet. */
  let outstanding = 0;
  /** Keeps a few reads waiting, as a consumer that keeps up would. */
  const keepReading = () => {
    while (outstanding < 4) read();
  };
  let view: {
    stats: {
      accepted: number;
      pending: number;
      inFlight: number;
      emitted: number;
      concurrency: number;
      retries: number;
      timedOut: number;
      failed: number;
    };
    snapshot(): AsyncIOState<number>;
    setConcurrency(n: number): void;
  };
  let write: (chunk: Chunk) => void;
  let read!: () => void;
  /** Asks for the next chunk at once, beside any read already waiting. */
  let readNow!: () => void;
  /** Sets read() and readNow() over a front end's reader.read() or next(). */
  const readFrom = (
    pull: () => Promise<{ done?: boolean; value?: unknown }>,
  ) => {
    const took = (r: { done?: boolean; value?: unknown }) => {
      if (r.done) ended = true;
      else got.push(r.value);
    };
    const failed = (error: unknown) => {
      ended = true;
      gotError = error;
    };
    read = () => {
      outstanding++;
      reads = reads.then(() => ended ? undefined : pull().then(took, failed))
        .finally(() => outstanding--);
    };
    readNow = () => {
      outstanding++;
      reads = Promise.all([reads, pull().then(took, failed)])
        .then(() => {}).finally(() => outstanding--);
    };
  };
  let stop: (how: "cancel" | "abort" | "signal") => void;
  let end: () => Promise<void>;
  /** Records the engine holds or emitted: read from the source or written. */
  let acceptedRecords: () => number[];

  // deno-lint-ignore no-explicit-any
  const anyOptions = options as any;
  if (s.front === "stream") {
    // deno-lint-ignore no-explicit-any
    const Stream = AsyncIOTransformStream as any;
    const stream = new Stream(fnOf, anyOptions) as AsyncIOTransformStream<
      number,
      Out,
      Watermark | CheckpointBarrier
    >;
    view = stream as unknown as typeof view;
    const writer = stream.writable.getWriter();
    const reader = stream.readable.getReader();
    let writing: Promise<void> = Promise.resolve();
    write = (chunk) => {
      offered.push(chunk);
      writing = writing.then(() => writer.write(chunk)).catch(() => {});
    };
    readFrom(() => reader.read());
    stop = (how) => {
      const reason = new StopError(`stop by ${how}`);
      if (how === "cancel") void reader.cancel(reason).catch(() => {});
      else if (how === "abort") void writer.abort(reason).catch(() => {});
      else controller.abort(reason);
    };
    end = () => writing.then(() => writer.close()).catch(() => {});
    acceptedRecords = () => {
      const records = offered.filter((c) => typeof c === "number") as number[];
      return records.slice(0, stream.stats.accepted);
    };
  } else {
    // A source that hands out what the script wrote, when it is asked.
    const queued: Chunk[] = [];
    const waiting: ((r: IteratorResult<Chunk>) => void)[] = [];
    let sourceEnded = false;
    const delivered: Chunk[] = [];
    const deliver = () => {
      while (waiting.length > 0 && (queued.length > 0 || sourceEnded)) {
        const resolve = waiting.shift()!;
        if (queued.length === 0) {
          resolve({ done: true, value: undefined });
          continue;
        }
        const value = queued.shift()!;
        delivered.push(value);
        resolve({ done: false, value });
      }
    };
    const source: AsyncIterableIterator<Chunk> = {
      [Symbol.asyncIterator]() {
        return this;
      },
      next() {
        return new Promise((resolve) => {
          waiting.push(resolve);
          deliver();
        });
      },
      return() {
        sourceEnded = true;
        deliver();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
    // Every chunk is queued before the first read: the input then ends once
    // they are read.
    const syncIterable: Iterable<Chunk> = {
      [Symbol.iterator]: () => ({
        next(): IteratorResult<Chunk> {
          if (queued.length === 0) return { done: true, value: undefined };
          const value = queued.shift()!;
          delivered.push(value);
          return { done: false, value };
        },
        return(): IteratorResult<Chunk> {
          return { done: true, value: undefined };
        },
      }),
    };
    // deno-lint-ignore no-explicit-any
    const iterator = (mapAsync as any)(
      s.syncSource ? syncIterable : source,
      fnOf,
      anyOptions,
    );
    view = iterator;
    write = (chunk) => {
      offered.push(chunk);
      queued.push(chunk);
      deliver();
    };
    readFrom(() => iterator.next());
    stop = (how) => {
      const reason = new StopError(`stop by ${how}`);
      if (how === "cancel") void iterator.return();
      else if (how === "abort") void iterator.throw(reason).catch(() => {});
      else controller.abort(reason);
    };
    end = async () => {
      sourceEnded = true;
      deliver();
      await reads;
    };
    acceptedRecords = () => {
      const read = delivered.filter((c) => typeof c === "number") as number[];
      const admitted = iterator.stats.accepted - read.length;
      return [...restoredRecords.slice(0, admitted), ...read];
    };
  }
  current.view = view;
  const barrierAt = new Map<number, number>(); // id -> records accepted then

  /** Inputs whose every output the consumer got, and chunk order checks. */
  const analyse = (where: string) => {
    const complete = new Set<number>();
    const partial = new Map<number, number>();
    let open: Out | undefined;
    const seen: number[] = [];
    for (const chunk of got) {
      const o = outOf(chunk);
      if (o instanceof CheckpointBarrier) {
        assert.ok(open === undefined, `${where}: barrier splits an input`);
        const before = acceptedBefore.get(o.id);
        const state = checkpoints.get(o.id);
        if (before !== undefined && state !== undefined) {
          const sorted = [...seen, ...state].toSorted((a, b) => a - b);
          const expected = before.filter((n) =>
            seen.includes(n) || state.includes(n) ||
            !(finishedInputs.has(n) || zeroOutputs.has(n))
          ).toSorted((a, b) => a - b);
          assert.deepEqual(
            sorted.filter((n, i) => sorted.indexOf(n) === i),
            expected,
            `${where}: barrier ${o.id}: emitted ${seen}, state ${state}`,
          );
          assert.equal(
            sorted.length,
            new Set(sorted).size,
            `${where}: barrier ${o.id}: an input both emitted and in its state`,
          );
        }
        continue;
      }
      if (o instanceof Watermark) {
        assert.ok(open === undefined, `${where}: watermark splits an input`);
        continue;
      }
      if (open !== undefined) {
        assert.equal(o.in, open.in, `${where}: outputs of ${open.in} split`);
        assert.equal(o.j, open.j + 1, `${where}: outputs of ${o.in} in order`);
      } else {
        assert.equal(o.j, 0, `${where}: outputs of ${o.in} start at 0`);
        assert.ok(!complete.has(o.in), `${where}: ${o.in} emitted twice`);
        seen.push(o.in);
      }
      assert.ok(
        !(o.from === "call" && timedOutInputs.has(o.in)),
        `${where}: ${o.in} timed out, yet its call's result came out`,
      );
      if (o.j + 1 === o.of) {
        complete.add(o.in);
        partial.delete(o.in);
        open = undefined;
      } else {
        partial.set(o.in, o.j + 1);
        open = o;
      }
    }
    // Order: positions in the offered sequence.
    const emitted = got.map(outOf).filter((o) =>
      !(o instanceof CheckpointBarrier)
    ) as (Out | Watermark)[];
    const posOf = (o: Out | Watermark) =>
      o instanceof Watermark
        ? offered.findIndex((c) =>
          c instanceof Watermark && c.timestamp === o.timestamp
        )
        : offered.indexOf(o.in);
    let lastWatermark = -1;
    const lastOfKey = new Map<number, number>();
    let last = -1;
    for (const o of emitted) {
      const p = posOf(o);
      if (s.order === "ordered") {
        assert.ok(p >= last, `${where}: ${JSON.stringify(o)} out of order`);
        last = p;
      }
      if (o instanceof Watermark) {
        // Every record before it was emitted before it (or dropped).
        for (let i = 0; i < p; i++) {
          const c = offered[i];
          if (typeof c !== "number") continue;
          if (finishedInputs.has(c) || zeroOutputs.has(c)) continue;
          assert.ok(
            complete.has(c) &&
              emitted.findIndex((e) =>
                  !(e instanceof Watermark) && e.in === c
                ) <
                emitted.indexOf(o),
            `${where}: ${c} not out before watermark ${o.timestamp}`,
          );
        }
        lastWatermark = p;
      } else {
        assert.ok(
          p > lastWatermark,
          `${where}: ${o.in} overtook a watermark`,
        );
        if (s.order === "key-ordered" && o.j === 0) {
          const k = keyOf(o.in);
          assert.ok(
            (lastOfKey.get(k) ?? -1) < p,
            `${where}: ${o.in} out of order in its key`,
          );
          lastOfKey.set(k, p);
        }
      }
    }
    return { complete, partial };
  };

  const check = (where: string) => {
    assert.deepEqual(problems, [], where);
    const stats = view.stats;
    const snapshot = view.snapshot();
    const records = snapshot.entries.flatMap((e) =>
      e.kind === "record" ? [e.input] : []
    );
    if (snapshot.entries.length === capacity) COVER.full++;
    if (
      calls.filter(callActive).length === concurrency && concurrency < capacity
    ) COVER.concFull++;
    // Restored entries not admitted yet count in snapshots, not in stats.
    const backlog = Math.max(0, restoredRecords.length - stats.accepted);
    const restoring = backlog > 0 ||
      (restore !== undefined && stats.accepted === restoredRecords.length);
    if (!stopped && !restoring) {
      assert.ok(
        snapshot.entries.length <= capacity,
        `${where}: ${snapshot.entries.length} entries over capacity ${capacity}`,
      );
    }
    assert.equal(
      records.length,
      stats.pending + backlog,
      `${where}: snapshot vs pending`,
    );
    assert.equal(stats.pending, stats.accepted - stats.emitted, where);
    assert.ok(stats.inFlight >= 0, `${where}: inFlight ${stats.inFlight}`);
    const accepted = acceptedRecords();
    assert.equal(stats.accepted, accepted.length, `${where}: accepted`);
    const { complete } = analyse(where);
    assert.equal(new Set(records).size, records.length, `${where}: dup`);
    for (const n of records) {
      assert.ok(
        accepted.includes(n) || restoredRecords.includes(n),
        `${where}: ${n} in snapshot`,
      );
      assert.ok(!complete.has(n), `${where}: ${n} both out and in snapshot`);
    }
    if (s.front === "mapAsync") {
      // Handed out, in the snapshot, or finished with nothing to hand out.
      for (const n of accepted) {
        if (complete.has(n) || records.includes(n)) continue;
        assert.ok(
          finishedInputs.has(n) || zeroOutputs.has(n),
          `${where}: ${n} neither handed out nor in snapshot`,
        );
      }
      assert.equal(
        stats.emitted,
        accepted.length - records.length + backlog,
        `${where}: emitted`,
      );
    }
    if (s.timeout !== null) {
      // Under "fail", the first of the elements due together fails the
      // stream: the others timed out too, but meet no handler.
      if (s.policy === "fail" && !s.fallback) {
        assert.ok(stats.timedOut >= timeoutCalls, `${where}: timedOut`);
      } else {
        assert.equal(stats.timedOut, timeoutCalls, `${where}: timedOut`);
      }
    }
    if (s.batch === null) {
      assert.equal(stats.retries, retryStarts, `${where}: retries`);
      assert.equal(
        (stats as unknown as { failedAttempts: number }).failedAttempts,
        failedAttempts,
        `${where}: failedAttempts`,
      );
      if (!stopped) {
        const active = calls.filter(callActive).length;
        assert.equal(stats.inFlight, active, `${where}: inFlight`);
      }
    }
    if (s.policy !== "fail" && s.policy !== "settle") {
      assert.equal(stats.failed, policyCalls, `${where}: failed`);
    }
  };
  const zeroOutputs = new Set<number>();

  const settleCall = (call: CallRecord, a: Action) => {
    if (a.kind === "reject") {
      call.settled = true;
      failedAttempts++;
      call.reject(new Error(`failure of ${call.slots.map((x) => x.input)}`));
    } else if (a.kind === "resolve") {
      const n = s.form === "object" ? a.outputs : 1;
      if (n === 0) call.slots.forEach((x) => zeroOutputs.add(x.input));
      call.settled = true;
      call.resolve(n, a.unwanted && s.retry?.onResult === true);
    }
  };

  const chunkOf = (a: Action): Chunk | undefined => {
    if (a.kind === "write") return nextInput++;
    if (a.kind === "watermark") return new Watermark(barrierId++);
    if (a.kind !== "barrier") return undefined;
    const id = barrierId++;
    barrierAt.set(id, offered.length);
    return new CheckpointBarrier(id);
  };
  const syncSource = s.front === "mapAsync" && s.syncSource;
  if (syncSource) {
    for (const a of s.actions) {
      const chunk = chunkOf(a);
      if (chunk !== undefined) write(chunk);
      if (a.kind === "burst") {
        for (let k = 0; k < a.n; k++) write(nextInput++);
      }
    }
  }
  for (const [i, a] of s.actions.entries()) {
    const where = `step ${i} ${JSON.stringify(a)}`;
    if (a.kind === "write" || a.kind === "watermark" || a.kind === "barrier") {
      if (!syncSource) write(chunkOf(a)!);
    } else if (a.kind === "burst") {
      for (let k = 0; k < a.n && !syncSource; k++) write(nextInput++);
    } else if (a.kind === "readMany") {
      // Reads that wait side by side: results go to them in order.
      for (let k = 0; k < a.n; k++) readNow();
    } else if (a.kind === "resolveAll") {
      for (const call of calls.filter(callActive)) {
        settleCall(call, {
          kind: "resolve",
          pick: 0,
          outputs: 1,
          unwanted: false,
        });
      }
    } else if (a.kind === "read") {
      read();
    } else if (a.kind === "resolve" || a.kind === "reject") {
      const open = calls.filter(callActive);
      const call = open[a.pick % Math.max(1, open.length)];
      if (call !== undefined) settleCall(call, a);
    } else if (a.kind === "late") {
      // Must be ignored: the first completion won, or the call was let go.
      const over = calls.filter((c) =>
        a.again ? c.settled : !c.settled && !callActive(c)
      );
      const call = over[a.pick % Math.max(1, over.length)];
      if (call !== undefined) {
        call.settled = true;
        if (a.reject) call.reject(new Error("late failure"));
        else call.resolve(2, false);
      }
    } else if (a.kind === "resolveOne") {
      // One input of an object-form batch call completes on its own.
      const open = calls.filter((c) => c.batch && callActive(c));
      const call = open[a.pick % Math.max(1, open.length)];
      const slot = call?.slots.find((x) => slotActive(x, call!) && x.future);
      if (slot !== undefined) {
        slot.done = true;
        if (a.outputs === 0) zeroOutputs.add(slot.input);
        slot.future!.complete(outs(slot.input, a.outputs, "call"));
      }
    } else if (a.kind === "wait") {
      await settle(a.ms);
    } else if (a.kind === "setConcurrency") {
      view.setConcurrency(Math.min(a.n, capacity));
    } else {
      const running = calls.filter(callActive);
      stopped = true;
      stop(a.how);
      for (const call of running) {
        assert.ok(call.signal.aborted, `${where}: a call not aborted`);
      }
    }
    await settle(0);
    // Barriers: what was accepted before each, once it went in.
    for (const [id, at] of barrierAt) {
      if (acceptedBefore.has(id) || !checkpoints.has(id)) continue;
      acceptedBefore.set(
        id,
        (offered.slice(0, at).filter((c) => typeof c === "number") as number[])
          .filter((n) => acceptedRecords().includes(n)),
      );
    }
    if (gotError !== undefined || stopped) {
      stopped = true;
      break;
    }
    check(where);
  }

  const stalls = s.batch === null || s.batch.maxWait !== Infinity;
  if (!stopped && stalls && gotError === undefined) {
    // Liveness before the end of input: once the consumer reads and every
    // call completes, every input comes out (a batch closes by maxWait).
    const offeredRecords = offered.filter((c) => typeof c === "number");
    for (let round = 0; round < 300; round++) {
      const stats = view.stats;
      if (
        stats.pending === 0 &&
        acceptedRecords().length === offeredRecords.length
      ) break;
      keepReading();
      await settle(round < 5 ? 0 : 1);
      for (const call of calls) {
        if (callActive(call)) {
          settleCall(call, {
            kind: "resolve",
            pick: 0,
            outputs: 1,
            unwanted: false,
          });
        }
      }
      if (gotError !== undefined) break;
    }
    if (gotError === undefined && !ended) {
      assert.equal(view.stats.pending, 0, "pending before the end of input");
      assert.equal(
        acceptedRecords().length,
        offeredRecords.length,
        "accepted before the end of input",
      );
    }
  }
  if (!stopped) {
    // End the input; read and settle everything until the end.
    const closing = end();
    for (let round = 0; round < 300 && !ended; round++) {
      keepReading();
      await settle(round < 5 ? 0 : 1);
      for (const call of calls) {
        if (callActive(call)) {
          settleCall(call, {
            kind: "resolve",
            pick: 0,
            outputs: 1,
            unwanted: false,
          });
        }
      }
      for (const [id, at] of barrierAt) {
        if (acceptedBefore.has(id) || !checkpoints.has(id)) continue;
        acceptedBefore.set(
          id,
          (offered.slice(0, at).filter((c) =>
            typeof c === "number"
          ) as number[])
            .filter((n) => acceptedRecords().includes(n)),
        );
      }
      if (gotError !== undefined) break;
    }
    await within(reads, "the reads");
    await within(closing, "the end");
    if (gotError === undefined) {
      assert.ok(ended, "the output never ended");
      check("at the end");
      const { complete } = analyse("at the end");
      for (const n of acceptedRecords()) {
        assert.ok(
          complete.has(n) || finishedInputs.has(n) || zeroOutputs.has(n),
          `at the end: ${n} never emitted`,
        );
      }
      assert.equal(view.snapshot().entries.length, 0, "left in the snapshot");
      await settle(0);
      assert.deepEqual([...armed.values()], [], "timers armed after the end");
      assert.equal(view.stats.inFlight, 0, "in flight at the end");
      assert.equal(
        (view.stats as unknown as { outputs: number }).outputs,
        got.filter((c) =>
          !(c instanceof Watermark || c instanceof CheckpointBarrier)
        ).length,
        "stats.outputs at the end",
      );
      COVER.ended++;
      COVER.outputs += got.length;
      COVER.accepted += acceptedRecords().length;
      return;
    }
  }
  // Stopped or failed: no call starts afterwards, and the snapshot, restored
  // into a fresh stream, gives every remaining input exactly once.
  await settle(5);
  await within(reads, "the reads");
  assert.equal(startsAfterStop, 0, "calls started after the stop");
  assert.equal(view.stats.inFlight, 0, "in flight after the stop");
  assert.deepEqual([...armed.values()], [], "timers armed after the stop");
  const state = view.snapshot();
  const { complete } = analyse("after the stop");
  const records = state.entries.flatMap((e) =>
    e.kind === "record" ? [e.input] : []
  );
  for (const n of acceptedRecords()) {
    assert.ok(!(complete.has(n) && records.includes(n)), `${n} out and kept`);
    if (s.front === "stream") continue; // emitted, unread and dropped
    assert.ok(
      complete.has(n) !== records.includes(n) ||
        (!complete.has(n) && (finishedInputs.has(n) || zeroOutputs.has(n))),
      `after the stop: ${n} in snapshot ${records.includes(n)}, out ${
        complete.has(n)
      }`,
    );
  }
  COVER.stopped++;
  if (records.length > 0) COVER.restored++;
  if (restore === undefined && records.length > 0) {
    // The same script again, from the snapshot: restored inputs first, into
    // a smaller capacity than the state may hold.
    return await run({
      ...s,
      front: s.front === "stream" ? "mapAsync" : "stream",
      capacity: Math.max(1, s.capacity - 2),
    }, state);
  }
  const restored = mapAsync<number, number, Watermark>(
    [],
    (n: number) => n,
    { order: s.order, capacity, key: keyOf, restore: state },
  );
  const again: (number | Watermark)[] = [];
  for await (const chunk of restored) again.push(chunk);
  assert.deepEqual(
    again.filter((c) => typeof c === "number").toSorted((a, b) => a - b),
    records.toSorted((a, b) => a - b),
    "restored outputs",
  );
  if (s.order === "ordered") {
    assert.deepEqual(
      again.map((c) => typeof c === "number" ? c : `w${c.timestamp}`),
      state.entries.map((e) =>
        e.kind === "record" ? e.input : `w${e.timestamp}`
      ),
    );
  }
}

test(
  "AsyncIOTransformStream() and mapAsync() keep order, bounds and exactly-once accounting over random combinations of features at scale",
  { timeout: Number(env("COMPOSE_TIMEOUT") ?? 120_000) },
  async () => {
    await fc.assert(
      fc.asyncProperty(bigScenario, async (s) => {
        const untrack = trackTimers();
        try {
          await run(s);
        } finally {
          untrack();
        }
      }),
      {
        seed: Number(env("COMPOSE_SEED") ?? 20261130),
        numRuns: Number(env("COMPOSE_BIG_RUNS") ?? 20),
        endOnFailure: env("COMPOSE_SHRINK") === undefined,
      },
    );
  },
);

test(
  "AsyncIOTransformStream() and mapAsync() keep order, bounds and exactly-once accounting over random combinations of features",
  { timeout: Number(env("COMPOSE_TIMEOUT") ?? 120_000) },
  async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const untrack = trackTimers();
        try {
          await run(s);
        } finally {
          untrack();
        }
      }),
      {
        seed: Number(env("COMPOSE_SEED") ?? 20261130),
        numRuns: Number(env("COMPOSE_RUNS") ?? 150),
        endOnFailure: env("COMPOSE_SHRINK") === undefined,
      },
    );
    if (env("COMPOSE_COVERAGE")) console.log(COVER);
  },
);
