// --crash-at: run until a simulated crash, restart from the last checkpoint
// using only what is on disk, then check the output for exactly-once.
import {
  type Checkpoint,
  CheckpointCoordinator,
  checkpointedSource,
  committingSink,
  loadCheckpoint,
  SimulatedCrash,
} from "./checkpointing.ts";
import { eventAt, isMissingUser } from "./events.ts";
import type { Flags } from "./flags.ts";
import { enrichStream } from "./pipeline.ts";
import { say } from "./progress.ts";
import { type RunResult, timedRun } from "./runs.ts";
import { checkExactlyOnce, describeReport } from "./verify.ts";

function lines(count: number): string {
  return `${count} ${count === 1 ? "line" : "lines"}`;
}

async function countLines(path: string): Promise<number> {
  const text = await Deno.readTextFile(path);
  return text.split("\n").length - 1;
}

/**
 * One run of the checkpointed job, from `checkpoint` or from the start;
 * `label` names it in the progress line.
 */
async function runJob(
  label: string,
  flags: Flags,
  url: string,
  out: string,
  checkpoint: Checkpoint | undefined,
  crashAt: number | undefined,
): Promise<RunResult> {
  const checkpointPath = `${out}.checkpoint.json`;
  // Drop what the crash left after the last commit, then append after it.
  const bytes = checkpoint?.committedBytes ?? 0;
  await Deno.truncate(out, bytes);
  const file = await Deno.open(out, { append: true });
  try {
    const coordinator = new CheckpointCoordinator(checkpointPath, checkpoint);
    const stream = enrichStream({
      ...flags,
      url,
      external: flags.url !== undefined,
      onCheckpoint: coordinator.onCheckpoint,
      ...(checkpoint === undefined ? {} : { restore: checkpoint.state }),
    });
    const lines = checkpoint?.committedLines ?? 0;
    try {
      return await timedRun(
        label,
        flags.events,
        // Events done, not lines: under --on-error skip some have no line.
        checkpoint === undefined
          ? 0
          : checkpoint.offset - checkpoint.state.entries.length,
        checkpointedSource(
          checkpoint?.offset ?? 0,
          flags.events,
          flags.checkpointEvery,
          coordinator,
        ),
        stream,
        committingSink({
          file,
          coordinator,
          total: flags.events,
          bytes,
          lines,
          ...(crashAt === undefined ? {} : { crashAt }),
        }),
      );
    } catch (error) {
      if (error instanceof SimulatedCrash) error.emitted = stream.stats.emitted;
      throw error;
    }
  } finally {
    file.close();
  }
}

function describeCheckpoint(checkpoint: Checkpoint | undefined): string {
  if (checkpoint === undefined) return "no checkpoint yet: starting over";
  return `checkpoint ${checkpoint.id}: ${lines(checkpoint.committedLines)} ` +
    `committed, source offset ${checkpoint.offset}, ` +
    `${checkpoint.state.entries.length} events in the stream's snapshot`;
}

/** Runs the crash-and-restart scenario; resolves to whether the check passed. */
export async function runCrashRecovery(
  flags: Flags,
  url: string,
  out: string,
  crashAt: number,
): Promise<boolean> {
  const checkpointPath = `${out}.checkpoint.json`;
  await Deno.remove(checkpointPath).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  await Deno.writeFile(out, new Uint8Array());
  say(
    `run 1: checkpoint barrier every ${flags.checkpointEvery} events, ` +
      `crash at output line ${crashAt}\n`,
  );
  try {
    await runJob("run 1", flags, url, out, undefined, crashAt);
    // Only when fewer lines than events are written: some were skipped.
    throw new Error(
      `The job ended after writing ${lines(await countLines(out))}, ` +
        `before output line ${crashAt} (--on-error skip leaves the events ` +
        `whose lookup failed out): choose a smaller --crash-at`,
    );
  } catch (error) {
    if (!(error instanceof SimulatedCrash)) throw error;
    say(
      `crash: ${error.message}, with ${error.emitted} results emitted by ` +
        `the stream; its in-flight calls were aborted\n`,
    );
  }

  // A new start that knows only the files on disk.
  const checkpoint = await loadCheckpoint(checkpointPath);
  const written = await countLines(out);
  const committed = checkpoint?.committedLines ?? 0;
  say(
    `restart: ${describeCheckpoint(checkpoint)}; the file has ` +
      `${lines(written)}, so ${written - committed} uncommitted ` +
      `${written - committed === 1 ? "line is" : "lines are"} truncated\n`,
  );
  // The restart is run 2 even with no checkpoint to start from.
  await runJob("run 2", flags, url, out, checkpoint, undefined);

  // Under skip, an event whose user the service does not know is left out
  // on purpose, and it is the same event on every run.
  const skipped = flags.onError === "skip"
    ? (id: number) => isMissingUser(eventAt(id).userId, flags.failRate)
    : undefined;
  const report = await checkExactlyOnce(out, flags.events, skipped);
  say(describeReport(report, flags.events) + "\n");
  say(`output: ${out}\n`);
  return report.ok;
}
