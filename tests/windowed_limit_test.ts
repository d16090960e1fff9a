import { test } from "node:test";
import assert from "node:assert/strict";
import type { ConcurrencyLimit, ConcurrencySample } from "../mod.ts";
import { gradient2 } from "../mod.ts";
import {
  DROPPED,
  SUCCEEDED,
  TIMED_OUT,
  WindowedLimit,
} from "../src/_windowed_limit.ts";

/** A limit that records its samples and moves to whatever `next` says. */
class Scripted implements ConcurrencyLimit {
  limit: number;
  samples: ConcurrencySample[] = [];
  boundTo: number | undefined;
  next: (limit: number) => number = (limit) => limit;
  constructor(limit: number) {
    this.limit = limit;
  }
  update(sample: ConcurrencySample): void {
    this.samples.push(sample);
    this.limit = this.next(this.limit);
  }
  bind(capacity: number): void {
    this.boundTo = capacity;
  }
}

function clock() {
  const clock = { time: 0, now: () => clock.time };
  return clock;
}

test("WindowedLimit closes a window after 1 s only once it holds 10 samples", () => {
  const time = clock();
  const scripted = new Scripted(10);
  const windowed = new WindowedLimit(scripted, 100, time.now);
  // Ten samples inside 500 ms: the window is not a second old yet.
  for (let i = 0; i < 10; i++) {
    time.time += 50;
    windowed.record(time.time - 20, 5, SUCCEEDED);
  }
  assert.equal(scripted.samples.length, 0);
  time.time = 1_050; // a second after the window's first sample
  windowed.record(time.time - 20, 5, SUCCEEDED);
  assert.equal(scripted.samples.length, 1);
  // Then nine samples over two seconds: still too few.
  for (let i = 0; i < 9; i++) {
    time.time += 250;
    windowed.record(time.time - 20, 5, SUCCEEDED);
  }
  assert.equal(scripted.samples.length, 1);
  time.time += 250;
  windowed.record(time.time - 20, 5, SUCCEEDED);
  assert.equal(scripted.samples.length, 2);
  assert.equal(scripted.samples[1]!.calls, 10);
});

test("WindowedLimit aggregates mean rtt, most in flight and drops", () => {
  const time = clock();
  const scripted = new Scripted(10);
  const windowed = new WindowedLimit(scripted, 100, time.now);
  const rtts = [10, 20, 30, 40, 50, 60, 70, 80, 90, 1_100];
  const outcomes = [
    SUCCEEDED,
    DROPPED,
    TIMED_OUT,
    SUCCEEDED,
    TIMED_OUT,
    SUCCEEDED,
    SUCCEEDED,
    SUCCEEDED,
    SUCCEEDED,
    SUCCEEDED,
  ] as const;
  rtts.forEach((rtt, i) => {
    time.time = 1_000 + i * 120;
    windowed.record(time.time - rtt, 3 + (i % 4), outcomes[i]!);
  });
  assert.deepEqual(scripted.samples, [{
    rtt: 155, // (450 + 1100) / 10
    inFlight: 6,
    calls: 10,
    dropped: 3,
    timedOut: 2,
  }]);
});

function fillWindow(
  windowed: WindowedLimit,
  time: { time: number },
  inFlight: number,
): void {
  for (let i = 0; i < 10; i++) {
    time.time += 112;
    windowed.record(time.time - 10, inFlight, SUCCEEDED);
  }
}

test("WindowedLimit does not raise the limit after a window used below half of it", () => {
  const time = clock();
  const scripted = new Scripted(10);
  scripted.next = (limit) => limit + 10;
  const windowed = new WindowedLimit(scripted, 100, time.now);
  fillWindow(windowed, time, 4); // 4 < 10 / 2
  assert.equal(scripted.samples.length, 1);
  assert.equal(windowed.limit, 10);
  fillWindow(windowed, time, 5); // half is enough
  assert.equal(windowed.limit, 30); // the limit said 20, then 30
  // Lowering is always allowed.
  scripted.next = () => 3;
  fillWindow(windowed, time, 1);
  assert.equal(windowed.limit, 3);
});

test("WindowedLimit keeps the limit a whole number from 1 to capacity", () => {
  const time = clock();
  const scripted = new Scripted(1e9);
  const windowed = new WindowedLimit(scripted, 64, time.now);
  assert.equal(scripted.boundTo, 64);
  assert.equal(windowed.limit, 64);
  for (const [said, used] of [[7.9, 7], [0.5, 1], [-3, 1], [Infinity, 64]]) {
    scripted.next = () => said!;
    fillWindow(windowed, time, 64);
    assert.equal(windowed.limit, used, `${said}`);
  }
});

test("WindowedLimit reports whether a window changed the limit", () => {
  const time = clock();
  const scripted = new Scripted(10);
  const windowed = new WindowedLimit(scripted, 100, time.now);
  const changes: boolean[] = [];
  for (const next of [10, 12, 12, 4]) {
    scripted.next = () => next;
    for (let i = 0; i < 10; i++) {
      time.time += 112;
      changes.push(windowed.record(time.time - 10, 10, SUCCEEDED));
    }
  }
  assert.deepEqual(
    changes.map((changed, i) => changed ? i : -1).filter((i) => i >= 0),
    [19, 39],
  );
});

test("WindowedLimit rejects a limit that is not a number", () => {
  const time = clock();
  const scripted = new Scripted(10);
  const windowed = new WindowedLimit(scripted, 100, time.now);
  scripted.next = () => Number.NaN;
  assert.throws(
    () => fillWindow(windowed, time, 10),
    new RangeError(
      "Cannot use the concurrency limit as its limit must be a number: current value is NaN",
    ),
  );
  // Not a number at all: a wrong shape.
  assert.throws(
    () => new WindowedLimit({ limit: "5" as never, update() {} }, 100),
    new TypeError(
      'Cannot use the concurrency limit as its limit must be a number: current value is "5"',
    ),
  );
});

test("WindowedLimit binds a built-in limit to the capacity", () => {
  assert.throws(
    () => new WindowedLimit(gradient2({ max: 50 }), 40),
    new RangeError(
      "Cannot bind the gradient2 limit to capacity 40 as max must not exceed it: current value is 50",
    ),
  );
  assert.throws(
    () => new WindowedLimit(gradient2({ initial: 30 }), 25),
    new RangeError(
      "Cannot bind the gradient2 limit to capacity 25 as initial must not exceed it: current value is 30",
    ),
  );
  // The default initial 20 (and min 20) shrink to the capacity.
  assert.equal(new WindowedLimit(gradient2(), 15).limit, 15);
});
