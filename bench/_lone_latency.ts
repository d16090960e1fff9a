// The timer-backed calls of the latency scenarios, and how long each takes
// alone: Little's law bounds a scenario at capacity ÷ that lone latency.
import type { Fn } from "./_peers.ts";
import { lcg, median } from "./_stats.ts";

/** A call that resolves with its input after `ms` milliseconds. */
export const delayed = (ms: number) => (x: number) =>
  new Promise<number>((resolve) => setTimeout(resolve, ms, x));

/** The median time of a lone call, in ms. */
export async function loneLatency(fn: Fn, calls: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    await fn(i);
    samples.push(performance.now() - started);
  }
  return median(samples);
}

/** The skewed latencies: 1 to 10 ms, the same sequence for every peer. */
export function skewedLatencies(items: number): number[] {
  const random = lcg(6);
  return Array.from({ length: items }, () => 1 + Math.floor(random() * 10));
}

/**
 * The mean lone-call time of the skewed sequence, from each delay's median
 * over `calls` lone calls.
 */
export async function skewedLoneMean(
  latencies: number[],
  calls: number,
): Promise<number> {
  const lone = new Map<number, number>();
  for (let ms = 1; ms <= 10; ms++) {
    lone.set(ms, await loneLatency(delayed(ms), calls));
  }
  return latencies.reduce((sum, ms) => sum + lone.get(ms)!, 0) /
    latencies.length;
}
