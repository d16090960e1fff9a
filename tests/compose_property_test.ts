// A seeded fuzzer over combinations of features, on both front ends
// (AsyncIOTransformStream, and mapAsync over an async or a sync source): order,
// capacity, fixed or adaptive concurrency, timeout with or without a
// fallback, attemptTimeout, retry (on errors and on results), rateLimit,
// batch (both forms), every onError policy, watermarks, barriers, restore.
// The calls are settled by hand, in any order, late or twice, and the
// consumer reads only when the script says so, so backpressure, capacity and
// concurrency all bite. After every step, and at every call start, it checks:
// - bounds: at most `capacity` inputs (watermarks included) accepted and not
//   emitted; at most `concurrency` calls (batch calls) in flight; no more
//   starts in any `rateLimit.interval` than its limit;
// - key-ordered: no call starts while a call of its key runs (until it
//   settles or its signal aborts);
// - accounting: snapshot() holds exactly the accepted inputs not emitted
//   (not handed out, for mapAsync), and `stats` agree with what the calls saw
//   (accepted, pending, emitted, inFlight, retries, failedAttempts, failed,
//   timedOut, outputs);
// - ordering: input order (ordered), per-key order (key-ordered), no record
//   crosses a watermark, one input's outputs stay together, first calls
//   start in input order; a timed-out input's late result never comes out,
//   and no timeout comes early;
// - liveness: once the consumer reads and the calls complete, every input
//   comes out before the input ends (unless a batch may wait for ever);
// - at the end: every input exactly once; after a stop or a failure, every
//   running call's signal aborted, no call starts, and the snapshot restored
//   into the other front end runs the script again with the same checks;
// - at each barrier: what came out before it plus its state is exactly what
//   was accepted before it;
// - no timer that src/ armed is left after the end or a stop.
// The scenarios come from _compose_model.ts; _compose_driver.ts runs them on
// the front ends of _compose_front_ends.ts with the user code and options of
// _compose_calls.ts; _compose_outcome.ts reads back what came out.
// COMPOSE_SEED, COMPOSE_RUNS and COMPOSE_BIG_RUNS pick other runs;
// COMPOSE_SHRINK=1 shrinks a failure; COMPOSE_TIMEOUT (ms) allows long runs.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { type AsyncIOState, CheckpointBarrier, Watermark } from "../mod.ts";
import { settle } from "./_deferred.ts";
import { callActive } from "./_compose_calls.ts";
import {
  armed,
  ComposeRun,
  drainRestored,
  restoredScenario,
  trackTimers,
} from "./_compose_driver.ts";
import type { Stop } from "./_compose_front_ends.ts";
import { bigScenario, env, type Scenario, scenario } from "./_compose_model.ts";
import { analyse } from "./_compose_outcome.ts";
import { within } from "./_within.ts";

/** How far the runs got, printed with COMPOSE_COVERAGE=1: a fuzzer that never fills capacity proves little. */
const COVER = {
  accepted: 0,
  ended: 0,
  outputs: 0,
  stopped: 0,
  restored: 0,
  full: 0,
  concFull: 0,
};

/** The bounds and the accounting that hold after every step. */
function check(r: ComposeRun, where: string): void {
  const { s, log, view, capacity, concurrency, restore, restoredRecords } = r;
  assert.deepEqual(log.problems, [], where);
  const stats = view.stats;
  const snapshot = view.snapshot();
  const records = snapshot.entries.flatMap((e) =>
    e.kind === "record" ? [e.input] : []
  );
  if (snapshot.entries.length === capacity) COVER.full++;
  if (
    log.calls.filter(callActive).length === concurrency &&
    concurrency < capacity
  ) COVER.concFull++;
  // Restored entries not admitted yet count in snapshots, not in stats.
  const backlog = Math.max(0, restoredRecords.length - stats.accepted);
  const restoring = backlog > 0 ||
    (restore !== undefined && stats.accepted === restoredRecords.length);
  if (!r.stopped && !restoring) {
    assert.ok(
      snapshot.entries.length <= capacity,
      `${where}: ${snapshot.entries.length} entries over capacity ${capacity}`,
    );
  }
  assert.equal(
    records.length,
    stats.pending + backlog,
    `${where}: snapshot vs pending`,
  );
  assert.equal(stats.pending, stats.accepted - stats.emitted, where);
  assert.ok(stats.inFlight >= 0, `${where}: inFlight ${stats.inFlight}`);
  const accepted = r.acceptedRecords();
  assert.equal(stats.accepted, accepted.length, `${where}: accepted`);
  const { complete } = analyse(r, where);
  assert.equal(new Set(records).size, records.length, `${where}: dup`);
  for (const n of records) {
    assert.ok(
      accepted.includes(n) || restoredRecords.includes(n),
      `${where}: ${n} in snapshot`,
    );
    assert.ok(!complete.has(n), `${where}: ${n} both out and in snapshot`);
  }
  if (s.front === "mapAsync") {
    // Handed out, in the snapshot, or finished with nothing to hand out.
    for (const n of accepted) {
      if (complete.has(n) || records.includes(n)) continue;
      assert.ok(
        log.finishedInputs.has(n) || log.zeroOutputs.has(n),
        `${where}: ${n} neither handed out nor in snapshot`,
      );
    }
    assert.equal(
      stats.emitted,
      accepted.length - records.length + backlog,
      `${where}: emitted`,
    );
  }
  checkCounters(r, stats, where);
}

