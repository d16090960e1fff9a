// Renders bench/RESULTS.md from the measured results, targets included.
import { median, percent, rate, times } from "./_stats.ts";
import type { Results, Row, ScenarioResult } from "./_results.ts";
import { isReference, MINIMAL_STREAM } from "./_results.ts";

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

function scenario(results: Results, id: string): ScenarioResult {
  const found = results.scenarios.find((s) => s.id === id);
  if (found === undefined) throw new Error(`No scenario ${id}`);
  return found;
}

function row(result: ScenarioResult, name: string): Row {
  const found = result.rows.find((r) => r.name === name);
  if (found === undefined) throw new Error(`No row ${name} in ${result.id}`);
  return found;
}

/** The median of the per-round ratios of two rows of one scenario. */
function pairedRatio(a: Row, b: Row): number {
  return median(a.rounds.map((value, i) => value / b.rounds[i]!));
}

interface Target {
  what: string;
  goal: string;
  measured: string;
  pass: boolean;
}

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
  const peers = fixed.rows.filter((r) =>
    !r.name.startsWith("ours") && !isReference(r.name)
  );
  const best = peers.reduce((a, b) =>
    a.itemsPerSecond >= b.itemsPerSecond ? a : b
  );
  const againstBest = pairedRatio(row(fixed, "ours, unordered"), best);
  out.push({
    what: `fixed latency, unordered, against the best peer (${best.name})`,
    goal: "≥ 1.00×",
    measured: times(againstBest),
    pass: againstBest >= 1,
  });
  const ordered = row(skewed, "ours, ordered");
  out.push({
    what: "skewed latency, ordered, against Readable.map at equal capacity",
    goal: "≥ 1.00×",
    measured: times(ordered.ratio),
    pass: ordered.ratio >= 1,
  });
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

