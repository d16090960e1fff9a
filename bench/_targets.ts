// The targets table of bench/RESULTS.md, and what the reference rows bound:
// how far the least possible pipeline of each kind gets.
import { mib, percent, times } from "./_stats.ts";
import type { Results, Row, ScenarioResult } from "./_results.ts";
import {
  isReference,
  MINIMAL_STREAM,
  pairedRatio,
  READABLE_MAP_BOUNDED,
  row,
  scenario,
} from "./_results.ts";

/** The fastest row that is neither ours nor a reference. */
function bestPeer(result: ScenarioResult): Row {
  const peers = result.rows.filter((r) =>
    !r.name.startsWith("ours") && !isReference(r.name)
  );
  return peers.reduce((a, b) => a.itemsPerSecond >= b.itemsPerSecond ? a : b);
}

interface Target {
  what: string;
  goal: string;
  measured: string;
  pass: boolean;
}

/** The goals a run is judged against, each with what it measured. */
export function targets(results: Results): Target[] {
  const overhead = scenario(results, "overhead");
  const timeout = scenario(results, "timeout");
  const fixed = scenario(results, "fixed");
  const skewed = scenario(results, "skewed");
  const out: Target[] = [];
  for (const order of ["ordered", "unordered"]) {
    const ours = row(overhead, `ours, ${order}`);
    out.push({
      what: `overhead, ${order}, against the pass-through floor`,
      goal: "≥ 85%",
      measured: percent(ours.ratio, 1),
      pass: ours.ratio >= 0.85,
    });
  }
  for (const order of ["ordered", "unordered"]) {
    const ours = row(timeout, `ours, ${order}, timeout`);
    out.push({
      what: `overhead with a timeout, ${order}, against the floor`,
      goal: "≥ 70%",
      measured: percent(ours.ratio, 1),
      pass: ours.ratio >= 0.70,
    });
  }
  for (const order of ["ordered", "unordered"]) {
    const ours = row(overhead, `ours, ${order}`);
    const node = pairedRatio(ours, row(overhead, "node:stream Readable.map"));
    const rx = pairedRatio(ours, row(overhead, "RxJS mergeMap"));
    out.push({
      what: `overhead, ${order}, against Readable.map`,
      goal: "≥ 1.5×",
      measured: times(node),
      pass: node >= 1.5,
    }, {
      what: `overhead, ${order}, against RxJS mergeMap`,
      goal: "≥ 3×",
      measured: times(rx),
      pass: rx >= 3,
    });
  }
  for (
    const [order, goal] of [["unordered", 0.97], ["ordered", 0.95]] as const
  ) {
    const efficiency = row(fixed, `ours, ${order}`).efficiency!;
    out.push({
      what: `fixed latency, ${order}, against Little's bound`,
      goal: `≥ ${percent(goal)}`,
      measured: percent(efficiency),
      pass: efficiency >= goal,
    });
  }
  const best = bestPeer(fixed);
  const againstBest = pairedRatio(row(fixed, "ours, unordered"), best);
  out.push({
    what: `fixed latency, unordered, against the best peer (${best.name})`,
    goal: "≥ 1.00×",
    measured: times(againstBest),
    pass: againstBest >= 1,
  });
  // Equal capacity: each holds at most 100 inputs accepted and not emitted.
  const bounded = skewed.rows.find((r) => r.name === READABLE_MAP_BOUNDED);
  if (bounded !== undefined) {
    const ratio = pairedRatio(row(skewed, "ours, ordered"), bounded);
    out.push({
      what:
        "skewed latency, ordered, against Readable.map at equal capacity (highWaterMark 0: each holds at most 100)",
      goal: "≥ 1.00×",
      measured: times(ratio),
      pass: ratio >= 1,
    });
  }
  const split = skewed.rows.find((r) =>
    r.name === "ours, ordered, capacity 199, concurrency 100"
  );
  if (split !== undefined) {
    out.push({
      what:
        "skewed latency, ordered, concurrency 100 and capacity 199 (as Readable.map holds), against Readable.map",
      goal: "≥ 1.00×",
      measured: times(split.ratio),
      pass: split.ratio >= 1,
    });
  }
  const iterable = results.scenarios.find((s) => s.id === "iterable");
  if (iterable !== undefined) {
    for (
      const [ours, peer, goal] of [
        ["mapAsync, ordered", "p-map pMapIterable", 3],
        [
          "mapAsync, unordered",
          "p-map pMapIterable (preserveOrder: false)",
          3,
        ],
        ["mapAsync, ordered, fn reads its signal", "p-map pMapIterable", 2.5],
        [
          "mapAsync, unordered, fn reads its signal",
          "p-map pMapIterable (preserveOrder: false)",
          2.5,
        ],
      ] as const
    ) {
      const ratio = pairedRatio(row(iterable, ours), row(iterable, peer));
      out.push({
        what: `iterable overhead, ${ours} against ${peer}`,
        goal: `≥ ${goal}×`,
        measured: times(ratio),
        pass: ratio >= goal,
      });
    }
  }
  for (const run of results.inFlight ?? []) {
    if (!run.pipeline.startsWith("mapAsync")) continue;
    out.push({
      what:
        `heap per in-flight call, ${run.pipeline} (the caller's pending promise included)`,
      goal: "≤ 1 KB",
      measured: `${run.bytesPerItem.toFixed(0)} B`,
      pass: run.bytesPerItem <= 1024,
    });
  }
  for (const run of results.memory.filter((m) => m.items >= 1_000_000)) {
    const growth = run.heapAfter - run.heapBefore;
    out.push({
      what: `memory, ${run.order}, heap growth after ${run.items} items`,
      goal: "< 16 MiB",
      measured: mib(growth),
      pass: growth < 16 * 2 ** 20,
    }, {
      what: `memory, ${run.order}, nothing left (timers, listeners)`,
      goal: "exits by itself, 0 listeners",
      measured: `${
        run.exitedPromptly ? "exited by itself" : "did NOT exit by itself"
      }, ${run.listenersLeft} listeners`,
      pass: run.exitedPromptly && run.listenersLeft === 0,
    });
  }
  return out;
}