/** The counters in `stats` agree with what the calls and handlers saw. */
function checkCounters(
  r: ComposeRun,
  stats: ComposeRun["view"]["stats"],
  where: string,
): void {
  const { s, log } = r;
  if (s.timeout !== null) {
    // Under "fail", the first of the elements due together fails the
    // stream: the others timed out too, but meet no handler.
    if (s.policy === "fail" && !s.fallback) {
      assert.ok(stats.timedOut >= log.timeoutCalls, `${where}: timedOut`);
    } else {
      assert.equal(stats.timedOut, log.timeoutCalls, `${where}: timedOut`);
    }
  }
  if (s.batch === null) {
    assert.equal(stats.retries, log.retryStarts, `${where}: retries`);
    assert.equal(
      (stats as unknown as { failedAttempts: number }).failedAttempts,
      log.failedAttempts,
      `${where}: failedAttempts`,
    );
    if (!r.stopped) {
      const active = log.calls.filter(callActive).length;
      assert.equal(stats.inFlight, active, `${where}: inFlight`);
    }
  }
  if (s.policy !== "fail" && s.policy !== "settle") {
    assert.equal(stats.failed, log.policyCalls, `${where}: failed`);
  }
}

/** Runs the scenario, and the snapshot it leaves after a stop or a failure. */
export async function run(
  s: Scenario,
  restore?: AsyncIOState<number>,
): Promise<void> {
  const r = new ComposeRun(s, restore);
  await runScript(r);
  const stalls = s.batch === null || s.batch.maxWait !== Infinity;
  if (!r.stopped && stalls && r.gotError === undefined) await checkLive(r);
  if (!r.stopped) {
    await endInput(r);
    if (r.gotError === undefined) return await checkEnd(r);
  }
  const state = await checkStopped(r);
  const records = state.entries.flatMap((e) =>
    e.kind === "record" ? [e.input] : []
  );
  if (restore === undefined && records.length > 0) {
    // The same script again, from the snapshot: restored inputs first, into
    // a smaller capacity than the state may hold.
    return await run(restoredScenario(s), state);
  }
  await checkRestored(r, state, records);
}

/** The snapshot, restored into a fresh mapAsync, gives what it holds. */
async function checkRestored(
  r: ComposeRun,
  state: AsyncIOState<number>,
  records: number[],
): Promise<void> {
  const s = r.s;
  const again = await drainRestored(s, r.capacity, state);
  assert.deepEqual(
    again.filter((c) => typeof c === "number").toSorted((a, b) => a - b),
    records.toSorted((a, b) => a - b),
    "restored outputs",
  );
  if (s.order === "ordered") {
    assert.deepEqual(
      again.map((c) => typeof c === "number" ? c : `w${c.timestamp}`),
      state.entries.map((e) =>
        e.kind === "record" ? e.input : `w${e.timestamp}`
      ),
    );
  }
}

/** The script, step by step, with the checks after each. */
async function runScript(r: ComposeRun): Promise<void> {
  r.writeAhead();
  for (const [i, a] of r.s.actions.entries()) {
    const where = `step ${i} ${JSON.stringify(a)}`;
    if (a.kind === "wait") await settle(a.ms);
    else if (a.kind === "stop") stopRunning(r, a.how, where);
    else r.perform(a);
    await settle(0);
    // Barriers: what was accepted before each, once it went in.
    r.noteBarriers();
    if (r.gotError !== undefined || r.stopped) {
      r.markStopped();
      break;
    }
    check(r, where);
  }
}

/** A stop aborts the signal of every call that was running. */
function stopRunning(r: ComposeRun, how: Stop, where: string): void {
  for (const call of r.stop(how)) {
    assert.ok(call.signal.aborted, `${where}: a call not aborted`);
  }
}

/**
 * Liveness before the end of input: once the consumer reads and every call
 * completes, every input comes out (a batch closes by maxWait).
 */
