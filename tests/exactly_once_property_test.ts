// Property: a source with offsets, an AsyncIOTransformStream and a sink that
// commits on barriers form an exactly-once pipeline, whatever the latencies,
// call failures, error policies and crash points. Each crash restarts all three from the last
// checkpoint whose barrier reached the sink. With batching, the open batch's
// inputs are in each checkpoint too, and each batch form is exercised.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type AsyncIOState,
  AsyncIOTransformStream,
  type CallContext,
  CheckpointBarrier,
  type OutputOrder,
  type ResultFuture,
  type Settled,
  Watermark,
} from "../mod.ts";

type Marker = Watermark | CheckpointBarrier;
type Policy = "fail" | "settle" | "recover" | "skip";

interface Scenario {
  inputs: number;
  order: OutputOrder;
  capacity: number;
  barrierEvery: number;
  watermarkEvery: number;
  /** How each call completes, indexed by input: 0 sync … 3 after a 1 ms timer. */
  latencies: number[];
  /** `input:incarnation` pairs whose first attempt fails (then retried). */
  transient: Set<string>;
  /**
   * `input:incarnation` pairs that fail for good: they crash the pipeline
   * under "fail", and go to the error policy otherwise.
   */
  fatal: Set<string>;
  policy: Policy;
  /** Per incarnation: the sink crashes on receiving this many outputs. */
  crashAt: (number | null)[];
  /** Batching, and in which form; `maxSize` is capped by `capacity`. */
  batch:
    | { form: "function" | "object"; maxSize: number; maxWait: number }
    | null;
}

interface Checkpoint {
  offset: number;
  state: AsyncIOState<number> | undefined;
  committed: number;
}

const MAX_CRASHES = 4;
const result = (input: number) => input * 10 + 1;
const fallback = (input: number) => -result(input);

/** The input that a committed chunk stands for, whatever the policy. */
function inputOf(chunk: unknown): number {
  if (typeof chunk === "number") {
    return chunk > 0 ? (chunk - 1) / 10 : (-chunk - 1) / 10;
  }
  const settled = chunk as Settled<number, number>;
  return settled.status === "fulfilled"
    ? inputOf(settled.value)
    : settled.input;
}

const ERROR_POLICIES = {
  fail: "fail",
  settle: "settle",
  recover: (_: unknown, input: number) => [fallback(input)],
  skip: () => {},
} as const;

function latency(delay: number, value: number): number | Promise<number> {
  if (delay === 0) return value;
  if (delay === 1) return Promise.resolve(value);
  return new Promise((resolve) => setTimeout(() => resolve(value), delay - 2));
}

/** One incarnation: runs until the end of input or a crash. */
async function runIncarnation(
  scenario: Scenario,
  incarnation: number,
  from: Checkpoint,
  committed: unknown[],
): Promise<Checkpoint | "finished"> {
  const faulty = incarnation < MAX_CRASHES;
  const offsets = new Map<number, number>();
  const states = new Map<number, AsyncIOState<number>>();
  let position = from.offset;
  let barrierPending: CheckpointBarrier | undefined;
  let watermarkPending: Watermark | undefined;
  const source = new ReadableStream<number | Marker>({
    pull(controller) {
      if (watermarkPending) {
        controller.enqueue(watermarkPending);
        watermarkPending = undefined;
      } else if (barrierPending) {
        controller.enqueue(barrierPending);
        barrierPending = undefined;
      } else if (position === scenario.inputs) {
        controller.close();
      } else {
        const input = position++;
        controller.enqueue(input);
        if (position % scenario.watermarkEvery === 0) {
          watermarkPending = new Watermark(input);
        }
        if (position % scenario.barrierEvery === 0) {
          const id = position / scenario.barrierEvery;
          offsets.set(id, position); // the source records its offset
          barrierPending = new CheckpointBarrier(id);
        }
      }
    },
  }, { highWaterMark: 0 });

  const fn = (input: number, { attempt }: CallContext) => {
    const key = `${input}:${incarnation}`;
    if (faulty && scenario.fatal.has(key)) throw new Error("fatal");
    if (faulty && attempt === 1 && scenario.transient.has(key)) {
      return Promise.reject(new Error("transient"));
    }
    return latency(
      scenario.latencies[input % scenario.latencies.length]!,
      result(input),
    );
  };
  const fail = (input: number, attempt: number): Error | undefined => {
    const key = `${input}:${incarnation}`;
    if (faulty && scenario.fatal.has(key)) return new Error("fatal");
    if (faulty && attempt === 1 && scenario.transient.has(key)) {
      return new Error("transient");
    }
    return undefined;
  };
  // The function form fails a whole batch when one of its inputs fails.
  const batchFn = async (inputs: number[], { attempt }: CallContext) => {
    const errors = inputs.map((input) => fail(input, attempt));
    const error = errors.find((e) => e?.message === "fatal") ??
      errors.find((e) => e !== undefined);
    if (error !== undefined) throw error;
    return await Promise.all(inputs.map((input) =>
      latency(
        scenario.latencies[input % scenario.latencies.length]!,
        result(input),
      )
    ));
  };
  // The object form fails each input on its own.
  const batchObject = {
    asyncInvokeBatch(inputs: number[], futures: ResultFuture<number>[]) {
      inputs.forEach((input, i) => {
        const future = futures[i]!;
        const error = fail(input, future.attempt);
        if (error !== undefined) return future.completeExceptionally(error);
        const output = latency(
          scenario.latencies[input % scenario.latencies.length]!,
          result(input),
        );
        if (typeof output === "number") future.complete([output]);
        else void output.then((value) => future.complete([value]));
      });
    },
  };
  const batch = scenario.batch;
  const options = {
    onError: ERROR_POLICIES[scenario.policy] as "fail",
    order: scenario.order,
    capacity: scenario.capacity,
    key: (input: number) => input % 3,
    retry: {
      maxAttempts: 2,
      delay: 1,
      retryOnError: (e: unknown) => (e as Error).message === "transient",
    },
    ...(from.state ? { restore: from.state } : {}),
    onCheckpoint: (state: AsyncIOState<number>, barrier: CheckpointBarrier) => {
      // Persisted as it would be: through JSON.
      states.set(barrier.id, JSON.parse(JSON.stringify(state)));
    },
  };
  const stream = batch === null
    ? new AsyncIOTransformStream<number, number, Marker>(fn, options)
    : new AsyncIOTransformStream<number, number, Marker>(
      batch.form === "function" ? batchFn : batchObject,
      {
        ...options,
        batch: {
          maxSize: Math.min(batch.maxSize, scenario.capacity),
          maxWait: batch.maxWait,
        },
      },
    );

  let last = from;
  let pending: unknown[] = [];
  let received = 0;
  const crashAt = faulty ? scenario.crashAt[incarnation] ?? null : null;
  const sink = new WritableStream<unknown>({
    write(chunk) {
      if (chunk instanceof CheckpointBarrier) {
        committed.push(...pending); // the sink commits at the barrier
        pending = [];
        last = {
          offset: offsets.get(chunk.id)!,
          state: states.get(chunk.id)!,
          committed: committed.length,
        };
      } else if (!(chunk instanceof Watermark)) {
        pending.push(chunk);
        if (++received === crashAt) throw new Error("crash");
      }
    },
    close() {
      committed.push(...pending); // end of input is the final commit
    },
  });
  try {
    await source.pipeThrough(stream).pipeTo(sink);
    return "finished";
  } catch {
    committed.length = last.committed; // uncommitted output is lost
    return last;
  }
}

