// Every scenario of `deno task bench:compare` runs in a fresh process of its
// own (as JMH forks a JVM per benchmark): in one shared process, what ran
// before moved the results, by up to 2x for pMapIterable. The parent re-runs
// the entry module with `--scenario <id>`; that child skips every other
// scenario, runs its own, prints the result as its last line and exits.
import { run, type Scenario } from "./_rounds.ts";
import type { ScenarioResult } from "./_results.ts";

/** The value after `flag` on the command line, if any. */
function argument(flag: string): string | undefined {
  const at = Deno.args.indexOf(flag);
  return at === -1 ? undefined : Deno.args[at + 1];
}

/** Set in a child process: the one scenario it runs (see {@linkcode isolated}). */
const only = argument("--scenario");
/** Handed on to the children, which size their scenarios by it. */
const quick = Deno.args.includes("--quick");
const RESULT = "RESULT ";

/** Whether this is the parent process, which forks one child per scenario. */
export const inParent: boolean = only === undefined;

/**
 * Runs a scenario in a fresh process: the parent forks a child that runs
 * only that scenario and prints its result, then exits. In a child, the
 * other scenarios are skipped, with an empty result. `measured` holds the
 * figures the parent measured once (see {@linkcode measuredOnce}), passed to
 * the child as `--name value`.
 */
export async function isolated(
  scenario: Scenario,
  measured: Record<string, number> = {},
): Promise<ScenarioResult> {
  const id = scenario.id;
  if (only !== undefined) {
    if (only !== id) return { ...SKIPPED, id };
    const result = await run(scenario);
    console.log(RESULT + JSON.stringify(result));
    Deno.exit(0);
  }
  const args = [
    "run",
    `--import-map=${new URL("../dev_deps.json", import.meta.url).pathname}`,
    `--lock=${new URL("../dev_deps.lock", import.meta.url).pathname}`,
    "--allow-read",
    "--allow-env",
    "--allow-sys",
    new URL(Deno.mainModule).pathname,
    "--scenario",
    id,
    ...(quick ? ["--quick"] : []),
    ...Object.entries(measured).flatMap(([k, v]) => [`--${k}`, String(v)]),
  ];
  const { stdout, success } = await new Deno.Command(Deno.execPath(), {
    args,
    stderr: "inherit",
  }).output();
  const lines = new TextDecoder().decode(stdout).trimEnd().split("\n");
  const last = lines.pop() ?? "";
  if (!success || !last.startsWith(RESULT)) {
    throw new Error(`The scenario ${id} failed in its own process`);
  }
  for (const line of lines) console.log(line);
  return JSON.parse(last.slice(RESULT.length));
}

/**
 * A figure measured once, by the parent, and handed to the children that
 * need it: in a child, it is read back from `--name`, which the parent
 * passes through {@linkcode isolated}'s `measured`.
 */
export async function measuredOnce(
  name: string,
  measure: () => Promise<number>,
): Promise<number> {
  return inParent ? await measure() : Number(argument(`--${name}`));
}

const SKIPPED: ScenarioResult = {
  id: "",
  title: "",
  items: 0,
  capacity: 0,
  rounds: 0,
  reference: "",
  rows: [],
};
