// `deno task bench:batch`: what batching buys against a backend whose cost
// is per call plus per key (2 ms + 0.02 ms per key, simulated with timers,
// as a Redis MGET or a SQL `IN (…)` behaves), and what `maxWait` costs in
// latency. Writes bench/BATCH.md.
//
// 1. Throughput: the same inputs at the same concurrency (calls in flight),
//    one input per call, then batches of 10 and 50.
// 2. Latency under a paced load that never fills a batch: inputs arrive at
//    a fixed rate, and each input's latency runs from its arrival to its
//    output. The p99 that maxWait adds is the difference to per-input calls.
import { AsyncIOTransformStream } from "../mod.ts";
import { median, rate, times } from "./_stats.ts";

const PER_CALL_MS = 2;
const PER_KEY_MS = 0.02;
const CONCURRENCY = 8;
const THROUGHPUT_INPUTS = 20_000;
const PACED_RATE = 2_000; // inputs per second
const PACED_INPUTS = 2_000;
/** Latency rounds per run; the report gives their medians (the tail is noisy). */
const ROUNDS = 5;

const backendCost = (keys: number) => PER_CALL_MS + PER_KEY_MS * keys;
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let calls = 0;
/** One call to the backend for `keys` keys. */
async function backend<T>(keys: T[]): Promise<T[]> {
  calls++;
  await wait(backendCost(keys.length));
  return keys;
}

function streamFor(maxSize: number, maxWait: number) {
  const options = { capacity: Math.max(100, CONCURRENCY * maxSize * 2) };
  return maxSize === 1
    ? new AsyncIOTransformStream(
      async (n: number) => (await backend([n]))[0]!,
      { ...options, concurrency: CONCURRENCY },
    )
    : new AsyncIOTransformStream(
      (ns: number[]) => backend(ns),
      { ...options, concurrency: CONCURRENCY, batch: { maxSize, maxWait } },
    );
}

interface Throughput {
  label: string;
  perSecond: number;
  calls: number;
  meanBatch: number;
}

async function throughput(maxSize: number, label: string): Promise<Throughput> {
  calls = 0;
  const stream = streamFor(maxSize, 5);
  const inputs = Array.from({ length: THROUGHPUT_INPUTS }, (_, i) => i);
  const start = performance.now();
  let count = 0;
  await ReadableStream.from(inputs).pipeThrough(stream).pipeTo(
    new WritableStream({ write: () => void count++ }),
  );
  const seconds = (performance.now() - start) / 1_000;
  if (count !== THROUGHPUT_INPUTS) throw new Error(`lost inputs: ${count}`);
  const { batches, batchedInputs } = stream.stats;
  return {
    label,
    perSecond: count / seconds,
    calls,
    meanBatch: batches === 0 ? 1 : batchedInputs / batches,
  };
}

interface Latency {
  label: string;
  p50: number;
  p99: number;
  meanBatch: number;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** The medians of ROUNDS paced runs. */
async function latency(
  maxSize: number,
  maxWait: number,
  label: string,
): Promise<Latency> {
  const rounds: Latency[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    rounds.push(await pacedRun(maxSize, maxWait, label));
  }
  return {
    label,
    p50: median(rounds.map((round) => round.p50)),
    p99: median(rounds.map((round) => round.p99)),
    meanBatch: median(rounds.map((round) => round.meanBatch)),
  };
}

/** Inputs arrive at PACED_RATE per second, each stamped with its due time. */
async function pacedRun(
  maxSize: number,
  maxWait: number,
  label: string,
): Promise<Latency> {
  const stream = streamFor(maxSize, maxWait);
  const due: number[] = [];
  const latencies: number[] = [];
  const start = performance.now();
  let next = 0;
  const source = new ReadableStream<number>({
    async pull(controller) {
      if (next === PACED_INPUTS) return controller.close();
      let now = performance.now();
      while (start + (next * 1_000) / PACED_RATE > now) {
        await wait(1);
        now = performance.now();
      }
      // Every input due by now arrives at its due time.
      while (
        next < PACED_INPUTS && start + (next * 1_000) / PACED_RATE <= now
      ) {
        due[next] = start + (next * 1_000) / PACED_RATE;
        controller.enqueue(next++);
      }
    },
  }, { highWaterMark: 0 });
  await source.pipeThrough(stream).pipeTo(
    new WritableStream({
      write: (n) => void latencies.push(performance.now() - due[n]!),
    }),
  );
  latencies.sort((a, b) => a - b);
  const { batches, batchedInputs } = stream.stats;
  return {
    label,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    meanBatch: batches === 0 ? 1 : batchedInputs / batches,
  };
}

const ms = (value: number) => `${value.toFixed(1)} ms`;

const results = [
  await throughput(1, "one input per call"),
  await throughput(10, "batches of 10"),
  await throughput(50, "batches of 50"),
];
const base = results[0]!.perSecond;
const latencies = [
  await latency(1, 0, "one input per call"),
  await latency(50, 0, "batches of 50, maxWait 0"),
  await latency(50, 5, "batches of 50, maxWait 5 ms"),
  await latency(50, 20, "batches of 50, maxWait 20 ms"),
];
const noWaitP99 = latencies[1]!.p99;

const report = `# Batching: throughput and the latency that maxWait adds

Generated by \`deno task bench:batch\` (bench/batch.ts) on ${
  new Date().toISOString().slice(0, 10)
},
Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores. Do not edit by hand.

The backend costs ${PER_CALL_MS} ms per call plus ${PER_KEY_MS} ms per key, simulated with
timers; ${CONCURRENCY} calls are in flight at most in every run (\`concurrency: ${CONCURRENCY}\`).

## Throughput (${
  THROUGHPUT_INPUTS.toLocaleString("en")
} inputs, as fast as the stream takes them)

| Run | Inputs/s | vs one per call | Calls | Mean batch |
| --- | ---: | ---: | ---: | ---: |
${
  results.map((r) =>
    `| ${r.label} | ${rate(r.perSecond)} | ${
      times(r.perSecond / base)
    } | ${r.calls} | ${r.meanBatch.toFixed(1)} |`
  ).join("\n")
}

## Latency under a paced load (${PACED_RATE.toLocaleString("en")} inputs/s, ${
  PACED_INPUTS.toLocaleString("en")
} inputs)

Latency runs from an input's arrival to its output; each figure is the median
of ${ROUNDS} rounds, as the tail of one round on a busy machine is mostly noise.
At this rate a batch of 50 fills only when \`maxWait\` is 25 ms or more, so
batches close on \`maxWait\`, and an input waits up to \`maxWait\` (plus a
timer's lateness) before its call starts.

| Run | p50 | p99 | p99 added by maxWait | Mean batch |
| --- | ---: | ---: | ---: | ---: |
${
  latencies.map((l, i) =>
    `| ${l.label} | ${ms(l.p50)} | ${ms(l.p99)} | ${
      i < 2 ? "–" : ms(l.p99 - noWaitP99)
    } | ${l.meanBatch.toFixed(1)} |`
  ).join("\n")
}

"p99 added by maxWait" compares with the same batching at \`maxWait: 0\`. The
machine is shared and small, so tails move by several ms from run to run;
the p50 column shows the wait most plainly.
`;

await Deno.writeTextFile(new URL("./BATCH.md", import.meta.url), report);
console.log(report);
const batched = results[2]!.perSecond / base;
if (batched < 10) {
  console.error(`batches of 50 reached only ${times(batched)}`);
  Deno.exitCode = 1;
}
