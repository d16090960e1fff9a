// `deno task bench:compare [--quick] [--no-write]`: our stream against the
// peers users would pick instead. Each scenario runs in a fresh process of
// its own (as JMH forks a JVM per benchmark): in one shared process, what ran
// before moved the results, by up to 2x for pMapIterable. Within it, the
// pipelines run in interleaved rounds (the order rotates every round), and it
// reports the median items/s and the median of the per-round ratios, which
// cancels most of the drift of a shared, noisy machine. Unless `--no-write` (or
// `--quick`, a fast smoke run) is given, it writes bench/results.json,
// bench/RESULTS.md and bench/throughput.svg.
import {
  floor,
  type Fn,
  hasConcurrency,
  mapAsyncOrdered,
  mapAsyncUnordered,
  minimalIterableMap,
  minimalMap,
  minimalStreamMap,
  oursOrdered,
  oursUnordered,
  type Pipeline,
  pMapOrdered,
  pMapUnordered,
  readableMap,
  readableMapBounded,
  rxMergeMap,
  sequential,
  userCallbackFloor,
} from "./_peers.ts";
import { inParent, isolated, measuredOnce } from "./_isolation.ts";
import {
  delayed,
  loneLatency,
  skewedLatencies,
  skewedLoneMean,
} from "./_lone_latency.ts";
import { inFlightRun, memoryRun } from "./_memory_runs.ts";
import { machine } from "./_machine.ts";
import { renderChart } from "./_chart.ts";
import { renderReport } from "./_report.ts";
import type {
  InFlightMemory,
  MemoryRun,
  Results,
  SweepSeries,
} from "./_results.ts";
import { MINIMAL_STREAM, READABLE_MAP_BOUNDED } from "./_results.ts";
import { mib } from "./_stats.ts";

const quick = Deno.args.includes("--quick");
const write = !quick && !Deno.args.includes("--no-write");
const benchDir = new URL(".", import.meta.url);

// Async on purpose: the calls return promises, as users' functions do.
// deno-lint-ignore require-await
const immediate: Fn = async (x) => x;
// deno-lint-ignore require-await
const immediateReadingSignal: Fn = async (x, context) => {
  context?.signal;
  return x;
};
const fixed: Fn = delayed(5);

const overheadItems = quick ? 20_000 : 100_000;
const overheadRounds = quick ? 3 : 9;
const latencyItems = quick ? 1_000 : 4_000;
const latencyRounds = quick ? 2 : 7;
const started = performance.now();

// Measured once, by the parent, and handed to the children that need it.
const fixedLone = await measuredOnce(
  "fixed-lone",
  () => loneLatency(fixed, quick ? 10 : 40),
);
if (inParent) {
  console.log(`a lone 5 ms call takes ${fixedLone.toFixed(2)} ms (median)`);
}

const overhead = await isolated({
  id: "overhead",
  title: "1. Overhead: a function that resolves at once",
  items: overheadItems,
  capacity: 100,
  fn: immediate,
  rounds: overheadRounds,
  reference: "pass-through TransformStream (floor)",
  entries: [
    { name: "pass-through TransformStream (floor)", pipeline: floor },
    {
      name: "TransformStream, sync transform (no fn)",
      pipeline: userCallbackFloor,
    },
    {
      name: "minimal concurrent map: fn(x).then(enqueue)",
      pipeline: minimalMap,
    },
    {
      name: MINIMAL_STREAM,
      pipeline: minimalStreamMap,
    },
    { name: "async TransformStream (sequential)", pipeline: sequential },
    { name: "node:stream Readable.map", pipeline: readableMap },
    { name: "p-map pMapIterable", pipeline: pMapOrdered },
    {
      name: "p-map pMapIterable (preserveOrder: false)",
      pipeline: pMapUnordered,
    },
    { name: "RxJS mergeMap", pipeline: rxMergeMap },
    { name: "ours, ordered", pipeline: oursOrdered },
    { name: "ours, unordered", pipeline: oursUnordered },
  ],
});

