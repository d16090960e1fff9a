// Runs the demo as a child process, the way `deno task demo` does, with
// write access limited to one scratch directory.
const DEMO = new URL("../../demo/main.ts", import.meta.url);

/** What a demo run printed and how it exited. */
export interface DemoRun {
  code: number;
  stdout: string;
  stderr: string;
}

const decoder = new TextDecoder();

/** How long a demo run may take before the test kills it and fails. */
const RUN_LIMIT_MS = 120_000;

/** Runs `demo/main.ts` with `args`; it may write only under `writable`. */
export async function runDemo(
  args: readonly string[],
  writable?: string,
): Promise<DemoRun> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      ...(writable === undefined ? [] : [`--allow-write=${writable}`]),
      DEMO.href,
      ...args,
    ],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    // A demo that hangs (as one once retried an unreachable --url for
    // minutes) is killed, and its exit code fails the test.
    signal: AbortSignal.timeout(RUN_LIMIT_MS),
  }).output();
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
  };
}

/**
 * A fresh scratch path. The test itself may not write (`deno task test` has
 * no --allow-write), so the demo creates it and a child process removes it.
 */
export function scratchDirectory(): string {
  const base = Deno.env.get("TMPDIR") ?? Deno.env.get("TEMP") ?? "/tmp";
  return `${base}/async-io-demo-test-${crypto.randomUUID()}`;
}

/** Removes a scratch directory made by {@linkcode scratchDirectory}. */
export async function removeDirectory(path: string): Promise<void> {
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `await Deno.remove(${JSON.stringify(path)}, { recursive: true })` +
      `.catch((e) => { if (!(e instanceof Deno.errors.NotFound)) throw e; })`,
    ],
    stdout: "null",
    stderr: "inherit",
  }).output();
  if (code !== 0) throw new Error(`Cannot remove ${path}`);
}

/** The event ids of NDJSON output, in file order. */
export function idsOf(ndjson: string): number[] {
  return ndjson.split("\n").filter((line) => line !== "").map((line) =>
    (JSON.parse(line) as { id: number }).id
  );
}

/** The ids 0..n-1. */
export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * Flags for a quick run of `events` events: a 1 ms service without jitter
 * and a 30 s timeout; then `extra`.
 */
export function quickArgs(events: number, ...extra: string[]): string[] {
  return [
    "--events",
    String(events),
    "--latency",
    "1",
    "--jitter",
    "0",
    "--timeout",
    "30000",
    ...extra,
  ];
}

/** Where a crash run crashes, how often it checkpoints and where it writes. */
export interface CrashRun {
  events: number;
  crashAt: number;
  checkpointEvery: number;
  out: string;
}

/**
 * Flags for a run that crashes and restarts from its last checkpoint, with
 * capacity 20 against a 2 ± 2 ms service that answers 10% HTTP 500; then
 * `extra`.
 */
export function crashArgs(run: CrashRun, ...extra: string[]): string[] {
  return [
    "--events",
    String(run.events),
    "--crash-at",
    String(run.crashAt),
    "--checkpoint-every",
    String(run.checkpointEvery),
    "--capacity",
    "20",
    "--latency",
    "2",
    "--jitter",
    "2",
    "--failure-rate",
    "0.1",
    "--timeout",
    "30000",
    ...extra,
    "--out",
    run.out,
  ];
}
