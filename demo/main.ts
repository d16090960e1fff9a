// `deno task demo`: enriches events over HTTP one call at a time and then
// through AsyncIOTransformStream, and prints the speedup. See --help.
import { FlagError, type Flags, HELP, parseFlags } from "./flags.ts";
import { type LookupService, startLookupService } from "./lookup_server.ts";
import { ndjsonSink } from "./ndjson_sink.ts";
import { endLiveLine, say } from "./progress.ts";
import { UserNotFound } from "./pipeline.ts";
import { checkNetPermission, probeService } from "./reachability.ts";
import { runCrashRecovery } from "./recovery.ts";
import {
  printSpeedup,
  runAsync,
  type RunResult,
  runSequential,
} from "./runs.ts";

const DEFAULT_FILE = ".out/demo.ndjson";

/** The output file, or "-" for stdout, which a terminal would drown in. */
function outputOf(flags: Flags): string {
  if (flags.out !== undefined) return flags.out;
  if (flags.crashAt !== undefined || Deno.stdout.isTerminal()) {
    return DEFAULT_FILE;
  }
  return "-";
}

async function prepareFile(path: string): Promise<void> {
  const slash = path.lastIndexOf("/");
  if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
}

function describeService(flags: Flags, service: LookupService | undefined) {
  if (service === undefined) return `lookup service: ${flags.url} (external)`;
  return `lookup service: ${service.url} (embedded: latency ${flags.latency} ` +
    `± ${flags.jitter} ms, failure rate ${flags.failureRate}${
      flags.failRate > 0 ? `, fail rate ${flags.failRate}` : ""
    })`;
}

function printNotes(
  flags: Flags,
  result: RunResult,
  service: LookupService | undefined,
): void {
  if (result.stats.timedOut > 0) {
    say(
      `warning:    ${result.stats.timedOut} events ran out of time ` +
        `(--timeout ${flags.timeout}) and were written with "user": null\n`,
    );
  }
  if (flags.onError !== "fail") {
    const fate = flags.onError === "settle"
      ? 'were written with "user": null and an "error"'
      : "were left out of the output";
    say(
      `failed:     ${result.stats.failed} events whose lookup failed for ` +
        `good ${fate} (--on-error ${flags.onError})\n`,
    );
  }
  if (service !== undefined) {
    const { requests, failures, notFound, peakConcurrency } = service.stats;
    const unknown = flags.failRate > 0
      ? `${notFound} unknown users answered HTTP 404 (or null in a batch), `
      : "";
    say(
      `service:    ${requests} requests, ${failures} answered HTTP 500, ` +
        `${unknown}at most ${peakConcurrency} at once\n`,
    );
  }
}

async function run(flags: Flags): Promise<number> {
  const service = flags.url === undefined
    ? startLookupService({ ...flags, missingRate: flags.failRate })
    : undefined;
  const url = service?.url ?? flags.url!;
  try {
    say(describeService(flags, service) + "\n");
    if (service === undefined) await probeService(url);
    const out = outputOf(flags);
    if (out !== "-") await prepareFile(out);
    if (flags.crashAt !== undefined) {
      return await runCrashRecovery(flags, url, out, flags.crashAt) ? 0 : 1;
    }
    // Opened before the baseline, so that an --out it cannot write to fails
    // the run at once.
    const file = out === "-"
      ? undefined
      : await Deno.open(out, { write: true, create: true, truncate: true });
    const sink = ndjsonSink(file ?? Deno.stdout);
    let sequential: RunResult | undefined;
    let concurrent: RunResult;
    try {
      if (flags.baseline > 0) sequential = await runSequential(flags, url);
      concurrent = await runAsync(flags, url, sink);
    } catch (error) {
      // `deno task demo | head`: the reader has what it wanted. Not a failure.
      if (file !== undefined || !(error instanceof Deno.errors.BrokenPipe)) {
        throw error;
      }
      say("stopped: the reader closed stdout (broken pipe)\n");
      return 0;
    } finally {
      file?.close();
    }
    printSpeedup(flags, sequential, concurrent);
    printNotes(flags, concurrent, service);
    say(
      `output:     ${sink.lines} NDJSON lines to ${
        out === "-" ? "stdout" : out
      }\n`,
    );
    return 0;
  } finally {
    await service?.close();
  }
}

async function main(args: readonly string[]): Promise<number> {
  let flags: Flags;
  try {
    flags = parseFlags(args);
    if (flags.url !== undefined) checkNetPermission(flags.url);
  } catch (error) {
    if (!(error instanceof FlagError)) throw error;
    say(`${error.message}\nRun with --help to see the flags.\n`);
    return 2;
  }
  // Ctrl-C: end the live progress line, so the shell prompt starts on its own.
  Deno.addSignalListener("SIGINT", () => {
    endLiveLine();
    say("interrupted (Ctrl-C): the output is incomplete\n");
    Deno.exit(130);
  });
  if (flags.help) {
    await Deno.stdout.write(new TextEncoder().encode(HELP));
    return 0;
  }
  try {
    return await run(flags);
  } catch (error) {
    say(
      `The demo failed: ${
        error instanceof Error ? error.message : String(error)
      }\n`,
    );
    if (error instanceof UserNotFound) {
      say(
        "(--on-error settle or --on-error skip lets a run go on past " +
          "lookups that fail for good)\n",
      );
    }
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
