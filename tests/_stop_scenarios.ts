// The stop matrix of issue 12: each way of stopping a stream, in each state,
// in each order, for both function forms. This file builds the states and
// checks the rules; the stop_by_*_test.ts files list the ways of stopping.
//
// The calls IGNORE their signal and never settle on their own: a stop that
// waits for them hangs, and the case fails on a time limit instead.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type AsyncIOOptions,
  type AsyncIOState,
  AsyncIOTransformStream,
  type CallContext,
  CheckpointBarrier,
  type ResultFuture,
  Watermark,
} from "../mod.ts";
import { type Deferred, deferred, settle } from "./_deferred.ts";
import { track, type Tracked, until, within } from "./_within.ts";

export const ORDERS = ["ordered", "unordered", "key-ordered"] as const;
export type Order = typeof ORDERS[number];
export const FORMS = ["function", "object"] as const;
export type Form = typeof FORMS[number];
export const STATES = {
  running: "calls running",
  flushing: "input ended with the flush pending",
  blocked: "a write blocked at capacity",
  backoff: "a retry backoff pending",
  rateLimited: "waiting for a rate-limit token",
  opening: "open() pending",
  checkpointing: "onCheckpoint pending",
} as const;
export type State = keyof typeof STATES;

export type Marker = Watermark | CheckpointBarrier;
export type Stream = AsyncIOTransformStream<number, number, Marker>;

/** One cell of the matrix. */
export interface Cell {
  state: State;
  order: Order;
  form: Form;
}

/**
 * Every cell. `open()` exists only in the object form, so the function form
 * has no "open() pending" state: that state runs with the object form only.
 */
export function cells(): Cell[] {
  const all: Cell[] = [];
  for (const state of Object.keys(STATES) as State[]) {
    for (const order of ORDERS) {
      for (const form of FORMS) {
        if (state === "opening" && form === "function") continue;
        all.push({ state, order, form });
      }
    }
  }
  return all;
}

/** One attempt of the user function, as the test sees it. */
export interface Attempt {
  input: number;
  attempt: number;
  signal: AbortSignal;
  /** Settled by the test before the stop (so no longer in flight). */
  settledEarly: boolean;
  resolve(value: number): void;
  reject(reason: unknown): void;
}

/** A built state, ready to be stopped. */
export interface Scenario extends Cell {
  stream: Stream;
  attempts: Attempt[];
  counts: { open: number; close: number; checkpoints: number };
  events: string[];
  openGate: Deferred<void>;
  checkpointGate: Deferred<void>;
  /** With the writer input: each write, and the close in "flushing". */
  writes: Tracked[];
  writer: WritableStreamDefaultWriter<number | Marker> | undefined;
  /** With the source input: the source piped into the stream. */
  source:
    | { cancelled: boolean; closed: boolean; reason?: unknown }
    | undefined;
  /** Chunks that reached the consumer. */
  seen: unknown[];
}

export interface BuildOptions {
  /** How inputs arrive: a writer, or a source piped with `pipeThrough`. */
  input: "writer" | "source";
  /** The signal of `src.pipeThrough(stream, { signal })`. */
  pipeSignal?: AbortSignal;
  /** `options.signal`. */
  signal?: AbortSignal;
  /** Wires the consumer before any input; may read `stream.readable`. */
  attach?: (scenario: Scenario) => void;
  /** Writes a Watermark first and waits until the consumer has it. */
  lead?: boolean;
}

const FIRST_ATTEMPT_FAILS = new Error("the first attempt fails");

/** The inputs each state writes, and how many calls start for them. */
function plan(state: State, order: Order) {
  const keyed = order === "key-ordered"; // key = input % 2
  switch (state) {
    case "running":
    case "flushing":
      return { inputs: [1, 2, 3, 4], starts: keyed ? 2 : 4, pending: 4 };
    case "blocked":
      return { inputs: [1, 2, 3], starts: 2, pending: 2 };
    case "backoff":
      return { inputs: [1, 2], starts: 2, pending: 2 };
    case "rateLimited":
      return { inputs: [1, 2], starts: 1, pending: 2 };
    case "opening":
      return { inputs: [1], starts: 0, pending: undefined };
    case "checkpointing":
      return { inputs: [1, 2], starts: 2, pending: 2 };
  }
}