/**
 * What the reference rows say about the goals: how far the least possible
 * pipeline of each kind gets, measured in the same rounds.
 */
export function referenceBounds(results: Results): string[] {
  const overhead = scenario(results, "overhead");
  const floor = (name: string) => percent(row(overhead, name).ratio, 1);
  const lines = [
    "What the reference rows bound, in this run:",
    "",
    `- Any TransformStream with a \`transform\` callback reaches ${
      floor("TransformStream, sync transform (no fn)")
    } of the floor, and the least a concurrent map can do (\`fn(x).then(enqueue)\`, no bound, no order) ${
      floor("minimal concurrent map: fn(x).then(enqueue)")
    }. A stream that calls a promise-returning \`fn\` per chunk pays both.`,
  ];
  const stream = overhead.rows.find((r) => r.name === MINIMAL_STREAM);
  if (stream !== undefined) {
    lines.push(
      `- Built as ours is, on a writable and a readable of its own rather than a TransformStream, the least an ordered, bounded stream can do (one call, one \`.then\`, a ring of slots; no signal, stop, timeout, snapshot or stats) reaches ${
        percent(stream.ratio, 1)
      } of the floor: the most any bookkeeping on top of it can leave.`,
    );
  }
  const fixed = results.scenarios.find((s) => s.id === "fixed");
  const fixedStream = fixed?.rows.find((r) => r.name === MINIMAL_STREAM);
  if (fixed !== undefined && fixedStream !== undefined) {
    const best = bestPeer(fixed);
    lines.push(
      `- At 5 ms per call, that minimal stream reaches ${
        times(pairedRatio(fixedStream, best))
      } the best peer (${best.name}), which is not a stream.`,
    );
  }
  const iterable = results.scenarios.find((s) => s.id === "iterable");
  const minimal = iterable?.rows.find((r) =>
    r.name.startsWith("minimal bounded ordered iterator")
  );
  if (minimal !== undefined) {
    lines.push(
      `- The least a bounded, ordered async iterator can do (one call, one \`.then\`, a ring of slots; no signal, stop or snapshot) reaches ${
        times(minimal.ratio)
      } pMapIterable.`,
    );
  }
  return [...lines, ""];
}
