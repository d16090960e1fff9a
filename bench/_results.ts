// The shape of bench/results.json, which the report and the chart are drawn
// from, and lookups into it.
import { median } from "./_stats.ts";

/**
 * The reference row of the stream scenarios built as ours is, on a writable
 * and a readable side of its own (see `minimalStreamMap` in `_peers.ts`).
 */
export const MINIMAL_STREAM =
  "minimal bounded ordered stream: fn(x).then(slot)";

/**
 * `Readable.map` with `highWaterMark: 0`: it then holds at most as many
 * unemitted results as our `capacity` (see `readableMapBounded`).
 */
export const READABLE_MAP_BOUNDED =
  "node:stream Readable.map, highWaterMark 0 (holds ≤ capacity, as ours)";

/** Rows that bound what is possible rather than compete: no peer, not ours. */
export function isReference(name: string): boolean {
  return name.startsWith("minimal ") || name.startsWith("TransformStream,") ||
    name.startsWith("pass-through") || name.startsWith("user's promises");
}

export interface Row {
  name: string;
  capacity: number;
  /** Median over the rounds. */
  itemsPerSecond: number;
  /** Median of the per-round ratios to the scenario's reference. */
  ratio: number;
  /** Throughput ÷ Little's law bound (capacity ÷ lone-call latency). */
  efficiency?: number;
  /** Throughput × mean lone latency: the calls in flight on average. */
  averageInFlight?: number;
  rounds: number[];
}

export interface ScenarioResult {
  id: string;
  title: string;
  items: number;
  capacity: number;
  rounds: number;
  reference: string;
  bound?: number;
  rows: Row[];
}

export interface SweepSeries {
  name: string;
  points: { capacity: number; itemsPerSecond: number }[];
}

export interface MemoryRun {
  items: number;
  order: string;
  outputs: number;
  itemsPerSecond: number;
  heapBefore: number;
  heapAfter: number;
  heapPeak: number;
  rssPeak: number;
  listenersLeft: number;
  exitCode: number;
  exitAfterReportMs: number;
  exitedPromptly: boolean;
}

/** The heap that each pending call costs, measured with `capacity` pending. */
export interface InFlightMemory {
  pipeline: string;
  capacity: number;
  bytesPerItem: number;
}

export interface Results {
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    os: string;
    deno: string;
    v8: string;
    typescript: string;
    peers: Record<string, string>;
    date: string;
  };
  quick: boolean;
  seconds: number;
  fixedLoneMs: number;
  skewedLoneMeanMs: number;
  scenarios: ScenarioResult[];
  sweep: { latencyMs: number; capacities: number[]; series: SweepSeries[] };
  memory: MemoryRun[];
  /** Absent from runs before mapAsync existed. */
  inFlight?: InFlightMemory[];
}

/** The scenario `id` of a run; it throws if the run has none. */
export function scenario(results: Results, id: string): ScenarioResult {
  const found = results.scenarios.find((s) => s.id === id);
  if (found === undefined) throw new Error(`No scenario ${id}`);
  return found;
}

/** The row `name` of a scenario; it throws if the scenario has none. */
export function row(result: ScenarioResult, name: string): Row {
  const found = result.rows.find((r) => r.name === name);
  if (found === undefined) throw new Error(`No row ${name} in ${result.id}`);
  return found;
}

/** The median of the per-round ratios of two rows of one scenario. */
export function pairedRatio(a: Row, b: Row): number {
  return median(a.rounds.map((value, i) => value / b.rounds[i]!));
}
