import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  aimd,
  type ConcurrencyLimit,
  type ConcurrencySample,
  gradient2,
  vegas,
} from "../mod.ts";
import { bound, sample } from "./_limits.ts";

/** Feeds the samples one by one and returns the limit after each. */
function steps(
  limit: ConcurrencyLimit,
  samples: ConcurrencySample[],
): number[] {
  return samples.map((s) => {
    limit.update(s);
    return limit.limit;
  });
}

test("aimd() grows by one per used window and multiplies by backoffRatio on a drop", () => {
  const limit = bound(aimd({ min: 1 }));
  assert.equal(limit.limit, 20);
  assert.deepEqual(
    steps(limit, [
      sample(10, 10), // 10 × 2 >= 20: +1
      sample(10, 10), // 10 × 2 < 21: under-used, unchanged
      sample(10, 21, 1, 0), // floor(21 × 0.9)
      sample(10, 18, 1, 1), // floor(18 × 0.9)
      sample(10, 8), // 8 × 2 >= 16
    ]),
    [21, 21, 18, 16, 17],
  );
});

test("aimd() ignores timeouts with timeoutIsDrop: false, not other drops", () => {
  const limit = bound(aimd({ timeoutIsDrop: false, backoffRatio: 0.5 }));
  assert.deepEqual(
    steps(limit, [
      sample(10, 20, 2, 2), // only timeouts: grows
      sample(10, 21, 3, 2), // one retryable error: max(min 20, floor(21 / 2))
    ]),
    [21, 20],
  );
});

test("vegas() grows by alpha or beta and shrinks its queue back to beta per window", () => {
  const limit = bound(vegas());
  assert.equal(limit.limit, 20);
  assert.deepEqual(
    steps(limit, [
      sample(100, 20), // the first window sets the no-load latency
      sample(100, 20), // queue 0 <= log10 step 1: + beta (6)
      sample(110, 26), // queue ceil(26 × (1 - 100 / 110)) = 3 in [3, 6]: hold
      sample(200, 26), // queue 13 > beta 6: back to beta, 26 - 7
      sample(105, 19), // queue ceil(0.90) = 1: + beta (6)
      sample(107, 25), // queue ceil(1.64) = 2 < alpha 3: + alpha
      sample(100, 28, 1, 1), // a drop: - max(1, 0 - 6)
      sample(100, 13), // under-used (13 × 2 < 27): unchanged
      sample(90, 27), // a lower latency is the new no-load latency
      sample(100, 27), // queue ceil(27 × 0.1) = 3 < alpha 3? no: hold
      sample(95, 27), // queue ceil(27 × 0.0526) = 2: + alpha 3
      sample(91, 30), // queue ceil(30 × 0.011) = 1 <= 1: + beta 6
    ]),
    [20, 26, 26, 19, 25, 28, 27, 27, 27, 27, 30, 36],
  );
});

test("vegas() takes alpha and beta as given", () => {
  const limit = bound(vegas({ initial: 50, alpha: 10, beta: 20 }));
  // queue ceil(50 × (1 - 100 / 150)) = 17 in [10, 20], then 34 > 20.
  assert.deepEqual(
    steps(limit, [sample(100, 50), sample(150, 50), sample(300, 50)]),
    [50, 50, 36],
  );
});

test("gradient2() blends the gradient-scaled limit plus queueSize by smoothing", () => {
  const limit = bound(gradient2({ min: 1 }));
  limit.update(sample(100, 20)); // long 100, gradient 1: 20 × 0.8 + 24 × 0.2
  assert.equal(limit.limit, 20); // 20.8
  limit.update(sample(100, 20)); // 20.8 × 0.8 + 24.8 × 0.2 = 21.6
  assert.equal(limit.limit, 21);
  // long (100 + 100 + 1000) / 3 = 400, gradient 1.5 × 400 / 1000 = 0.6:
  // 21.6 × 0.8 + (21.6 × 0.6 + 4) × 0.2 = 20.672
  limit.update(sample(1000, 21));
  assert.equal(limit.limit, 20);
  // Under-used (10 < 20.672 / 2): unchanged.
  limit.update(sample(100, 10));
  assert.equal(limit.limit, 20);
  // The long-term latency is still the warm-up mean (its decay, applied
  // when it was over twice the rtt, lasts until the next mean): 1400 / 5 =
  // 280, gradient 1: 20.672 + 0.8 = 21.472.
  limit.update(sample(100, 20));
  assert.equal(limit.limit, 21);
});

