// The stop fuzzer's model (stop_invariants_fuzz_test.ts): the random
// scenarios it runs, a script of writes, completions, time passing and stops
// under random options.
import fc from "fast-check";

/** An environment variable, where the runtime has them (not in browsers). */
export function env(name: string): string | undefined {
  const process = (globalThis as {
    process?: { env?: Record<string, string | undefined> };
  }).process;
  return process?.env?.[name];
}

export type Stop = "cancel" | "abort" | "signal";
export type Action =
  | { kind: "write" }
  | { kind: "marker"; barrier: boolean }
  | { kind: "resolve"; pick: number }
  | { kind: "reject"; pick: number }
  | { kind: "wait"; ms: number }
  | { kind: "stop"; how: Stop }
  /** The next time this user callback runs, it aborts options.signal. */
  | { kind: "stopInside"; where: Inside }
  | { kind: "setConcurrency"; n: number };

export type Inside = "fn" | "key" | "retry" | "policy" | "checkpoint" | "size";

export interface Scenario {
  form: "function" | "object";
  order: "ordered" | "unordered" | "key-ordered";
  capacity: number;
  concurrency: number;
  policy: "fail" | "settle" | "handler";
  retry: boolean;
  attemptTimeout: number | null;
  rateLimit: { limit: number; interval: number } | null;
  timeout: number | null;
  /** Calls complete synchronously (value), throw, or wait for the script. */
  sync: ("value" | "throw" | "pending")[];
  /** Object form: a pending call completes from its abort listener. */
  listenerCompletes: boolean;
  /** Batching, with maxSize capped by capacity. */
  batch: { maxSize: number; maxWait: number } | null;
  actions: Action[];
}

export const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: "write" as const }) },
  {
    weight: 1,
    arbitrary: fc.boolean().map((barrier) => ({
      kind: "marker" as const,
      barrier,
    })),
  },
  {
    weight: 3,
    arbitrary: fc.nat(50).map((pick) => ({ kind: "resolve" as const, pick })),
  },
  {
    weight: 1,
    arbitrary: fc.nat(50).map((pick) => ({ kind: "reject" as const, pick })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Inside>(
      "fn",
      "key",
      "retry",
      "policy",
      "checkpoint",
      "size",
    ).map((where) => ({ kind: "stopInside" as const, where })),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1, max: 6 }).map((n) => ({
      kind: "setConcurrency" as const,
      n,
    })),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 0, max: 15 }).map((ms) => ({
      kind: "wait" as const,
      ms,
    })),
  },
);

export const scenario: fc.Arbitrary<Scenario> = fc.record({
  form: fc.constantFrom("function" as const, "object" as const),
  order: fc.constantFrom(
    "ordered" as const,
    "unordered" as const,
    "key-ordered" as const,
  ),
  capacity: fc.integer({ min: 1, max: 6 }),
  concurrency: fc.integer({ min: 1, max: 6 }),
  policy: fc.constantFrom(
    "fail" as const,
    "settle" as const,
    "handler" as const,
  ),
  retry: fc.boolean(),
  attemptTimeout: fc.option(fc.integer({ min: 2, max: 15 }), { freq: 1 }),
  rateLimit: fc.option(
    fc.record({
      limit: fc.integer({ min: 1, max: 3 }),
      interval: fc.integer({ min: 1, max: 10 }),
    }),
    { freq: 1 },
  ),
  timeout: fc.option(fc.integer({ min: 3, max: 20 }), { freq: 2 }),
  sync: fc.array(
    fc.constantFrom(
      "value",
      "throw",
      "pending",
      "pending",
      "pending",
      "pending",
    ),
    {
      minLength: 1,
      maxLength: 8,
    },
  ) as fc.Arbitrary<("value" | "throw" | "pending")[]>,
  listenerCompletes: fc.boolean(),
  batch: fc.option(
    fc.record({
      maxSize: fc.integer({ min: 1, max: 4 }),
      maxWait: fc.constantFrom(0, 3, Infinity),
    }),
    { freq: 2 },
  ),
  actions: fc.tuple(
    fc.array(action, { minLength: 1, maxLength: 30 }),
    fc.option(fc.constantFrom<Stop>("cancel", "abort", "signal")),
  ).map(([actions, how]) =>
    how === null ? actions : [...actions, { kind: "stop" as const, how }]
  ),
});