async function runScenario(scenario: Scenario): Promise<unknown[]> {
  const committed: unknown[] = [];
  let checkpoint: Checkpoint = { offset: 0, state: undefined, committed: 0 };
  for (let incarnation = 0;; incarnation++) {
    const outcome = await runIncarnation(
      scenario,
      incarnation,
      checkpoint,
      committed,
    );
    if (outcome === "finished") return committed;
    checkpoint = outcome;
  }
}

const scenarios = fc.record({
  inputs: fc.integer({ min: 0, max: 40 }),
  order: fc.constantFrom<OutputOrder>("ordered", "unordered", "key-ordered"),
  capacity: fc.integer({ min: 1, max: 8 }),
  barrierEvery: fc.integer({ min: 1, max: 8 }),
  watermarkEvery: fc.integer({ min: 1, max: 12 }),
  latencies: fc.array(fc.integer({ min: 0, max: 3 }), {
    minLength: 1,
    maxLength: 8,
  }),
  transient: fc.array(
    fc.tuple(fc.nat(40), fc.nat(MAX_CRASHES)).map(([i, n]) => `${i}:${n}`),
    { maxLength: 6 },
  ).map((keys) => new Set(keys)),
  fatal: fc.array(
    fc.tuple(fc.nat(40), fc.nat(MAX_CRASHES)).map(([i, n]) => `${i}:${n}`),
    { maxLength: 3 },
  ).map((keys) => new Set(keys)),
  crashAt: fc.array(fc.option(fc.integer({ min: 1, max: 40 })), {
    maxLength: MAX_CRASHES,
  }),
  policy: fc.constantFrom<Policy>("fail", "settle", "recover", "skip"),
  batch: fc.option(fc.record({
    form: fc.constantFrom<"function" | "object">("function", "object"),
    maxSize: fc.integer({ min: 1, max: 8 }),
    maxWait: fc.constantFrom(0, 1, 3, Infinity),
  })),
}).map((scenario): Scenario =>
  // The function form fails a batch as a whole, so that its other inputs
  // would meet the policy too: policies are exercised per input through the
  // object form.
  scenario.batch?.form === "function"
    ? { ...scenario, policy: "fail" }
    : scenario
);

/** Whether the input failed for good in some incarnation (it may be skipped). */
const everFatal = (scenario: Scenario, input: number) =>
  Array.from({ length: MAX_CRASHES }, (_, n) => `${input}:${n}`)
    .some((key) => scenario.fatal.has(key));

test("AsyncIOTransformStream() gives exactly-once output across random crashes, failures and error policies", async () => {
  await fc.assert(
    fc.asyncProperty(scenarios, async (scenario) => {
      const committed = await runScenario(scenario);
      const inputs = committed.map(inputOf);
      // None twice, none lost: only a skipped input may be missing.
      assert.equal(new Set(inputs).size, inputs.length, "an input twice");
      for (let i = 0; i < scenario.inputs; i++) {
        if (!inputs.includes(i)) {
          assert.ok(
            scenario.policy === "skip" && everFatal(scenario, i),
            `input ${i} lost`,
          );
        }
      }
      assert.ok(inputs.every((i) => i >= 0 && i < scenario.inputs));
      const ascending = (seq: number[]) =>
        assert.deepEqual(seq, [...seq].sort((a, b) => a - b));
      if (scenario.order === "ordered") ascending(inputs);
      if (scenario.order === "key-ordered") {
        for (const key of [0, 1, 2]) {
          ascending(inputs.filter((input) => input % 3 === key));
        }
      }
      if (scenario.policy === "fail") {
        assert.deepEqual(
          committed.filter((chunk) => (chunk as number) < 0),
          [],
          "a fallback without a policy",
        );
      }
    }),
    { numRuns: 300 },
  );
});
