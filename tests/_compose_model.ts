// The compose fuzzer's model (compose_property_test.ts): the random scenarios
// it runs, a script of writes, reads, completions, time passing and stops
// under random options on either front end, and what an output is.
import fc from "fast-check";
import { CheckpointBarrier, Watermark } from "../mod.ts";

/** An environment variable, where the runtime has them (not in browsers). */
export function env(name: string): string | undefined {
  const process = (globalThis as {
    process?: { env?: Record<string, string | undefined> };
  }).process;
  return process?.env?.[name];
}

export type Action =
  | { kind: "write" }
  /** Many writes in a row, and many reads, and every call completing. */
  | { kind: "burst"; n: number }
  | { kind: "readMany"; n: number }
  | { kind: "resolveAll" }
  | { kind: "watermark" }
  | { kind: "barrier" }
  | { kind: "read" }
  | { kind: "resolve"; pick: number; outputs: number; unwanted: boolean }
  | { kind: "resolveOne"; pick: number; outputs: number }
  | { kind: "reject"; pick: number }
  /** A call whose signal aborted (or that completed) completes (again). */
  | { kind: "late"; pick: number; reject: boolean; again: boolean }
  | { kind: "wait"; ms: number }
  | { kind: "setConcurrency"; n: number }
  | { kind: "stop"; how: "cancel" | "abort" | "signal" };

export interface Scenario {
  front: "stream" | "mapAsync";
  form: "function" | "object";
  order: "ordered" | "unordered" | "key-ordered";
  capacity: number;
  concurrency: number;
  /** A ConcurrencyLimit object (the adaptive path) rather than a number. */
  adaptive: boolean;
  timeout: number | null;
  /** What onTimeout does: complete with a fallback (now or later), or leave it. */
  fallback: boolean;
  /** onTimeout and the error handler settle after a timer, not at once. */
  slowHandlers: boolean;
  attemptTimeout: number | null;
  retry: { maxAttempts: number; delay: number; onResult: boolean } | null;
  rateLimit: { limit: number; interval: number } | null;
  batch: { maxSize: number; maxWait: number } | null;
  policy: "fail" | "settle" | "recover" | "skip" | "asyncRecover";
  /** Calls complete synchronously (value), throw, or wait for the script. */
  sync: ("value" | "throw" | "pending")[];
  keys: number;
  /** mapAsync reads a synchronous iterable of every chunk the script writes. */
  syncSource: boolean;
  actions: Action[];
}

/** Where an output came from: its call, the timeout's fallback, or onError. */
export type Origin = "call" | "fallback" | "recover";

/** An output: input `in`, index `j` of `of`, and where it came from. */
export interface Out {
  in: number;
  j: number;
  of: number;
  from: Origin;
  unwanted?: boolean;
}

/** The outputs of `input`: `n` of them, from `from`. */
export const outs = (
  input: number,
  n: number,
  from: Origin,
  unwanted = false,
) =>
  Array.from(
    { length: n },
    (_, j) => ({
      in: input,
      j,
      of: n,
      from,
      ...(unwanted ? { unwanted } : {}),
    }),
  );

export type Chunk = number | Watermark | CheckpointBarrier;

/** What an emitted chunk is, whatever the policy. */
export function outOf(chunk: unknown): Out | Watermark | CheckpointBarrier {
  if (chunk instanceof Watermark || chunk instanceof CheckpointBarrier) {
    return chunk;
  }
  const c = chunk as { status?: string; input?: number; value?: Out };
  if (c.status === "fulfilled") return c.value!;
  if (c.status === "rejected") {
    return { in: c.input!, j: 0, of: 1, from: "recover" };
  }
  return chunk as Out;
}

/** One step of a script. */
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ kind: "write" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "watermark" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "barrier" as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: "read" as const }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("resolve" as const),
      pick: fc.nat(20),
      outputs: fc.constantFrom(0, 1, 1, 2),
      unwanted: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("resolveOne" as const),
      pick: fc.nat(20),
      outputs: fc.constantFrom(0, 1, 2),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("late" as const),
      pick: fc.nat(20),
      reject: fc.boolean(),
      again: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("reject" as const),
      pick: fc.nat(20),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("wait" as const),
      ms: fc.integer({ min: 0, max: 12 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("setConcurrency" as const),
      n: fc.integer({ min: 1, max: 6 }),
    }),
  },
);