const timeout = await isolated({
  id: "timeout",
  title: "2. Overhead with a timeout (60 s, never reached)",
  items: overheadItems,
  capacity: 100,
  fn: immediate,
  rounds: overheadRounds,
  reference: "pass-through TransformStream (floor)",
  entries: [
    { name: "pass-through TransformStream (floor)", pipeline: floor },
    { name: "ours, ordered", pipeline: oursOrdered },
    {
      name: "ours, ordered, timeout",
      pipeline: oursOrdered,
      with: { timeout: 60_000 },
    },
    {
      name: "ours, unordered, timeout",
      pipeline: oursUnordered,
      with: { timeout: 60_000 },
    },
    {
      name: "ours, ordered, timeout, fn reads its signal",
      pipeline: oursOrdered,
      with: { timeout: 60_000, fn: immediateReadingSignal },
    },
  ],
});

const iterable = await isolated({
  id: "iterable",
  title: "5. Iterable overhead: mapAsync against pMapIterable",
  items: overheadItems,
  capacity: 100,
  fn: immediate,
  rounds: overheadRounds,
  reference: "p-map pMapIterable",
  entries: [
    { name: "p-map pMapIterable", pipeline: pMapOrdered },
    {
      name: "p-map pMapIterable (preserveOrder: false)",
      pipeline: pMapUnordered,
    },
    { name: "node:stream Readable.map", pipeline: readableMap },
    {
      name: "minimal bounded ordered iterator: fn(x).then(slot)",
      pipeline: minimalIterableMap,
    },
    { name: "mapAsync, ordered", pipeline: mapAsyncOrdered },
    { name: "mapAsync, unordered", pipeline: mapAsyncUnordered },
    {
      name: "mapAsync, ordered, fn reads its signal",
      pipeline: mapAsyncOrdered,
      with: { fn: immediateReadingSignal },
    },
    {
      name: "mapAsync, unordered, fn reads its signal",
      pipeline: mapAsyncUnordered,
      with: { fn: immediateReadingSignal },
    },
    {
      name: "mapAsync, ordered, timeout, fn reads its signal",
      pipeline: mapAsyncOrdered,
      with: { timeout: 60_000, fn: immediateReadingSignal },
    },
  ],
});

const fixedLatency = await isolated({
  id: "fixed",
  title: "3. Fixed latency: 5 ms timers",
  items: latencyItems,
  capacity: 100,
  fn: fixed,
  rounds: latencyRounds,
  reference: "node:stream Readable.map",
  bound: 100 / (fixedLone / 1000),
  entries: [
    { name: "node:stream Readable.map", pipeline: readableMap },
    { name: "p-map pMapIterable", pipeline: pMapOrdered },
    {
      name: "p-map pMapIterable (preserveOrder: false)",
      pipeline: pMapUnordered,
    },
    { name: "RxJS mergeMap", pipeline: rxMergeMap },
    { name: MINIMAL_STREAM, pipeline: minimalStreamMap },
    { name: "ours, ordered", pipeline: oursOrdered },
    { name: "ours, unordered", pipeline: oursUnordered },
  ],
}, { "fixed-lone": fixedLone });

const latencies = skewedLatencies(latencyItems);
const skewedMean = await measuredOnce(
  "skewed-mean",
  () => skewedLoneMean(latencies, quick ? 3 : 7),
);
if (inParent) {
  console.log(
    `\nthe skewed calls take ${skewedMean.toFixed(2)} ms on average alone`,
  );
}
const skewedFn: Fn = (x) =>
  new Promise<number>((resolve) => setTimeout(resolve, latencies[x]!, x));
const skewed = await isolated({
  id: "skewed",
  title: "4. Skewed latency: 1–10 ms",
  items: latencyItems,
  capacity: 100,
  fn: skewedFn,
  rounds: latencyRounds,
  reference: "node:stream Readable.map",
  bound: 100 / (skewedMean / 1000),
  entries: [
    { name: "node:stream Readable.map", pipeline: readableMap },
    { name: "p-map pMapIterable", pipeline: pMapOrdered },
    { name: READABLE_MAP_BOUNDED, pipeline: readableMapBounded },
    { name: "ours, ordered", pipeline: oursOrdered },
    // Readable.map holds up to 2 × concurrency − 1 unemitted results.
    {
      name: "ours, ordered, capacity 199",
      pipeline: oursOrdered,
      with: { capacity: 199 },
    },
    // The same held results as Readable.map, and the same calls in flight.
    ...(hasConcurrency
      ? [{
        name: "ours, ordered, capacity 199, concurrency 100",
        pipeline: oursOrdered,
        with: { capacity: 199, concurrency: 100 },
      }]
      : []),
    {
      name: "p-map pMapIterable (preserveOrder: false)",
      pipeline: pMapUnordered,
    },
    { name: "RxJS mergeMap", pipeline: rxMergeMap },
    { name: "ours, unordered", pipeline: oursUnordered },
  ],
}, { "skewed-mean": skewedMean });
for (const row of skewed.rows) {
  row.averageInFlight = row.itemsPerSecond * skewedMean / 1000;
}