/** Builds `cell`'s state and waits until the stream is in it. */
export async function buildScenario(
  cell: Cell,
  build: BuildOptions,
): Promise<Scenario> {
  const { state, order, form } = cell;
  const attempts: Attempt[] = [];
  const counts = { open: 0, close: 0, checkpoints: 0 };
  const events: string[] = [];
  const openGate = deferred();
  const checkpointGate = deferred();
  const record = (attempt: Omit<Attempt, "settledEarly">) =>
    attempts.push({ ...attempt, settledEarly: false });
  const asFunction = (input: number, { signal, attempt }: CallContext) => {
    const { promise, resolve, reject } = deferred<number>();
    record({ input, attempt, signal, resolve, reject });
    return promise;
  };
  const asObject = {
    open() {
      counts.open++;
      events.push("open");
      if (state !== "opening") return;
      return openGate.promise.then(() => void events.push("open settled"));
    },
    asyncInvoke(input: number, result: ResultFuture<number>) {
      record({
        input,
        attempt: result.attempt,
        signal: result.signal,
        resolve: (value) => result.complete([value]),
        reject: (reason) => result.completeExceptionally(reason),
      });
    },
    close() {
      counts.close++;
      events.push("close");
    },
  };
  const options: AsyncIOOptions<number, number, Marker> = {
    order,
    capacity: state === "blocked" ? 2 : 10,
    ...(order === "key-ordered" ? { key: (n: number) => n % 2 } : {}),
    ...(state === "backoff"
      ? { retry: { maxAttempts: 3, delay: 60_000 } }
      : {}),
    ...(state === "rateLimited"
      ? { rateLimit: { limit: 1, interval: 60_000 } }
      : {}),
    ...(state === "checkpointing"
      ? {
        onCheckpoint: () => {
          counts.checkpoints++;
          return checkpointGate.promise;
        },
      }
      : {}),
    ...(build.signal ? { signal: build.signal } : {}),
  };
  const stream: Stream = form === "function"
    ? new AsyncIOTransformStream(asFunction, options)
    : new AsyncIOTransformStream(asObject, options);
  const scenario: Scenario = {
    ...cell,
    stream,
    attempts,
    counts,
    events,
    openGate,
    checkpointGate,
    writes: [],
    writer: undefined,
    source: undefined,
    seen: [],
  };

  let write: (chunk: number | Marker) => void;
  let end: () => void;
  if (build.input === "writer") {
    const writer = stream.writable.getWriter();
    scenario.writer = writer;
    write = (chunk) => void scenario.writes.push(track(writer.write(chunk)));
    end = () => void scenario.writes.push(track(writer.close()));
  } else {
    const source: NonNullable<Scenario["source"]> = {
      cancelled: false,
      closed: false,
    };
    scenario.source = source;
    let controller!: ReadableStreamDefaultController<number | Marker>;
    const src = new ReadableStream<number | Marker>({
      start: (c) => void (controller = c),
      cancel: (reason) => {
        source.cancelled = true;
        source.reason = reason;
      },
    });
    src.pipeThrough(
      stream,
      build.pipeSignal ? { signal: build.pipeSignal } : {},
    );
    write = (chunk) => controller.enqueue(chunk);
    end = () => {
      source.closed = true;
      controller.close();
    };
  }
  build.attach?.(scenario);
  if (build.lead) {
    write(new Watermark(0));
    await until(() => scenario.seen.length > 0, "the leading watermark");
  }

  const { inputs, starts } = plan(state, order);
  for (const input of inputs) write(input);
  if (state === "checkpointing") write(new CheckpointBarrier(1));
  if (state === "opening") {
    await until(() => counts.open === 1, "open()");
  } else {
    await until(() => attempts.length >= starts, `${starts} calls to start`);
  }
  if (state === "checkpointing") {
    await until(() => counts.checkpoints === 1, "onCheckpoint");
  }
  if (state === "backoff") {
    const first = attempts.find((attempt) => attempt.input === 1)!;
    first.settledEarly = true;
    first.reject(FIRST_ATTEMPT_FAILS);
  }
  if (state === "flushing") end();
  await settle(5);
  assert.equal(attempts.length, starts, "calls started before the stop");
  if (state === "blocked" && build.input === "writer") {
    assert.equal(scenario.writes.at(-1)!.settled, false, "the write blocks");
  }
  const pending = plan(state, order).pending;
  if (pending !== undefined) {
    assert.deepEqual(
      stream.snapshot().entries,
      inputs.slice(0, pending).map((input) => ({ kind: "record", input })),
      "snapshot() before the stop",
    );
  }
  return scenario;
}

/** What a stop path did: the promise to wait for and the reason it gave. */
export interface Stopped {
  done: Promise<unknown>;
  /** The stop's reason, where the path carries one (checked by identity). */
  reason?: unknown;
  /**
   * When every in-flight signal must be aborted: before `stop` returns, after
   * a few macrotask turns (a pipe acts on its signal a few jobs later), or
   * once `done` settled (a `for await` loop stops only as it exits).
   */
  when: "synchronously" | "within a few turns" | "when done";
  /** How `done` must settle: with the reason, or fulfilled. */
  expect: "fulfilled" | "rejected with reason" | ((result: unknown) => void);
}

