// Review of the adaptive limits and the rate limit: each test failed on the
// code before the commit that fixed what it names.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  aimd,
  type ConcurrencyLimit,
  type ConcurrencySample,
  gradient2,
  vegas,
} from "../mod.ts";

function sample(
  rtt: number,
  inFlight: number,
  dropped = 0,
  timedOut = 0,
): ConcurrencySample {
  return { rtt, inFlight, calls: 100, dropped, timedOut };
}

function bound<T extends ConcurrencyLimit>(limit: T, capacity = 100): T {
  limit.bind?.(capacity);
  return limit;
}

test("the built-in limits start at a given initial below their default min", () => {
  // aimd() and gradient2() default min to 20: an initial of 10 was raised
  // to it, silently (AimdOptions' own example gives initial: 10).
  for (const make of [aimd, vegas, gradient2]) {
    assert.equal(make({ initial: 10 }).limit, 10, make.name);
    const limit = bound(make({ initial: 10 }));
    assert.equal(limit.limit, 10, make.name);
    // The default min follows the initial down, and a given min still wins.
    limit.update(sample(100, 10, 5, 0));
    assert.ok(limit.limit <= 10, make.name);
    assert.ok(limit.limit >= 1, make.name);
  }
  assert.throws(() => aimd({ initial: 10, min: 20 }), RangeError);
});
