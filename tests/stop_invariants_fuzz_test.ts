// A seeded fuzzer over random scripts of writes, completions (synchronous,
// asynchronous, throwing, from an abort listener), time passing and stops,
// under random options. After every step it checks what must always hold:
// - stats.inFlight is never negative, and pending == accepted - emitted;
// - snapshot() holds exactly the accepted inputs not emitted, in order;
// - at a stop: every running call's signal is aborted at once, nothing
//   starts afterwards, no error policy sees the stop, close() runs once.
// FUZZ_SEED and FUZZ_RUNS pick other runs; FUZZ_SKIP_KNOWN=1 leaves out abort
// listeners that complete their call, to look past the known defect that
// review_findings_test.ts pins.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  AsyncIOTransformStream,
  CheckpointBarrier,
  type ResultFuture,
  Watermark,
} from "../mod.ts";
import { settle } from "./_deferred.ts";
import { within } from "./_within.ts";
import {
  env,
  type Inside,
  type Scenario,
  scenario,
} from "./_stop_fuzz_model.ts";

interface Call {
  input: number;
  signal: AbortSignal;
  settled: boolean;
  resolve(output: number): void;
  reject(error: unknown): void;
}

class StopError extends Error {}

async function run(s: Scenario): Promise<void> {
  if (env("FUZZ_SKIP_KNOWN")) s.listenerCompletes = false;
  const calls: Call[] = [];
  const policySaw: unknown[] = [];
  /** Per barrier: the records in its snapshot. */
  const checkpoints = new Map<number, number[]>();
  /** Per barrier: the records written before it. */
  const writtenBefore = new Map<number, number[]>();
  let barriers = 0;
  let closes = 0;
  let stopped = false;
  let startsAfterStop = 0;
  const controller = new AbortController();
  let next = 0;

  let inside: Inside | undefined = undefined;
  /** What a stop from inside user code found wrong at once. */
  const insideProblems: string[] = [];
  const maybeStop = (where: Inside) => {
    if (inside !== where || stopped) return;
    inside = undefined;
    stopped = true;
    const running = calls.filter((c) => !c.settled);
    controller.abort(new StopError(`stop inside ${where}`));
    for (const c of running) {
      if (!c.signal.aborted) {
        insideProblems.push(
          `call ${c.input} not aborted by a stop in ${where}`,
        );
      }
    }
  };
  /** Set while a batch call's inputs run: one call, one start. */
  let inBatch = false;
  const begin = (input: number, attempt: number) => {
    if (stopped && !inBatch) startsAfterStop++;
    maybeStop("fn");
    return s.sync[(input + attempt) % s.sync.length]!;
  };

  const fn = (input: number, { signal, attempt }: {
    signal: AbortSignal;
    attempt: number;
  }) => {
    const mode = begin(input, attempt);
    if (mode === "value") return input;
    if (mode === "throw") throw new Error(`sync failure of ${input}`);
    return new Promise<number>((resolve, reject) => {
      calls.push({
        input,
        signal,
        settled: false,
        resolve,
        reject,
      });
    });
  };
  const object = {
    asyncInvoke(input: number, future: ResultFuture<number>) {
      const mode = begin(input, future.attempt);
      if (mode === "value") return future.complete([input]);
      if (mode === "throw") throw new Error(`sync failure of ${input}`);
      if (s.listenerCompletes) {
        future.signal.addEventListener(
          "abort",
          () => future.completeExceptionally(future.signal.reason),
          { once: true },
        );
      }
      calls.push({
        input,
        signal: future.signal,
        settled: false,
        resolve: (output) => future.complete([output]),
        reject: (error) => future.completeExceptionally(error),
      });
    },
    close() {
      closes++;
    },
  };
  const batchFn = (inputs: number[], { signal, attempt }: {
    signal: AbortSignal;
    attempt: number;
  }) => {
    const mode = begin(inputs[0]!, attempt);
    if (mode === "value") return inputs;
    if (mode === "throw") throw new Error(`sync failure of ${inputs}`);
    return new Promise<number[]>((resolve, reject) => {
      calls.push({
        input: inputs[0]!,
        signal,
        settled: false,
        resolve: () => resolve(inputs),
        reject,
      });
    });
  };
  const batchObject = {
    asyncInvokeBatch(inputs: number[], futures: ResultFuture<number>[]) {
      // A throw would fail every input of the batch, pending ones included:
      // each input fails on its own instead.
      if (stopped) startsAfterStop++;
      inBatch = true;
      for (const [i, input] of inputs.entries()) {
        const future = futures[i]!;
        try {
          object.asyncInvoke(input, future);
        } catch (error) {
          future.completeExceptionally(error);
        }
      }
      inBatch = false;
    },
    close() {
      closes++;
    },
  };
  const options = {
    ...(s.batch === null ? {} : {
      batch: {
        maxSize: Math.min(s.batch.maxSize, s.capacity),
        maxWait: s.batch.maxWait,
      },
    }),
    order: s.order,
    capacity: s.capacity,
    concurrency: Math.min(s.concurrency, s.capacity),
    key: (n: number) => (maybeStop("key"), n % 2),
    readableStrategy: {
      highWaterMark: 1,
      size: () => (maybeStop("size"), 1),
    },
    signal: controller.signal,
    ...(s.timeout === null ? {} : { timeout: s.timeout }),
    ...(s.attemptTimeout === null ? {} : { attemptTimeout: s.attemptTimeout }),
    ...(s.rateLimit === null ? {} : { rateLimit: s.rateLimit }),
    onCheckpoint: (
      state: { entries: { kind: string; input?: number }[] },
      barrier: CheckpointBarrier,
    ) => {
      maybeStop("checkpoint");
      checkpoints.set(
        barrier.id,
        state.entries.flatMap((e) => e.kind === "record" ? [e.input!] : []),
      );
    },
    ...(s.retry
      ? {
        retry: {
          maxAttempts: 2,
          delay: 2,
          retryOnError: () => (maybeStop("retry"), true),
        },
      }
      : {}),
    onError: s.policy === "fail"
      ? "fail"
      : s.policy === "settle"
      ? "settle"
      : (error: unknown, input: number) => {
        policySaw.push(error);
        maybeStop("policy");
        return [-input - 1000];
      },
  };
  // deno-lint-ignore no-explicit-any
  const Stream = AsyncIOTransformStream as any;
  const stream: AsyncIOTransformStream<number, number> = new Stream(
    s.batch === null
      ? (s.form === "function" ? fn : object)
      : (s.form === "function" ? batchFn : batchObject),
    options,
  );
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  const read: unknown[] = [];
  let readError: unknown = undefined;
  const reading = (async () => {
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) return;
        read.push(r.value);
      }
    } catch (error) {
      readError = error;
    }
  })();
  const written: number[] = [];
  let writing: Promise<void> = Promise.resolve();

  const inputOf = (chunk: unknown): number => {
    if (chunk instanceof Watermark || chunk instanceof CheckpointBarrier) {
      return NaN;
    }
    if (typeof chunk === "number") return chunk < -500 ? -chunk - 1000 : chunk;
    return (chunk as { input: number }).input;
  };

  const check = (where: string) => {
    const stats = stream.stats;
    assert.ok(stats.inFlight >= 0, `${where}: inFlight ${stats.inFlight}`);
    assert.equal(stats.pending, stats.accepted - stats.emitted, where);
    const snap = stream.snapshot().entries.flatMap((e) =>
      e.kind === "record" ? [e.input] : []
    );
    assert.equal(snap.length, stats.pending, `${where}: snapshot vs pending`);
    // The snapshot is a subsequence of the accepted inputs in order, and
    // holds none that the reader got.
    const accepted = written.slice(0, stats.accepted);
    const got = new Set(read.map(inputOf));
    for (const n of snap) {
      assert.ok(accepted.includes(n), `${where}: ${n} in snapshot`);
      assert.ok(!got.has(n), `${where}: ${n} both read and in snapshot`);
    }
    for (const n of policySaw) {
      assert.ok(
        !(n instanceof StopError),
        `${where}: the error policy saw the stop`,
      );
    }
  };

  for (const [i, a] of s.actions.entries()) {
    const where = `step ${i} ${JSON.stringify(a)}`;
    if (a.kind === "write") {
      const n = next++;
      written.push(n);
      writing = writing.then(() => writer.write(n)).catch(() => {});
    } else if (a.kind === "marker") {
      const id = barriers++;
      writtenBefore.set(id, [...written]);
      const marker = a.barrier ? new CheckpointBarrier(id) : new Watermark(id);
      writing = writing.then(() =>
        // deno-lint-ignore no-explicit-any
        writer.write(marker as any)
      ).catch(() => {});
    } else if (a.kind === "resolve" || a.kind === "reject") {
      const open = calls.filter((c) => !c.settled);
      const call = open[a.pick % Math.max(1, open.length)];
      if (call !== undefined) {
        call.settled = true;
        if (a.kind === "resolve") call.resolve(call.input);
        else call.reject(new Error(`failure of ${call.input}`));
      }
    } else if (a.kind === "wait") {
      await settle(a.ms);
    } else if (a.kind === "stopInside") {
      inside = a.where;
    } else if (a.kind === "setConcurrency") {
      stream.setConcurrency(Math.min(a.n, s.capacity));
    } else {
      const reason = new StopError(`stop by ${a.how}`);
      const running = calls.filter((c) => !c.settled);
      stopped = true;
      if (a.how === "cancel") void reader.cancel(reason).catch(() => {});
      else if (a.how === "abort") void writer.abort(reason).catch(() => {});
      else controller.abort(reason);
      for (const c of running) {
        assert.ok(c.signal.aborted, `${where}: call ${c.input} not aborted`);
      }
      check(where);
      break;
    }
    await settle(0);
    check(where);
    if (stopped) break; // from inside user code
  }
  assert.deepEqual(insideProblems, []);
  if (!stopped) {
    // End the input, and finish the remaining calls.
    const closing = writing.then(() => writer.close()).catch(() => {});
    let closed = false;
    void closing.then(() => closed = true);
    // Retries and timeouts may start more calls: resolve them as they come.
    for (let round = 0; round < 200 && !closed; round++) {
      await settle(round < 5 ? 0 : 1);
      for (const c of calls) {
        if (!c.settled) {
          c.settled = true;
          c.resolve(c.input);
        }
      }
    }
    await within(closing, "the end");
  } else {
    await settle(20);
    assert.equal(startsAfterStop, 0, "calls started after the stop");
  }
  await within(reading, "the reader");
  check("at the end");
  // Exactly once at each barrier the reader got: the records read before
  // it and the records in its snapshot are the records written before it.
  const seen: number[] = [];
  for (const chunk of read) {
    if (!(chunk instanceof CheckpointBarrier)) {
      if (!(chunk instanceof Watermark)) seen.push(inputOf(chunk));
      continue;
    }
    const snap = checkpoints.get(chunk.id)!;
    assert.deepEqual(
      [...seen, ...snap].toSorted((x, y) => x - y),
      writtenBefore.get(chunk.id),
      `barrier ${chunk.id}: read ${seen}, snapshot ${snap}`,
    );
  }
  if (s.form === "object") assert.ok(closes <= 1, `close() ran ${closes}x`);
  if (s.form === "object" && (stopped || readError === undefined)) {
    assert.equal(closes, 1, "close() did not run");
  }
}

test("AsyncIOTransformStream() keeps the stop guarantees when calls that share a signal complete from its abort listener (a fuzzer case)", async () => {
  await run({
    form: "object",
    order: "unordered",
    capacity: 4,
    concurrency: 4,
    policy: "handler",
    retry: false,
    timeout: null,
    sync: ["pending"],
    listenerCompletes: true,
    batch: null,
    attemptTimeout: null,
    rateLimit: null,
    actions: [{ kind: "write" }, { kind: "write" }, { kind: "wait", ms: 2 }, {
      kind: "stop",
      how: "cancel",
    }],
  });
});

// Bun's test runner stops a test after 5 s unless told otherwise.
test(
  "AsyncIOTransformStream() keeps its accounting and stop guarantees over random scripts of writes, completions and stops",
  {
    timeout: 120_000,
  },
  async () => {
    await fc.assert(fc.asyncProperty(scenario, run), {
      seed: Number(env("FUZZ_SEED") ?? 20261129),
      numRuns: Number(env("FUZZ_RUNS") ?? 300),
      endOnFailure: true,
    });
  },
);
