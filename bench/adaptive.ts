// `deno task bench:adaptive [--quick]`: fixed concurrency against the
// adaptive limits, on a simulated backend whose capacity steps from 50
// servers to 20, then to 80 (see bench/_backend.ts). Every configuration
// runs at once, in this process, through the real AsyncIOTransformStream,
// each with its own backend fed the same service times; the source never
// runs dry, so calls in flight are bounded by the concurrency alone.
// Unless `--quick` (a short smoke run) is given, it writes
// bench/ADAPTIVE.md, bench/adaptive.svg and bench/adaptive.json.
import {
  aimd,
  AsyncIOTransformStream,
  type ConcurrencyLimit,
  gradient2,
  vegas,
} from "../mod.ts";
import type { AsyncIOOptions } from "../mod.ts";
import { Backend } from "./_backend.ts";
import { renderAdaptiveChart } from "./_adaptive_chart.ts";
import {
  type AdaptiveResults,
  type ConfigResult,
  evaluate,
  type PhaseResult,
  renderAdaptiveReport,
} from "./_adaptive_report.ts";

const quick = Deno.args.includes("--quick");
const benchDir = new URL(".", import.meta.url);

const SERVERS = [50, 20, 80];
const PHASE_MS = quick ? 12_000 : 50_000;
/** Each phase's first part is the transition; goodput and p99 are from the rest. */
const SETTLE_MS = quick ? 4_000 : 15_000;
const MEDIAN_MS = 80;
const SIGMA = 0.4;
const DEADLINE_MS = 600;
const CAPACITY = 200;
const SAMPLE_EVERY_MS = 250;

interface Setting {
  name: string;
  fixed: boolean;
  concurrency: () => number | ConcurrencyLimit;
}

const settings: Setting[] = [
  ...[25, 50, 100, 200].map((n) => ({
    name: `fixed ${n}`,
    fixed: true,
    concurrency: () => n,
  })),
  { name: "aimd()", fixed: false, concurrency: () => aimd() },
  { name: "vegas()", fixed: false, concurrency: () => vegas() },
  { name: "gradient2()", fixed: false, concurrency: () => gradient2() },
];

interface Run {
  setting: Setting;
  backend: Backend;
  stream: AsyncIOTransformStream<number, number>;
  /** Completion times (ms since start) and latencies of successful calls. */
  doneAt: number[];
  latency: number[];
  timeoutAt: number[];
  /** [ms since start, limit in force] every SAMPLE_EVERY_MS. */
  limits: [number, number][];
  finished: Promise<void>;
}

const TIMED_OUT = -1;