async function checkLive(r: ComposeRun): Promise<void> {
  const offeredRecords = r.offered.filter((c) => typeof c === "number");
  for (let round = 0; round < 300; round++) {
    const stats = r.view.stats;
    if (
      stats.pending === 0 &&
      r.acceptedRecords().length === offeredRecords.length
    ) break;
    r.keepReading();
    await settle(round < 5 ? 0 : 1);
    r.resolveRunning();
    if (r.gotError !== undefined) break;
  }
  if (r.gotError === undefined && !r.ended) {
    assert.equal(r.view.stats.pending, 0, "pending before the end of input");
    assert.equal(
      r.acceptedRecords().length,
      offeredRecords.length,
      "accepted before the end of input",
    );
  }
}

/** Ends the input; reads and settles everything until the end. */
async function endInput(r: ComposeRun): Promise<void> {
  const closing = r.end();
  for (let round = 0; round < 300 && !r.ended; round++) {
    r.keepReading();
    await settle(round < 5 ? 0 : 1);
    r.resolveRunning();
    r.noteBarriers();
    if (r.gotError !== undefined) break;
  }
  await within(r.reads, "the reads");
  await within(closing, "the end");
}

/** At the end: every input exactly once, and nothing left behind. */
async function checkEnd(r: ComposeRun): Promise<void> {
  const { log, view } = r;
  assert.ok(r.ended, "the output never ended");
  check(r, "at the end");
  const { complete } = analyse(r, "at the end");
  for (const n of r.acceptedRecords()) {
    assert.ok(
      complete.has(n) || log.finishedInputs.has(n) || log.zeroOutputs.has(n),
      `at the end: ${n} never emitted`,
    );
  }
  assert.equal(view.snapshot().entries.length, 0, "left in the snapshot");
  await settle(0);
  assert.deepEqual([...armed.values()], [], "timers armed after the end");
  assert.equal(view.stats.inFlight, 0, "in flight at the end");
  assert.equal(
    (view.stats as unknown as { outputs: number }).outputs,
    r.got.filter((c) =>
      !(c instanceof Watermark || c instanceof CheckpointBarrier)
    ).length,
    "stats.outputs at the end",
  );
  COVER.ended++;
  COVER.outputs += r.got.length;
  COVER.accepted += r.acceptedRecords().length;
}

/**
 * Stopped or failed: no call starts afterwards, and the snapshot holds every
 * input that did not come out. Returns the snapshot.
 */
async function checkStopped(r: ComposeRun): Promise<AsyncIOState<number>> {
  const { log, view } = r;
  await settle(5);
  await within(r.reads, "the reads");
  assert.equal(log.startsAfterStop, 0, "calls started after the stop");
  assert.equal(view.stats.inFlight, 0, "in flight after the stop");
  assert.deepEqual([...armed.values()], [], "timers armed after the stop");
  const state = view.snapshot();
  const { complete } = analyse(r, "after the stop");
  const records = state.entries.flatMap((e) =>
    e.kind === "record" ? [e.input] : []
  );
  for (const n of r.acceptedRecords()) {
    assert.ok(!(complete.has(n) && records.includes(n)), `${n} out and kept`);
    // A reader's cancel discards what the readable held: it counts as read.
    if (r.s.front === "stream" && r.stoppedBy === "cancel") continue;
    assert.ok(
      complete.has(n) !== records.includes(n) ||
        (!complete.has(n) &&
          (log.finishedInputs.has(n) || log.zeroOutputs.has(n))),
      `after the stop: ${n} in snapshot ${records.includes(n)}, out ${
        complete.has(n)
      }`,
    );
  }
  COVER.stopped++;
  if (records.length > 0) COVER.restored++;
  return state;
}

/** Runs `numRuns` scenarios from `arbitrary`, each with its timers tracked. */
function checkScenarios(arbitrary: typeof scenario, numRuns: number) {
  return fc.assert(
    fc.asyncProperty(arbitrary, async (s) => {
      const untrack = trackTimers();
      try {
        await run(s);
      } finally {
        untrack();
      }
    }),
    {
      seed: Number(env("COMPOSE_SEED") ?? 20261130),
      numRuns,
      endOnFailure: env("COMPOSE_SHRINK") === undefined,
    },
  );
}

test(
  "AsyncIOTransformStream() and mapAsync() keep order, bounds and exactly-once accounting over random combinations of features at scale",
  { timeout: Number(env("COMPOSE_TIMEOUT") ?? 120_000) },
  () => checkScenarios(bigScenario, Number(env("COMPOSE_BIG_RUNS") ?? 20)),
);

test(
  "AsyncIOTransformStream() and mapAsync() keep order, bounds and exactly-once accounting over random combinations of features",
  { timeout: Number(env("COMPOSE_TIMEOUT") ?? 120_000) },
  async () => {
    await checkScenarios(scenario, Number(env("COMPOSE_RUNS") ?? 150));
    if (env("COMPOSE_COVERAGE")) console.log(COVER);
  },
);
