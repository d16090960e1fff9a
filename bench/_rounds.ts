// Interleaved rounds: every entry runs once per round, the order rotating
// each round, after a warm-up round; medians and paired ratios come out.
import type { Fn, Pipeline, RunOptions } from "./_peers.ts";
import type { Row, ScenarioResult } from "./_results.ts";
import { median, percent, rate, times } from "./_stats.ts";

export interface Entry {
  name: string;
  pipeline: Pipeline;
  /** Overrides of the scenario's options, such as a capacity or a timeout. */
  with?: Partial<RunOptions>;
}

export interface Scenario {
  id: string;
  title: string;
  items: number;
  capacity: number;
  fn: Fn;
  rounds: number;
  entries: Entry[];
  /** The entry the ratios are taken against. */
  reference: string;
  /** Little's law bound in items/s, when the latency is known. */
  bound?: number;
}

/** Runs every entry once per round, rotating the order, after a warm-up. */
export async function run(
  scenario: Scenario,
  log: (line: string) => void = console.log,
): Promise<ScenarioResult> {
  const { entries, items } = scenario;
  const rates = new Map<string, number[]>(entries.map((e) => [e.name, []]));
  for (let round = -1; round < scenario.rounds; round++) {
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[(i + Math.max(round, 0)) % entries.length]!;
      // No forced collection between runs: it shrinks V8's young generation
      // and halves the throughput of every allocating pipeline that follows.
      // A short untimed run first pays the garbage the previous pipeline left.
      await entry.pipeline({
        items: Math.ceil(items / 10),
        capacity: scenario.capacity,
        fn: scenario.fn,
        ...entry.with,
      });
      const started = performance.now();
      const outputs = await entry.pipeline({
        items,
        capacity: scenario.capacity,
        fn: scenario.fn,
        ...entry.with,
      });
      const seconds = (performance.now() - started) / 1000;
      if (outputs !== items) {
        throw new Error(`${entry.name} emitted ${outputs} of ${items} items`);
      }
      if (round >= 0) rates.get(entry.name)!.push(items / seconds);
    }
  }
  const reference = rates.get(scenario.reference)!;
  const rows: Row[] = entries.map(({ name, with: options }) => {
    const own = rates.get(name)!;
    return {
      name,
      capacity: options?.capacity ?? scenario.capacity,
      itemsPerSecond: median(own),
      ratio: median(own.map((value, round) => value / reference[round]!)),
      ...(scenario.bound === undefined
        ? {}
        : { efficiency: median(own) / scenario.bound }),
      rounds: own,
    };
  });
  const result: ScenarioResult = {
    id: scenario.id,
    title: scenario.title,
    items,
    capacity: scenario.capacity,
    rounds: scenario.rounds,
    reference: scenario.reference,
    rows,
    ...(scenario.bound === undefined ? {} : { bound: scenario.bound }),
  };
  print(result, log);
  return result;
}

export function print(
  result: ScenarioResult,
  log: (line: string) => void = console.log,
): void {
  log(
    `\n## ${result.title} (${result.items} items, capacity ${result.capacity}, median of ${result.rounds} rounds)`,
  );
  for (const row of result.rows) {
    const efficiency = row.efficiency === undefined
      ? ""
      : `  ${percent(row.efficiency)} of Little's bound`;
    log(
      `${row.name.padEnd(52)} ${rate(row.itemsPerSecond).padStart(8)}/s  ${
        times(row.ratio).padStart(6)
      } of ${result.reference}${efficiency}`,
    );
  }
}