/** One way of stopping a stream. */
export interface StopPath {
  name: string;
  /** Why a state does not apply to this path, if it does not. */
  skip?: (state: State) => string | undefined;
  /** How to build the cell for this path, and how to stop it. */
  prepare: (cell: Cell) => {
    build: BuildOptions;
    stop: (scenario: Scenario) => Stopped;
  };
}

/** Builds the cell's state, stops it by `path` and checks every rule. */
export async function checkStop(path: StopPath, cell: Cell): Promise<void> {
  const { build, stop } = path.prepare(cell);
  const s = await buildScenario(cell, build);
  const { stream, attempts, counts } = s;
  const inFlight = attempts.filter((attempt) => !attempt.settledEarly);
  const before = {
    attempts: attempts.length,
    open: counts.open,
    emitted: stream.stats.emitted,
    seen: s.seen.length,
    snapshot: stream.snapshot() as AsyncIOState<number>,
  };
  const pendingWrites = s.writes.filter((write) => !write.settled);

  const stopped = stop(s);
  // Handled at once: a pipe's promise rejects while the signals are checked.
  const outcome = within(stopped.done, `the stop (${path.name})`);
  const checkSignals = (when: string) => {
    for (const { input, attempt, signal } of inFlight) {
      const call = `the signal of input ${input}, attempt ${attempt}, ${when}`;
      assert.equal(signal.aborted, true, `${call} is not aborted`);
      if ("reason" in stopped) {
        assert.equal(signal.reason, stopped.reason, `${call}: its reason`);
      }
    }
  };
  if (stopped.when === "synchronously") {
    checkSignals("right after the stop");
  } else if (stopped.when === "within a few turns") {
    for (let turn = 0; turn < 10; turn++) {
      if (inFlight.every((attempt) => attempt.signal.aborted)) break;
      await settle(0);
    }
    checkSignals("a few macrotask turns after the stop");
  }

  const result = await outcome;
  if (stopped.when === "when done") checkSignals("once the stop settled");
  if (stopped.expect === "fulfilled") {
    const reason = result.ok ? undefined : result.reason;
    assert.equal(result.ok, true, `the stop rejected: ${String(reason)}`);
  } else if (stopped.expect === "rejected with reason") {
    assert.equal(result.ok, false, "the stop's promise fulfilled");
    if (!result.ok) assert.equal(result.reason, stopped.reason);
  } else {
    stopped.expect(result);
  }
  for (const write of pendingWrites) {
    const settled = await within(write.promise, "a write or close pending");
    assert.equal(settled.ok, false, "a pending write or close fulfilled");
  }
  if (s.source !== undefined && !s.source.closed) {
    await until(() => s.source!.cancelled, "the source to be cancelled");
  }

  await settle(20);
  assert.equal(attempts.length, before.attempts, "an attempt started after");
  assert.equal(counts.open, before.open, "open() started after the stop");
  assert.equal(stream.stats.inFlight, 0, "stats.inFlight after the stop");
  assert.deepEqual(stream.snapshot(), before.snapshot, "snapshot() changed");
  if (cell.form === "object") {
    const expected = cell.state === "opening" ? 0 : 1;
    assert.equal(counts.close, expected, "close() calls after the stop");
  }

  // Late results, after the stop, and open() settling late: all ignored.
  for (const attempt of inFlight) attempt.resolve(100 + attempt.input);
  s.openGate.resolve();
  s.checkpointGate.resolve();
  await settle(20);
  assert.equal(attempts.length, before.attempts, "an attempt started late");
  assert.equal(counts.open, before.open, "open() started late");
  assert.equal(stream.stats.emitted, before.emitted, "a late result emitted");
  assert.equal(s.seen.length, before.seen, "a late result was read");
  assert.equal(stream.stats.inFlight, 0, "stats.inFlight after late results");
  assert.deepEqual(stream.snapshot(), before.snapshot, "snapshot() changed");
  if (cell.form === "object") {
    assert.equal(counts.close, 1, "close() runs exactly once");
    if (cell.state === "opening") {
      assert.deepEqual(s.events, ["open", "open settled", "close"]);
    }
  }
}

/** The test name of a cell. */
export function caseName(path: StopPath, { state, order, form }: Cell) {
  return `AsyncIOTransformStream() stops at once on ${path.name} with ${
    STATES[state]
  } (${order}, ${form} form)`;
}

/** Registers a test per path and cell, but for the states a path skips. */
export function testStopPaths(paths: readonly StopPath[]): void {
  for (const path of paths) {
    for (const cell of cells()) {
      if (path.skip?.(cell.state) !== undefined) continue;
      test(caseName(path, cell), () => checkStop(path, cell));
    }
  }
}