function table(
  result: ScenarioResult,
  extra: "efficiency" | "inFlight" | "",
): string {
  const head = [
    "pipeline",
    "capacity",
    "items/s (median)",
    `ratio to ${result.reference}`,
  ];
  if (result.bound !== undefined) head.push("of Little's bound");
  if (extra === "inFlight") head.push("calls in flight (avg)");
  const lines = [
    `| ${head.join(" | ")} |`,
    `| ${head.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`,
  ];
  for (const r of result.rows) {
    const cells = [
      r.name,
      String(r.capacity),
      rate(r.itemsPerSecond),
      times(r.ratio),
    ];
    if (result.bound !== undefined) cells.push(percent(r.efficiency ?? NaN));
    if (extra === "inFlight") cells.push((r.averageInFlight ?? NaN).toFixed(0));
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

export function renderReport(results: Results): string {
  const m = results.machine;
  const [overhead, timeout, fixed, skewed] = [
    "overhead",
    "timeout",
    "fixed",
    "skewed",
  ]
    .map((id) => scenario(results, id)) as [
      ScenarioResult,
      ScenarioResult,
      ScenarioResult,
      ScenarioResult,
    ];
  const out: string[] = [];
  out.push(
    "# Benchmark results",
    "",
    "Generated by `deno task bench:compare`; do not edit by hand (`deno task bench:chart` redraws this file and the chart from `bench/results.json`).",
    "",
    "Adaptive concurrency (fixed limits against `aimd()`, `vegas()` and `gradient2()` on a backend whose capacity moves) has its own report, with its table and chart: [ADAPTIVE.md](ADAPTIVE.md), from `deno task bench:adaptive`.",
    "",
    "## Machine",
    "",
    `- date: ${m.date}`,
    `- CPUs: ${m.cpus} × ${m.cpuModel}`,
    `- memory: ${m.memoryGiB.toFixed(1)} GiB`,
    `- OS: ${m.os}`,
    `- runtime: Deno ${m.deno}, V8 ${m.v8}, TypeScript ${m.typescript}`,
    `- peers: ${
      Object.entries(m.peers).map(([k, v]) => `${k} (${v})`).join(", ")
    }`,
    `- run: ${results.quick ? "quick (--quick)" : "full"}, ${
      results.seconds.toFixed(0)
    } s; every scenario runs in a fresh process of its own (as JMH forks a JVM per benchmark: in one shared process, the scenarios that ran before moved pMapIterable's throughput by up to 2×), its pipelines in interleaved rounds after a warm-up round, and reports medians (ratios are medians of the per-round ratios)`,
    "",
    "## Targets",
    "",
    "| target | goal | measured | |",
    "| --- | --- | --- | --- |",
    ...targets(results).map((t) =>
      `| ${t.what} | ${t.goal} | ${t.measured} | ${
        t.pass ? "pass" : "**FAIL**"
      } |`
    ),
    "",
    ...bounds(results),
    `## ${overhead.title}`,
    "",
    `${overhead.items} items, \`async (x) => x\`. The second to fourth rows are references, not peers: any TransformStream with a \`transform\` callback; the least a concurrent map can do per item (one call, one \`.then\`, one enqueue; no bound, no order); and the least an ordered, bounded stream on its own writable and readable can do, as ours is built (see \`minimalStreamMap\` in \`bench/_peers.ts\`).`,
    "",
    table(overhead, ""),
    "",
    `## ${timeout.title}`,
    "",
    `${timeout.items} items. The last row's function reads \`signal\`, which creates an AbortController per call.`,
    "",
    table(timeout, ""),
    "",
    `## ${fixed.title}`,
    "",
    `${fixed.items} items. A lone call takes ${
      results.fixedLoneMs.toFixed(2)
    } ms (median), so Little's law bounds capacity 100 at ${
      rate(fixed.bound!)
    } items/s. Above 100% is possible: a lone call pays the timer's rounding up to the next millisecond tick in full, while calls started together share ticks.`,
    "",
    table(fixed, "efficiency"),
    "",
    `## ${skewed.title}`,
    "",
    `${skewed.items} items with latencies drawn uniformly from 1–10 ms (the same sequence for every pipeline); alone they take ${
      results.skewedLoneMeanMs.toFixed(2)
    } ms on average, so the bound at capacity 100 is ${
      rate(skewed.bound!)
    } items/s. Calls in flight on average = throughput × mean latency (Little's law). Our capacity counts inputs accepted but not emitted, so in ordered mode a slow head holds completed results and stops new calls; \`Readable.map\` with \`concurrency: c\` keeps up to c calls in flight and up to 2c − 1 unemitted results, hence the row at capacity 199, which also lets up to 199 calls run. Where the library has a \`concurrency\` option (calls in flight, apart from \`capacity\`), a row with capacity 199 and concurrency 100 holds what \`Readable.map\` holds and runs as many calls.`,
    "",
    table(skewed, "inFlight"),
    "",
    ...iterableSection(results),
    "## Throughput against capacity",
    "",
    `5 ms calls; ${
      results.sweep.capacities.join(", ")
    } at once; the dashed line is Little's law bound, capacity ÷ ${
      results.sweep.latencyMs.toFixed(2)
    } ms.`,
    "",
    "![Throughput against capacity](throughput.svg)",
    "",
    `| pipeline | ${results.sweep.capacities.join(" | ")} |`,
    `| --- | ${results.sweep.capacities.map(() => "---:").join(" | ")} |`,
    ...results.sweep.series.map((s) =>
      `| ${s.name} | ${
        s.points.map((p) => rate(p.itemsPerSecond)).join(" | ")
      } |`
    ),
    `| Little's bound | ${
      results.sweep.capacities.map((c) =>
        rate(c / (results.sweep.latencyMs / 1000))
      )
        .join(" | ")
    } |`,
    "",
    "## 6. Memory",
    "",
    "Ours at capacity 100 with a 30 s timeout and an abort signal, `async (x) => x`, each run in its own process (`bench/_memory_child.ts`). Heap is measured after two forced collections; peak RSS is the kernel's VmHWM for the whole process. The child never calls `Deno.exit`: it must exit by itself once the stream ends, which a timer left armed or a listener left on the signal would prevent.",
    "",
    "| items | order | items/s | heap before | heap after | growth | heap peak (sampled) | peak RSS | listeners left | exited by itself |",
    "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ...results.memory.map((r) =>
      `| ${r.items} | ${r.order} | ${rate(r.itemsPerSecond)} | ${
        mib(r.heapBefore)
      } | ${mib(r.heapAfter)} | ${mib(r.heapAfter - r.heapBefore)} | ${
        mib(r.heapPeak)
      } | ${mib(r.rssPeak)} | ${r.listenersLeft} | ${
        r.exitedPromptly
          ? `yes, ${r.exitAfterReportMs.toFixed(0)} ms after its report`
          : "**no**"
      } |`
    ),
    "",
    ...inFlightSection(results),
  );
  return out.join("\n");
}

/**
 * What the reference rows say about the goals: how far the least possible
 * pipeline of each kind gets, measured in the same rounds.
 */
function bounds(results: Results): string[] {
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
    const peers = fixed.rows.filter((r) =>
      !r.name.startsWith("ours") && !isReference(r.name)
    );
    const best = peers.reduce((a, b) =>
      a.itemsPerSecond >= b.itemsPerSecond ? a : b
    );
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

function iterableSection(results: Results): string[] {
  const iterable = results.scenarios.find((s) => s.id === "iterable");
  if (iterable === undefined) return [];
  return [
    `## ${iterable.title}`,
    "",
    `${iterable.items} items, \`async (x) => x\`, read from the same generator by every pipeline and consumed with \`for await\`. The minimal iterator is a reference, not a peer: see its definition in \`bench/_peers.ts\`. A function that reads its signal gets one shared AbortController per 64 calls unless a per-call timeout or retry needs its own; the last row sets a timeout, so each of its calls has its own.`,
    "",
    table(iterable, ""),
    "",
  ];
}

function inFlightSection(results: Results): string[] {
  const runs = results.inFlight;
  if (runs === undefined || runs.length === 0) return [];
  const own = runs.find((r) => r.pipeline === "user's promises");
  return [
    "## 7. Heap per in-flight call",
    "",
    `${runs[0]!.capacity} calls started and held pending at capacity ${
      runs[0]!.capacity
    }, heap measured after two forced collections, each pipeline in its own process (\`bench/_inflight_child.ts\`). Every row includes the caller's own pending promise and its resolver, which the first row holds alone.`,
    "",
    "| pipeline | bytes per in-flight call | beyond the caller's own promise |",
    "| --- | ---: | ---: |",
    ...runs.map((r) =>
      `| ${r.pipeline} | ${r.bytesPerItem.toFixed(0)} | ${
        own === undefined || r === own
          ? ""
          : (r.bytesPerItem - own.bytesPerItem).toFixed(0)
      } |`
    ),
    "",
  ];
}