/** Scripts at scale: thresholds such as the 64 deadlines stamped at once. */
const bigAction: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: action },
  {
    weight: 2,
    arbitrary: fc.integer({ min: 10, max: 90 }).map((n) => ({
      kind: "burst" as const,
      n,
    })),
  },
  {
    weight: 2,
    arbitrary: fc.integer({ min: 10, max: 90 }).map((n) => ({
      kind: "readMany" as const,
      n,
    })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "resolveAll" as const }) },
  {
    weight: 2,
    arbitrary: fc.integer({ min: 20, max: 60 }).map((ms) => ({
      kind: "wait" as const,
      ms,
    })),
  },
);

/** Scenarios at scale: capacities up to 140, bursts of writes and reads. */
export const bigScenario: fc.Arbitrary<Scenario> = fc.record({
  capacity: fc.integer({ min: 40, max: 140 }),
  concurrency: fc.integer({ min: 1, max: 140 }),
  batch: fc.option(
    fc.record({
      maxSize: fc.integer({ min: 2, max: 100 }),
      maxWait: fc.constantFrom(0, 3, Infinity),
    }),
    { freq: 2 },
  ),
  timeout: fc.option(fc.integer({ min: 5, max: 40 }), { freq: 4 }),
  keys: fc.constantFrom(2, 7, 500),
  sync: fc.constantFrom<("value" | "throw" | "pending")[]>(
    ["pending"],
    ["pending", "pending", "pending", "value"],
  ),
  actions: fc.array(bigAction, { minLength: 4, maxLength: 16 }),
}).chain((big) => scenario.map((small) => ({ ...small, ...big })));

/** Scenarios that combine every feature, at small bounds. */
export const scenario: fc.Arbitrary<Scenario> = fc.record({
  front: fc.constantFrom("stream" as const, "mapAsync" as const),
  form: fc.constantFrom("function" as const, "object" as const),
  order: fc.constantFrom(
    "ordered" as const,
    "unordered" as const,
    "key-ordered" as const,
  ),
  capacity: fc.integer({ min: 1, max: 6 }),
  concurrency: fc.integer({ min: 1, max: 6 }),
  adaptive: fc.boolean(),
  timeout: fc.option(fc.integer({ min: 2, max: 20 }), { freq: 2 }),
  fallback: fc.boolean(),
  slowHandlers: fc.boolean(),
  attemptTimeout: fc.option(fc.integer({ min: 2, max: 15 }), { freq: 1 }),
  retry: fc.option(
    fc.record({
      maxAttempts: fc.integer({ min: 1, max: 3 }),
      delay: fc.constantFrom(0, 1, 4),
      onResult: fc.boolean(),
    }),
    { freq: 1 },
  ),
  rateLimit: fc.option(
    fc.record({
      limit: fc.integer({ min: 1, max: 3 }),
      interval: fc.integer({ min: 1, max: 12 }),
    }),
    { freq: 1 },
  ),
  batch: fc.option(
    fc.record({
      maxSize: fc.integer({ min: 1, max: 4 }),
      maxWait: fc.constantFrom(0, 3, Infinity),
    }),
    { freq: 2 },
  ),
  policy: fc.constantFrom(
    "fail" as const,
    "settle" as const,
    "recover" as const,
    "skip" as const,
    "asyncRecover" as const,
  ),
  sync: fc.array(
    fc.constantFrom("value", "throw", "pending", "pending", "pending"),
    { minLength: 1, maxLength: 6 },
  ) as fc.Arbitrary<("value" | "throw" | "pending")[]>,
  keys: fc.integer({ min: 1, max: 3 }),
  syncSource: fc.boolean(),
  actions: fc.tuple(
    fc.array(action, { minLength: 8, maxLength: 40, size: "max" }),
    fc.option(
      fc.constantFrom("cancel" as const, "abort" as const, "signal" as const),
      {
        freq: 2,
      },
    ),
  ).map(([actions, how]) =>
    how === null ? actions : [...actions, { kind: "stop" as const, how }]
  ),
});
