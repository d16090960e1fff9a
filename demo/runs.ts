// Timed runs of the pipeline: the one-call-at-a-time baseline and the
// async I/O run, each with its progress display.
import type { AsyncIOStats, CheckpointBarrier } from "../mod.ts";
import type { DemoEvent, EnrichedEvent } from "./events.ts";
import { eventSource } from "./events.ts";
import type { Flags } from "./flags.ts";
import { type Enrichment, enrichStream } from "./pipeline.ts";
import { perSecond, say, seconds, showProgress } from "./progress.ts";

/** How a run went. */
export interface RunResult {
  events: number;
  ms: number;
  stats: AsyncIOStats;
}

/** Pipes `source` through `stream` into `sink`, showing progress. */
export async function timedRun(
  label: string,
  total: number,
  done: number,
  source: ReadableStream<DemoEvent | CheckpointBarrier>,
  stream: Enrichment,
  sink: WritableStream<EnrichedEvent | CheckpointBarrier>,
): Promise<RunResult> {
  const progress = showProgress({
    label,
    total,
    done,
    stats: () => stream.stats,
    showFailed: stream.onError !== "fail",
  });
  const started = performance.now();
  try {
    await source.pipeThrough(stream).pipeTo(sink);
  } finally {
    progress.stop();
  }
  return {
    events: total - done,
    ms: performance.now() - started,
    stats: stream.stats,
  };
}

/** The baseline: the first `flags.baseline` events, one call at a time. */
export function runSequential(flags: Flags, url: string): Promise<RunResult> {
  const stream = enrichStream({
    ...flags,
    url,
    external: flags.url !== undefined,
    order: "ordered",
    capacity: 1,
    concurrency: undefined,
    batch: undefined, // one call at a time, one event per call
  });
  return timedRun(
    "sequential",
    flags.baseline,
    0,
    eventSource(0, flags.baseline),
    stream,
    new WritableStream(),
  );
}

/** All the events through async I/O, into `sink`. */
export async function runAsync(
  flags: Flags,
  url: string,
  sink: WritableStream<EnrichedEvent>,
): Promise<RunResult> {
  const stream = enrichStream({
    ...flags,
    url,
    external: flags.url !== undefined,
  });
  const moves = flags.concurrency === "auto"
    ? trackConcurrency(stream)
    : undefined;
  try {
    return await timedRun(
      "async I/O",
      flags.events,
      0,
      eventSource(0, flags.events),
      stream,
      sink as WritableStream<EnrichedEvent | CheckpointBarrier>,
    );
  } finally {
    if (moves !== undefined) say(moves.stop());
  }
}

/**
 * Follows an adaptive limit: `stop()` describes how it moved, as
 * "20 → 26 at 1.0 s → ...", the last few moves when there were many.
 */
function trackConcurrency(stream: Enrichment) {
  const started = performance.now();
  const first = stream.stats.concurrency;
  const moves: string[] = [];
  let last = first;
  let low = first;
  let high = first;
  const timer = setInterval(() => {
    const now = stream.stats.concurrency;
    if (now === last) return;
    moves.push(`${now} at ${seconds(performance.now() - started)}`);
    last = now;
    low = Math.min(low, now);
    high = Math.max(high, now);
  }, 50);
  return {
    stop(): string {
      clearInterval(timer);
      const shown = moves.length > 12 ? ["...", ...moves.slice(-10)] : moves;
      return `concurrency: auto (vegas()), ${
        [String(first), ...shown].join(" → ")
      }; ${moves.length} moves, from ${low} to ${high}\n`;
    },
  };
}

/** Prints both throughputs and the speedup; the baseline is extrapolated. */
export function printSpeedup(
  flags: Flags,
  sequential: RunResult | undefined,
  concurrent: RunResult,
): void {
  const rows: string[] = [];
  if (sequential !== undefined) {
    const estimate = sequential.ms * (flags.events / sequential.events);
    const rate = perSecond(sequential.events, sequential.ms);
    rows.push(
      `sequential: ${sequential.events} events, one call at a time, in ` +
        `${seconds(sequential.ms)} = ${rate} (all ${flags.events} would ` +
        `take ~${seconds(estimate)}, extrapolated)`,
    );
  }
  rows.push(
    `async I/O:  ${concurrent.events} events in ${seconds(concurrent.ms)} = ` +
      `${perSecond(concurrent.events, concurrent.ms)} (capacity ` +
      `${flags.capacity}, ${flags.order}${
        flags.batch === undefined ? "" : `, ${batchNote(concurrent)}`
      }; ${concurrent.stats.retries} retries, ` +
      `${concurrent.stats.timedOut} timeouts${
        flags.onError === "fail" ? "" : `, ${concurrent.stats.failed} failed`
      })`,
  );
  if (sequential !== undefined) {
    const speedup = (concurrent.events / concurrent.ms) /
      (sequential.events / sequential.ms);
    rows.push(`speedup:    ${speedup.toFixed(1)}x`);
  }
  say(rows.map((row) => row + "\n").join(""));
}

/** "42.1 events per request over 119 requests". */
function batchNote({ stats }: RunResult): string {
  const mean = stats.batches === 0 ? 0 : stats.batchedInputs / stats.batches;
  return `${mean.toFixed(1)} events per request over ${stats.batches} requests`;
}