// Throughput against capacity at 5 ms latency, for the chart.
const sweepCapacities = quick ? [1, 16, 256] : [1, 4, 16, 64, 256, 1024];
const sweepPeers: [string, Pipeline][] = [
  ["ours, ordered", oursOrdered],
  ["ours, unordered", oursUnordered],
  ["mapAsync, ordered", mapAsyncOrdered],
  ["node:stream Readable.map", readableMap],
  ["p-map pMapIterable", pMapOrdered],
  ["RxJS mergeMap", rxMergeMap],
];
const sweep: SweepSeries[] = sweepPeers.map(([name]) => ({ name, points: [] }));
if (inParent) {
  console.log("\n## Throughput against capacity, 5 ms latency");
}
for (const capacity of sweepCapacities) {
  const result = await isolated({
    id: `sweep-${capacity}`,
    title: `capacity ${capacity}`,
    items: Math.max(40, (quick ? 10 : 40) * capacity),
    capacity,
    fn: fixed,
    rounds: quick ? 1 : 3,
    reference: "node:stream Readable.map",
    bound: capacity / (fixedLone / 1000),
    entries: sweepPeers.map(([name, pipeline]) => ({ name, pipeline })),
  }, { "fixed-lone": fixedLone });
  if (result.rows.length === 0) continue; // a child running another one
  for (const series of sweep) {
    const row = result.rows.find((r) => r.name === series.name)!;
    series.points.push({ capacity, itemsPerSecond: row.itemsPerSecond });
  }
}

console.log("\n## Memory: capacity 100, timeout and signal set, own process");
const memory: MemoryRun[] = [];
for (const items of quick ? [100_000] : [100_000, 1_000_000]) {
  for (const order of ["ordered", "unordered"]) {
    const result = await memoryRun(items, order);
    memory.push(result);
    console.log(
      `${String(items).padStart(9)} ${order.padEnd(9)} heap ${
        mib(result.heapBefore)
      } → ${mib(result.heapAfter)} (peak ${mib(result.heapPeak)}), peak RSS ${
        mib(result.rssPeak)
      }, listeners left ${result.listenersLeft}, exited ${
        result.exitedPromptly ? "by itself" : "NOT by itself"
      } ${result.exitAfterReportMs.toFixed(0)} ms after its report`,
    );
  }
}

const inFlightCapacity = 10_000;
console.log(
  `\n## Heap per in-flight call: ${inFlightCapacity} calls pending, own process`,
);
const inFlight: InFlightMemory[] = [];
for (
  const pipeline of [
    "user's promises",
    "mapAsync, ordered",
    "mapAsync, unordered",
    "AsyncIOTransformStream, ordered",
    "p-map pMapIterable",
  ]
) {
  const result = await inFlightRun(pipeline, inFlightCapacity);
  inFlight.push(result);
  console.log(
    `${pipeline.padEnd(36)} ${result.bytesPerItem.toFixed(0).padStart(6)} B`,
  );
}

const results: Results = {
  machine: await machine(),
  quick,
  seconds: (performance.now() - started) / 1000,
  fixedLoneMs: fixedLone,
  skewedLoneMeanMs: skewedMean,
  scenarios: [overhead, timeout, fixedLatency, skewed, iterable],
  sweep: { latencyMs: fixedLone, capacities: sweepCapacities, series: sweep },
  memory,
  inFlight,
};
console.log(`\ndone in ${results.seconds.toFixed(0)} s`);
if (write) {
  await Deno.writeTextFile(
    new URL("results.json", benchDir),
    JSON.stringify(results, null, 2) + "\n",
  );
  await Deno.writeTextFile(
    new URL("RESULTS.md", benchDir),
    renderReport(results),
  );
  await Deno.writeTextFile(
    new URL("throughput.svg", benchDir),
    renderChart(results.sweep),
  );
  console.log(
    "wrote bench/results.json, bench/RESULTS.md, bench/throughput.svg",
  );
}