test("gradient2() shrinks by at most 10% per window with the default smoothing", () => {
  const limit = bound(gradient2({ initial: 100, min: 1 }), 200);
  // The warm-up windows set the long-term latency; under-used, they leave
  // the limit alone.
  for (let i = 0; i < 10; i++) limit.update(sample(50, 40));
  assert.equal(limit.limit, 100);
  // The gradient is floored at 0.5: 100 × 0.8 + (100 × 0.5 + 4) × 0.2.
  limit.update(sample(5_000, 100));
  assert.equal(limit.limit, 90);
});

test("the built-in limits take the stream's capacity as max", () => {
  for (const make of [aimd, vegas, gradient2]) {
    const limit = bound(make({ initial: 30 }), 31);
    for (let i = 0; i < 30; i++) limit.update(sample(100, 31));
    assert.equal(limit.limit, 31, make.name);
  }
});

test("the built-in limits keep min and initial within a small capacity", () => {
  // Default min 20 and initial 20 shrink to a capacity of 5.
  for (const make of [aimd, vegas, gradient2]) {
    const limit = bound(make(), 5);
    assert.equal(limit.limit, 5, make.name);
  }
});

test("aimd() and gradient2() under a capacity of 20 or less still shrink under load: their default min is at most half of it", () => {
  // The default min of 20 used to be cut to max alone, which left no room.
  const aimdLimit = bound(aimd(), 10);
  assert.equal(aimdLimit.limit, 10);
  aimdLimit.update(sample(10, 10, 1));
  assert.equal(aimdLimit.limit, 9, "aimd() after a window with a drop");
  for (let i = 0; i < 20; i++) aimdLimit.update(sample(10, 10, 1));
  assert.equal(aimdLimit.limit, 5, "aimd() stops at half the capacity");
  const gradient = bound(gradient2({ queueSize: 1 }), 10);
  for (let i = 0; i < 5; i++) gradient.update(sample(10, 10));
  let lowest = gradient.limit;
  for (let i = 0; i < 50; i++) {
    gradient.update(sample(1000, 10));
    lowest = Math.min(lowest, gradient.limit);
  }
  assert.equal(lowest, 5, "gradient2() stops at half the capacity");
});

test("the built-in limits stay within [min, max] whatever they are fed", () => {
  const samples = fc.array(
    fc.record({
      rtt: fc.double({ min: 0, max: 1e6, noNaN: true }),
      inFlight: fc.integer({ min: 0, max: 300 }),
      calls: fc.constant(10),
      dropped: fc.integer({ min: 0, max: 3 }),
      timedOut: fc.constant(0),
    }),
    { maxLength: 200 },
  );
  const bounds = fc.record({
    min: fc.integer({ min: 1, max: 50 }),
    span: fc.integer({ min: 0, max: 100 }),
    capacity: fc.integer({ min: 150, max: 300 }),
  });
  fc.assert(
    fc.property(
      fc.constantFrom(aimd, vegas, gradient2),
      bounds,
      samples,
      (make, { min, span, capacity }, fed) => {
        const max = min + span;
        const limit = bound(make({ min, max, initial: min }), capacity);
        for (const s of fed) {
          limit.update(s);
          assert.ok(limit.limit >= min && limit.limit <= max, make.name);
          assert.ok(Number.isInteger(limit.limit));
        }
      },
    ),
  );
});

