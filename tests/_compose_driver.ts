// The compose fuzzer's driver (compose_property_test.ts): runs a scenario's
// script on either front end. The script writes and reads when it says so,
// settles the recorded calls by hand, and stops the run; the test checks what
// the driver exposes after every step.
import {
  type AsyncIOState,
  CheckpointBarrier,
  mapAsync,
  Watermark,
} from "../mod.ts";
import {
  callActive,
  CallLog,
  type CallRecord,
  optionsOf,
  slotActive,
  StopError,
  userCode,
} from "./_compose_calls.ts";
import {
  type FrontEnd,
  mapAsyncFront,
  type Pulled,
  type Stop,
  streamFront,
  type View,
} from "./_compose_front_ends.ts";
import type { Action, Chunk, Scenario } from "./_compose_model.ts";
import { outs } from "./_compose_model.ts";

/**
 * The library's timers that are armed now: setTimeout is wrapped while a
 * scenario runs, and a timer counts as ours when src/ armed it.
 */
export const armed = new Map<unknown, string>();
export function trackTimers(): () => void {
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

/** One run of a scenario: its front end, its calls, and what came out. */
export class ComposeRun {
  readonly s: Scenario;
  readonly restore: AsyncIOState<number> | undefined;
  /** The restored records, which count as offered before any write. */
  readonly restoredRecords: number[];
  readonly capacity: number;
  readonly concurrency: number;
  readonly log: CallLog;
  /** Chunks offered, in order. */
  readonly offered: Chunk[];
  /** What came out, as the consumer saw it. */
  readonly got: unknown[] = [];
  gotError: unknown = undefined;
  /** How the script stopped the run, if it did. */
  stoppedBy: Stop | undefined = undefined;
  ended = false;
  reads: Promise<void> = Promise.resolve();
  readonly view: View;
  /** Per barrier id: the records accepted before it, once it went in. */
  readonly acceptedBefore = new Map<number, number[]>();
  /** Reads asked for and not answered yet. */
  #outstanding = 0;
  readonly #front: FrontEnd;
  /** Per barrier id: how many chunks were offered before it. */
  readonly #barrierAt = new Map<number, number>();
  #nextInput: number;
  #barrierId: number;

  constructor(s: Scenario, restore?: AsyncIOState<number>) {
    this.s = s;
    this.restore = restore;
    const restoredChunks: Chunk[] = (restore?.entries ?? []).map((e) =>
      e.kind === "record" ? e.input : new Watermark(e.timestamp)
    );
    this.restoredRecords = restoredChunks.filter((c) =>
      typeof c === "number"
    ) as number[];
    this.capacity = s.capacity;
    this.concurrency = Math.min(s.concurrency, this.capacity);
    this.offered = [...restoredChunks];
    this.log = new CallLog(s, this.concurrency, this.offered);
    this.#nextInput = restore === undefined ? 0 : 1000;
    this.#barrierId = restore === undefined ? 0 : 1000;
    const controller = new AbortController();
    const code = userCode(s, this.log);
    const options = optionsOf(
      s,
      this.log,
      { capacity: this.capacity, concurrency: this.concurrency },
      controller.signal,
      restore,
    );
    this.#front = s.front === "stream"
      ? streamFront(code, options, this.offered, controller)
      : mapAsyncFront(
        s.syncSource,
        code,
        options,
        this.offered,
        controller,
        this.restoredRecords,
        () => this.reads,
      );
    this.view = this.#front.view;
    this.log.view = this.view;
  }

  get stopped(): boolean {
    return this.log.stopped;
  }

  /** Records the engine holds or emitted: read from the source or written. */
  acceptedRecords(): number[] {
    return this.#front.acceptedRecords();
  }

  /** Asks for the next chunk once the reads asked for before are answered. */
  read(): void {
    this.#outstanding++;
    const next = () => this.ended ? undefined : this.#pull();
    this.reads = this.reads.then(next).finally(() => this.#outstanding--);
  }

  /** Asks for the next chunk at once, beside any read already waiting. */
  readNow(): void {
    this.#outstanding++;
    this.reads = Promise.all([this.reads, this.#pull()])
      .then(() => {}).finally(() => this.#outstanding--);
  }

  #pull(): Promise<void> {
    return this.#front.pull().then(this.#took, this.#failed);
  }

  /** Keeps a few reads waiting, as a consumer that keeps up would. */
  keepReading(): void {
    while (this.#outstanding < 4) this.read();
  }

  #took = (r: Pulled) => {
    if (r.done) this.ended = true;
    else this.got.push(r.value);
  };

  #failed = (error: unknown) => {
    this.ended = true;
    this.gotError = error;
  };

  /** A mapAsync over a synchronous source gets every chunk before it starts. */
  get #writesAhead(): boolean {
    return this.s.front === "mapAsync" && this.s.syncSource;
  }

  /** Queues what the whole script writes, for a synchronous source. */
  writeAhead(): void {
    if (!this.#writesAhead) return;
    for (const a of this.s.actions) {
      const chunk = this.#chunkOf(a);
      if (chunk !== undefined) this.#front.write(chunk);
      if (a.kind === "burst") {
        for (let k = 0; k < a.n; k++) this.#front.write(this.#nextInput++);
      }
    }
  }

  #chunkOf(a: Action): Chunk | undefined {
    if (a.kind === "write") return this.#nextInput++;
    if (a.kind === "watermark") return new Watermark(this.#barrierId++);
    if (a.kind !== "barrier") return undefined;
    const id = this.#barrierId++;
    this.#barrierAt.set(id, this.offered.length);
    return new CheckpointBarrier(id);
  }

  /** Performs a step of the script that takes no time and stops nothing. */
  perform(a: Exclude<Action, { kind: "wait" | "stop" }>): void {
    const log = this.log;
    if (a.kind === "write" || a.kind === "watermark" || a.kind === "barrier") {
      if (!this.#writesAhead) this.#front.write(this.#chunkOf(a)!);
    } else if (a.kind === "burst") {
      for (let k = 0; k < a.n && !this.#writesAhead; k++) {
        this.#front.write(this.#nextInput++);
      }
    } else if (a.kind === "readMany") {
      // Reads that wait side by side: results go to them in order.
      for (let k = 0; k < a.n; k++) this.readNow();
    } else if (a.kind === "resolveAll") {
      for (const call of log.calls.filter(callActive)) {
        log.settle(call, RESOLVE);
      }
    } else if (a.kind === "read") {
      this.read();
    } else if (a.kind === "resolve" || a.kind === "reject") {
      const open = log.calls.filter(callActive);
      const call = open[a.pick % Math.max(1, open.length)];
      if (call !== undefined) log.settle(call, a);
    } else if (a.kind === "late") {
      this.#completeLate(a);
    } else if (a.kind === "resolveOne") {
      this.#completeOneOfBatch(a);
    } else {
      this.view.setConcurrency(Math.min(a.n, this.capacity));
    }
  }

  /** Must be ignored: the first completion won, or the call was let go. */
  #completeLate(a: Extract<Action, { kind: "late" }>): void {
    const over = this.log.calls.filter((c) =>
      a.again ? c.settled : !c.settled && !callActive(c)
    );
    const call = over[a.pick % Math.max(1, over.length)];
    if (call !== undefined) {
      call.settled = true;
      if (a.reject) call.reject(new Error("late failure"));
      else call.resolve(2, false);
    }
  }

  /** One input of an object-form batch call completes on its own. */
  #completeOneOfBatch(a: Extract<Action, { kind: "resolveOne" }>): void {
    const open = this.log.calls.filter((c) => c.batch && callActive(c));
    const call = open[a.pick % Math.max(1, open.length)];
    const slot = call?.slots.find((x) => slotActive(x, call!) && x.future);
    if (slot !== undefined) {
      slot.done = true;
      if (a.outputs === 0) this.log.zeroOutputs.add(slot.input);
      slot.future!.complete(outs(slot.input, a.outputs, "call"));
    }
  }

  /** Stops the run; returns the calls that were running. */
  stop(how: Stop): CallRecord[] {
    const running = this.log.calls.filter(callActive);
    this.log.stopped = true;
    this.stoppedBy ??= how;
    this.#front.stop(new StopError(`stop by ${how}`), how);
    return running;
  }

  /** Marks the run as over, after a failure. */
  markStopped(): void {
    this.log.stopped = true;
  }

  /** Resolves every running call, and any that starts meanwhile. */
  resolveRunning(): void {
    for (const call of this.log.calls) {
      if (callActive(call)) this.log.settle(call, RESOLVE);
    }
  }

  /** Notes, for each barrier that went in, the records accepted before it. */
  noteBarriers(): void {
    for (const [id, at] of this.#barrierAt) {
      if (this.acceptedBefore.has(id) || !this.log.checkpoints.has(id)) {
        continue;
      }
      this.acceptedBefore.set(
        id,
        (this.offered.slice(0, at).filter((c) =>
          typeof c === "number"
        ) as number[])
          .filter((n) => this.acceptedRecords().includes(n)),
      );
    }
  }

  /** Ends the input. */
  end(): Promise<void> {
    return this.#front.end();
  }
}

/** How the driver settles calls in bulk: one output each, wanted. */
const RESOLVE: Action = {
  kind: "resolve",
  pick: 0,
  outputs: 1,
  unwanted: false,
};

/** The scenario again from a snapshot, on the other front end, at less capacity. */
export function restoredScenario(s: Scenario): Scenario {
  return {
    ...s,
    front: s.front === "stream" ? "mapAsync" : "stream",
    capacity: Math.max(1, s.capacity - 2),
  };
}

/** Everything a snapshot restored into a fresh mapAsync gives. */
export async function drainRestored(
  s: Scenario,
  capacity: number,
  state: AsyncIOState<number>,
): Promise<(number | Watermark)[]> {
  const restored = mapAsync<number, number, Watermark>(
    [],
    (n: number) => n,
    { order: s.order, capacity, key: (n) => n % s.keys, restore: state },
  );
  const again: (number | Watermark)[] = [];
  for await (const chunk of restored) again.push(chunk);
  return again;
}
