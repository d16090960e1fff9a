// The internal Timer under every wait (retry backoff, batch maxWait, the
// rate limiter): a delay that is not a finite number must not fire early.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_TIMER_DELAY, Timer } from "../src/_timer.ts";

/** Records each setTimeout delay while `body` runs; the timers run as usual. */
function recordingDelays(body: () => void): number[] {
  const delays: number[] = [];
  const original = globalThis.setTimeout;
  globalThis.setTimeout = ((...args: unknown[]) => {
    delays.push(Number(args[1] ?? 0));
    return Reflect.apply(original, globalThis, args);
  }) as typeof setTimeout;
  try {
    body();
  } finally {
    globalThis.setTimeout = original;
  }
  return delays;
}

for (const delay of [NaN, Infinity]) {
  test(`Timer.set(${delay}) waits for ever in links of at most 2^31-1 ms rather than firing at once`, async () => {
    let fired = 0;
    const timer = new Timer(() => fired++);
    const delays = recordingDelays(() => timer.set(delay));
    // A timer armed later with a longer delay fires after one that fires at once.
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(fired, 0);
    assert.equal(timer.armed, true);
    assert.deepEqual(delays, [MAX_TIMER_DELAY]);
    timer.clear();
    assert.equal(timer.armed, false);
  });
}

test("Timer.set() with a negative delay fires as soon as it can", async () => {
  let fired = 0;
  const timer = new Timer(() => fired++);
  timer.set(-5);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(fired, 1);
  assert.equal(timer.armed, false);
});
