// Review of the adaptive limits and the rate limit: each test failed on the
// code before the commit that fixed what it names.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  aimd,
  AsyncIOTransformStream,
  type ConcurrencyLimit,
  gradient2,
  vegas,
} from "../mod.ts";
import { bound, sample } from "./_limits.ts";
import { RateLimiter } from "../src/_rate_limiter.ts";

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

test("the built-in limits stay whole numbers within [min, max] when fed non-finite values", () => {
  // gradient2() took an Infinity rtt into its long-term average, and its
  // limit became NaN for good: the stream then failed on its next window.
  const odd = [Infinity, -Infinity, NaN, -1, 0, Number.MAX_VALUE];
  for (const make of [aimd, vegas, gradient2]) {
    for (const rtt of odd) {
      for (const inFlight of [NaN, Infinity, -1, 20]) {
        const limit = bound(make({ min: 5, max: 50, initial: 20 }));
        limit.update(sample(100, 20)); // a first, sane window
        limit.update(sample(rtt, inFlight));
        limit.update(sample(rtt, inFlight, NaN, NaN));
        for (let i = 0; i < 20; i++) limit.update(sample(100, 50));
        const name = `${make.name} rtt ${rtt} inFlight ${inFlight}`;
        assert.ok(Number.isInteger(limit.limit), name);
        assert.ok(limit.limit >= 5 && limit.limit <= 50, name);
      }
    }
  }
});

test("vegas() shrinks after any window with drops, and learns no latency from one", () => {
  // Its first window only learned the no-load latency, drops or not.
  const first = bound(vegas({ initial: 50 }));
  first.update(sample(100, 50, 10, 0));
  assert.ok(first.limit < 50, `${first.limit}`);
  // A window of fast failures (503s in a few ms) was taken as the new
  // no-load latency instead of shrinking the limit. Once the backend
  // recovered, its usual 100 ms looked like a queue of 80% of the limit,
  // and the limit collapsed, until a probe 15 to 30 × limit windows later.
  const limit = bound(vegas({ initial: 50 }));
  limit.update(sample(100, 50)); // learns the no-load latency
  const before = limit.limit;
  limit.update(sample(20, 50, 40, 0)); // fast failures
  const afterDrops = limit.limit;
  assert.ok(afterDrops < before, `${afterDrops} < ${before}`);
  for (let i = 0; i < 10; i++) limit.update(sample(100, limit.limit));
  assert.ok(limit.limit >= afterDrops, `${limit.limit} >= ${afterDrops}`);
});

test("vegas() keeps a defaulted alpha or beta on the right side of the given one", () => {
  // A queue of 8 is below a given alpha of 10, so the limit grows; the
  // default beta of 6 (a limit of 20) made it shrink instead.
  const rttForQueue = (queue: number, limit: number) =>
    100 / (1 - queue / limit);
  const alpha = bound(vegas({ initial: 20, alpha: 10 }));
  alpha.update(sample(100, 20)); // learns the no-load latency
  alpha.update(sample(rttForQueue(8, 20), 20));
  assert.ok(alpha.limit > 20, `${alpha.limit}`);
  // A queue of 2 is not above a given beta of 2, nor below alpha, which may
  // not exceed beta: the limit holds. The default alpha of 3 made it grow.
  const beta = bound(vegas({ initial: 20, beta: 2 }));
  beta.update(sample(100, 20));
  beta.update(sample(rttForQueue(2, 20), 20));
  assert.equal(beta.limit, 20);
});

test("vegas() under a stream keeps its limit through a burst of fast retryable failures", async () => {
  // A simulated backend on a stepped clock: every call takes 100 ms, with no
  // queue at any concurrency, except for 300 ms in which calls fail after
  // 20 ms with a retried error. The limit fell from 100 to 12 and stayed
  // there: those 20 ms were taken as the no-load latency.
  const realNow = performance.now.bind(performance);
  let now = 0;
  performance.now = () => now;
  try {
    class Busy extends Error {}
    const due: { at: number; end: () => void }[] = [];
    const stream = new AsyncIOTransformStream(
      (n: number) =>
        new Promise<number>((resolve, reject) => {
          const busy = now >= 20_000 && now < 20_300;
          due.push(
            busy
              ? { at: now + 20, end: () => reject(new Busy()) }
              : { at: now + 100, end: () => resolve(n) },
          );
        }),
      {
        capacity: 100,
        order: "unordered",
        concurrency: vegas({ initial: 20 }),
        retry: {
          maxAttempts: 100,
          delay: 0,
          retryOnError: (error) => error instanceof Busy,
        },
      },
    );
    const reader = stream.readable.getReader();
    void (async () => {
      while (!(await reader.read()).done);
    })().catch(() => {});
    const writer = stream.writable.getWriter();
    void (async () => {
      for (let i = 0;; i++) await writer.write(i);
    })().catch(() => {});
    let before = 0;
    for (let step = 0; step < 100_000 && now < 40_000; step++) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      due.sort((a, b) => a.at - b.at);
      if (due.length === 0) continue;
      now = Math.max(now, due[0]!.at);
      while (due.length > 0 && due[0]!.at <= now) due.shift()!.end();
      if (now < 20_000) before = stream.stats.concurrency;
    }
    assert.ok(now >= 40_000, `the simulation reached ${now} ms`);
    assert.equal(before, 100);
    const after = stream.stats.concurrency;
    assert.ok(after >= 90, `${after} calls allowed 20 s after the burst`);
    await writer.abort("done");
  } finally {
    performance.now = realNow;
  }
});