function start(setting: Setting, t0: number, signal: AbortSignal): Run {
  const backend = new Backend({
    servers: SERVERS[0]!,
    medianMs: MEDIAN_MS,
    sigma: SIGMA,
    seed: 42,
  });
  const options: AsyncIOOptions<number, number> = {
    order: "unordered",
    capacity: CAPACITY,
    concurrency: setting.concurrency(),
    timeout: DEADLINE_MS,
    onTimeout: (_input, result) => result.complete([TIMED_OUT]),
    signal,
  };
  const stream = new AsyncIOTransformStream<number, number>(
    async () => {
      const started = performance.now();
      await backend.call();
      return performance.now() - started;
    },
    options,
  );
  const run: Run = {
    setting,
    backend,
    stream,
    doneAt: [],
    latency: [],
    timeoutAt: [],
    limits: [],
    finished: Promise.resolve(),
  };
  let next = 0;
  const source = new ReadableStream<number>({
    pull(controller) {
      controller.enqueue(next++);
    },
  }, { highWaterMark: 1 });
  run.finished = source.pipeThrough(stream).pipeTo(
    new WritableStream({
      write(latency) {
        const at = performance.now() - t0;
        if (latency === TIMED_OUT) run.timeoutAt.push(at);
        else {
          run.doneAt.push(at);
          run.latency.push(latency);
        }
      },
    }),
  ).catch(() => {}); // stopped through the signal at the end
  return run;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

function phaseResult(run: Run, phase: number, fromMs: number): PhaseResult {
  const begin = phase * PHASE_MS;
  const end = begin + PHASE_MS;
  const latencies: number[] = [];
  for (let i = 0; i < run.doneAt.length; i++) {
    const at = run.doneAt[i]!;
    if (at >= begin + fromMs && at < end) latencies.push(run.latency[i]!);
  }
  latencies.sort((a, b) => a - b);
  const seconds = (PHASE_MS - fromMs) / 1000;
  const timeouts =
    run.timeoutAt.filter((at) => at >= begin + fromMs && at < end).length;
  return {
    goodput: latencies.length / seconds,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    timeouts,
  };
}

/** The limit's median over the settled part of a phase. */
function settledLimit(run: Run, phase: number): number {
  const begin = phase * PHASE_MS + SETTLE_MS;
  const values = run.limits.filter(([at]) =>
    at >= begin && at < (phase + 1) * PHASE_MS
  ).map(([, limit]) => limit).sort((a, b) => a - b);
  return percentile(values, 0.5);
}

/**
 * Seconds from the step until the limit first comes within 10% of where it
 * settles in that phase.
 */
function convergence(run: Run, phase: number): number {
  const target = settledLimit(run, phase);
  const begin = phase * PHASE_MS;
  const reached = run.limits.find(([at, limit]) =>
    at >= begin && Math.abs(limit - target) <= 0.1 * target
  );
  return reached === undefined ? NaN : (reached[0] - begin) / 1000;
}

/** Goodput per second, for the chart. */
function perSecond(run: Run): number[] {
  const seconds = new Array<number>(Math.ceil(PHASE_MS * 3 / 1000)).fill(0);
  for (const at of run.doneAt) {
    const second = Math.floor(at / 1000);
    if (second < seconds.length) seconds[second]!++;
  }
  return seconds;
}

console.log(
  `${settings.length} configurations at once; phases of ${
    PHASE_MS / 1000
  } s with ${SERVERS.join(", ")} servers`,
);
const controller = new AbortController();
const t0 = performance.now();
const runs = settings.map((setting) => start(setting, t0, controller.signal));
const sampler = setInterval(() => {
  const at = performance.now() - t0;
  for (const run of runs) {
    run.limits.push([at, run.stream.stats.concurrency]);
  }
}, SAMPLE_EVERY_MS);
for (let phase = 1; phase < SERVERS.length; phase++) {
  await new Promise((resolve) =>
    setTimeout(resolve, t0 + phase * PHASE_MS - performance.now())
  );
  for (const run of runs) run.backend.servers = SERVERS[phase]!;
  console.log(
    `${((performance.now() - t0) / 1000).toFixed(0)} s: ${
      SERVERS[phase]
    } servers`,
  );
}
await new Promise((resolve) =>
  setTimeout(resolve, t0 + SERVERS.length * PHASE_MS - performance.now())
);
clearInterval(sampler);
controller.abort();
await Promise.all(runs.map((run) => run.finished));

const configs: ConfigResult[] = runs.map((run) => ({
  name: run.setting.name,
  fixed: run.setting.fixed,
  phases: SERVERS.map((_, phase) => phaseResult(run, phase, SETTLE_MS)),
  wholePhases: SERVERS.map((_, phase) => phaseResult(run, phase, 0)),
  settledLimits: SERVERS.map((_, phase) => settledLimit(run, phase)),
  convergenceSeconds: SERVERS.map((_, phase) => convergence(run, phase)),
  limits: run.limits.map(([at, limit]) => [Math.round(at), limit]),
  goodputPerSecond: perSecond(run),
}));
const results: AdaptiveResults = {
  date: new Date().toISOString(),
  deno: Deno.version.deno,
  cpus: navigator.hardwareConcurrency,
  servers: SERVERS,
  phaseMs: PHASE_MS,
  settleMs: SETTLE_MS,
  medianMs: MEDIAN_MS,
  sigma: SIGMA,
  deadlineMs: DEADLINE_MS,
  capacity: CAPACITY,
  configs,
};
const report = renderAdaptiveReport(results);
console.log(report);
const verdict = evaluate(results);
console.log(
  `adaptive passing every phase: ${
    verdict.adaptivePassing.join(", ") || "none"
  }; fixed passing every phase: ${verdict.fixedPassing.join(", ") || "none"}`,
);
if (!quick) {
  await Deno.writeTextFile(new URL("ADAPTIVE.md", benchDir), report);
  await Deno.writeTextFile(
    new URL("adaptive.svg", benchDir),
    renderAdaptiveChart(results),
  );
  await Deno.writeTextFile(
    new URL("adaptive.json", benchDir),
    JSON.stringify(results) + "\n",
  );
  console.log(
    "wrote bench/ADAPTIVE.md, bench/adaptive.svg, bench/adaptive.json",
  );
}