test("the built-in limits do not grow from under-used windows", () => {
  for (const make of [aimd, vegas, gradient2]) {
    const limit = bound(make({ initial: 40 }));
    for (let i = 0; i < 50; i++) {
      limit.update(sample(100, 19)); // 19 × 2 < 40
      assert.ok(limit.limit <= 40, make.name);
    }
  }
});

test("the built-in limits reject bounds that are not positive integers", () => {
  for (const make of [aimd, vegas, gradient2]) {
    for (const field of ["initial", "min", "max"]) {
      for (const value of [0, -1, 1.5, Number.NaN, "3"]) {
        assert.throws(
          () => make({ [field]: value }),
          // A string is not a number at all: a wrong shape.
          new (typeof value === "string" ? TypeError : RangeError)(
            `Cannot create the ${make.name} limit as ${field} must be a positive integer: current value is ${
              typeof value === "string" ? `"${value}"` : value
            }`,
          ),
        );
      }
    }
  }
});

test("the built-in limits reject inconsistent bounds", () => {
  assert.throws(
    () => aimd({ min: 10, max: 5 }),
    new RangeError(
      "Cannot create the aimd limit as min must not exceed max (5): current value is 10",
    ),
  );
  assert.throws(
    () => vegas({ min: 10, initial: 5 }),
    new RangeError(
      "Cannot create the vegas limit as initial must be at least min (10): current value is 5",
    ),
  );
  assert.throws(
    () => gradient2({ max: 10, initial: 50 }),
    new RangeError(
      "Cannot create the gradient2 limit as initial must not exceed max (10): current value is 50",
    ),
  );
});

test("the built-in limits refuse a max above the stream's capacity", () => {
  assert.throws(
    () => gradient2({ max: 200 }).bind!(100),
    new RangeError(
      "Cannot bind the gradient2 limit to capacity 100 as max must not exceed it: current value is 200",
    ),
  );
  assert.throws(
    () => vegas({ min: 150 }).bind!(100),
    new RangeError(
      "Cannot bind the vegas limit to capacity 100 as min must not exceed it: current value is 150",
    ),
  );
});

test("the built-in limits reject tuning values out of range", () => {
  const cases: [() => unknown, string][] = [
    [
      () => aimd({ backoffRatio: 1 }),
      "Cannot create the aimd limit as backoffRatio must be a number from 0.5 up to but not including 1: current value is 1",
    ],
    [
      () => aimd({ backoffRatio: 0.4 }),
      "Cannot create the aimd limit as backoffRatio must be a number from 0.5 up to but not including 1: current value is 0.4",
    ],
    [
      () => vegas({ alpha: 0 }),
      "Cannot create the vegas limit as alpha must be a positive finite number: current value is 0",
    ],
    [
      () => vegas({ alpha: 5, beta: 4 }),
      "Cannot create the vegas limit as beta must be at least alpha (5): current value is 4",
    ],
    [
      () => gradient2({ smoothing: 0 }),
      "Cannot create the gradient2 limit as smoothing must be a number above 0 and at most 1: current value is 0",
    ],
    [
      () => gradient2({ rttTolerance: 0.9 }),
      "Cannot create the gradient2 limit as rttTolerance must be a finite number of at least 1: current value is 0.9",
    ],
    [
      () => gradient2({ longWindow: 0 }),
      "Cannot create the gradient2 limit as longWindow must be a positive integer: current value is 0",
    ],
    [
      () => gradient2({ queueSize: -1 }),
      "Cannot create the gradient2 limit as queueSize must be a non-negative finite number: current value is -1",
    ],
  ];
  for (const [create, message] of cases) {
    assert.throws(create, new RangeError(message));
  }
});

test("the built-in limits reject options of the wrong shape", () => {
  assert.throws(
    () => aimd(null as never),
    new TypeError(
      "Cannot create the aimd limit as options must be an object: current value is null",
    ),
  );
  assert.throws(
    () => aimd({ timeoutIsDrop: "no" as never }),
    new TypeError(
      'Cannot create the aimd limit as timeoutIsDrop must be a boolean: current value is "no"',
    ),
  );
});