test("gradient2() shrinks for latency down to 2 × queueSize at the lowest, as documented", () => {
  // The gradient takes at most half the limit off and queueSize is added
  // back, so below 2 × queueSize latency cannot shrink it; min: 1 does not
  // change that, a lower queueSize does.
  for (const queueSize of [4, 1]) {
    const limit = bound(gradient2({ min: 1, initial: 40, queueSize }));
    for (let i = 0; i < 10; i++) limit.update(sample(100, 0)); // warm-up
    let lowest = Infinity;
    for (let i = 0; i < 60; i++) {
      limit.update(sample(1_000, limit.limit)); // 10 × the usual latency
      lowest = Math.min(lowest, limit.limit);
    }
    assert.equal(lowest, 2 * queueSize);
  }
});

test("the built-in limits' bind() refuses a capacity that is not a positive integer", () => {
  // bind() is public; bind(0) made the limit 0 and bind(NaN) made it NaN.
  for (const make of [aimd, vegas, gradient2]) {
    for (const capacity of [0, -1, 2.5, NaN, Infinity]) {
      assert.throws(
        () => make().bind!(capacity),
        new RangeError(
          `Cannot bind the ${make.name} limit as capacity must be a positive integer: current value is ${capacity}`,
        ),
      );
    }
    assert.throws(
      () => make().bind!("5" as unknown as number),
      new TypeError(
        `Cannot bind the ${make.name} limit as capacity must be a positive integer: current value is "5"`,
      ),
    );
  }
});

test("a limit that jumps every window never has more calls started than it allows, with or without batch", async () => {
  // Found sound: pinned so that dispatcher changes keep it. On a stepped
  // clock each window closes after 10 samples; the limit then jumps to a
  // pseudo-random value from 1 to 40 (capacity 30 clamps it).
  const realNow = performance.now.bind(performance);
  let now = 0;
  performance.now = () => now;
  try {
    for (const batched of [false, true]) {
      let seed = 7;
      const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
      let updates = 0;
      const jumpy: ConcurrencyLimit = {
        limit: 5,
        update() {
          updates++;
          (this as { limit: number }).limit = 1 + Math.floor(random() * 40);
        },
      };
      const pending: (() => void)[] = [];
      let running = 0;
      let started = 0;
      const violations: string[] = [];
      const call = <T>(value: T): Promise<T> => {
        running++;
        started++;
        // What the limit says, within 1 and capacity: the stream may hold
        // below it (after an under-used window), never above.
        const says = Math.max(1, Math.min(30, jumpy.limit));
        const allowed = stream.stats.concurrency;
        if (running > allowed || allowed > says || allowed < 1) {
          violations.push(`${running} running, ${allowed} allowed of ${says}`);
        }
        return new Promise<T>((resolve) =>
          pending.push(() => {
            running--;
            resolve(value);
          })
        );
      };
      const stream = batched
        ? new AsyncIOTransformStream((inputs: number[]) => call(inputs), {
          capacity: 30,
          order: "unordered",
          concurrency: jumpy,
          batch: { maxSize: 3, maxWait: 0 },
        })
        : new AsyncIOTransformStream((n: number) => call(n), {
          capacity: 30,
          order: "unordered",
          concurrency: jumpy,
        });
      const output = Array.fromAsync(
        ReadableStream.from(Array.from({ length: 1_500 }, (_, i) => i))
          .pipeThrough(stream),
      );
      let done = false;
      void output.then(() => done = true);
      while (!done) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        if (pending.length === 0) continue;
        now += 150;
        pending.splice(Math.floor(random() * pending.length), 1)[0]!();
      }
      assert.equal((await output).length, 1_500);
      assert.deepEqual(violations, []);
      assert.ok(updates >= 20, `${updates} windows closed`);
      assert.ok(started >= (batched ? 500 : 1_500));
    }
  } finally {
    performance.now = realNow;
  }
});

test("RateLimiter above 64 holds back at most ceil(limit / 64) - 1 starts, for up to a window after a pause", () => {
  // The README said a burst waits at most 1/64 of a window longer than an
  // exact sliding window: after a pause, a start can wait a whole window.
  const paused = new RateLimiter(128, 1_000);
  assert.ok(paused.tryAcquire(0));
  for (let i = 1; i < 128; i++) assert.ok(paused.tryAcquire(999));
  // Exact: the start at 0 left the window at 1 000. Here it shares a
  // bucket (2 starts a bucket) with one at 999, so it counts until 1 999.
  assert.equal(paused.waitAfter(1_000), 999);
  assert.ok(paused.tryAcquire(1_999));
  // What holds: never more than `limit` starts in a window, and a start is
  // refused only while the window holds limit - (ceil(limit / 64) - 1).
  let seed = 5;
  const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  for (let trial = 0; trial < 300; trial++) {
    const limit = 65 + Math.floor(random() * 400);
    const slack = Math.ceil(limit / 64) - 1;
    const limiter = new RateLimiter(limit, 1_000);
    const starts: number[] = [];
    let time = 0;
    for (let i = 0; i < 1_500; i++) {
      time += random() < 0.5 ? 0 : random() * (random() < 0.1 ? 500 : 10);
      const inWindow = starts.filter((at) => time - at < 1_000).length;
      if (limiter.tryAcquire(time)) {
        starts.push(time);
        assert.ok(inWindow < limit, `${inWindow + 1} starts in a window`);
      } else {
        assert.ok(inWindow >= limit - slack, `refused at ${inWindow}/${limit}`);
      }
    }
  }
});
