// Exactly-once output with checkpoint barriers, as in Flink:
// - the source puts a CheckpointBarrier after every k events and records the
//   offset at which it would resume;
// - the async I/O stream hands its snapshot (the events it holds) to
//   onCheckpoint and forwards the barrier ahead of their results;
// - the sink writes each output line as it comes, and on a barrier makes the
//   file durable and saves the checkpoint: barrier id, source offset, stream
//   state and the file's committed length.
// A restart truncates the file to the committed length, restores the stream
// state and resumes the source at the offset.
import { type AsyncIOState, CheckpointBarrier } from "../mod.ts";
import { type DemoEvent, type EnrichedEvent, eventAt } from "./events.ts";
import { writeAll } from "./ndjson_sink.ts";

/** What a completed checkpoint stores. */
export interface Checkpoint {
  id: number;
  /** The next source position to read after a restart. */
  offset: number;
  /** The stream's snapshot: events read but not yet written out. */
  state: AsyncIOState<DemoEvent>;
  /** The output file's length in bytes and lines at this checkpoint. */
  committedBytes: number;
  committedLines: number;
}

/** Thrown by the sink to simulate a crash (`--crash-at`). */
export class SimulatedCrash extends Error {
  override name = "SimulatedCrash";
  /** Results the stream had emitted; some had not reached the sink yet. */
  emitted = 0;
}

/** Reads the last completed checkpoint, if any. */
export async function loadCheckpoint(
  path: string,
): Promise<Checkpoint | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as Checkpoint;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Saves a checkpoint atomically: a crash leaves the old one or the new one. */
async function saveCheckpoint(path: string, checkpoint: Checkpoint) {
  const temporary = `${path}.tmp`;
  await Deno.writeTextFile(temporary, JSON.stringify(checkpoint));
  await Deno.rename(temporary, path);
}

/**
 * Pairs what the source, the stream and the sink know about each checkpoint
 * id until the sink completes it.
 */
export class CheckpointCoordinator {
  readonly #offsets = new Map<number, number>();
  readonly #states = new Map<number, AsyncIOState<DemoEvent>>();
  readonly #path: string;
  #nextId: number;
  #last: Checkpoint | undefined;

  constructor(path: string, last: Checkpoint | undefined) {
    this.#path = path;
    this.#last = last;
    this.#nextId = (last?.id ?? 0) + 1;
  }

  /** The last completed checkpoint. */
  get last(): Checkpoint | undefined {
    return this.#last;
  }

  /** Source side: a barrier at `offset`. */
  barrier(offset: number): CheckpointBarrier {
    const barrier = new CheckpointBarrier(this.#nextId++);
    this.#offsets.set(barrier.id, offset);
    return barrier;
  }

  /** Stream side: `options.onCheckpoint`. */
  readonly onCheckpoint = (
    state: AsyncIOState<DemoEvent>,
    barrier: CheckpointBarrier,
  ): void => {
    this.#states.set(barrier.id, state);
  };

  /** Sink side: the barrier arrived and the output before it is durable. */
  async complete(
    id: number,
    committedBytes: number,
    committedLines: number,
  ): Promise<void> {
    const offset = this.#offsets.get(id);
    const state = this.#states.get(id);
    if (offset === undefined || state === undefined) {
      throw new Error(`Checkpoint ${id} reached the sink incomplete`);
    }
    const checkpoint = { id, offset, state, committedBytes, committedLines };
    await saveCheckpoint(this.#path, checkpoint);
    this.#last = checkpoint;
    this.#offsets.delete(id);
    this.#states.delete(id);
  }

  /** The end of input: everything is written, nothing is pending. */
  finish(total: number, committedBytes: number, committedLines: number) {
    const id = this.#nextId++;
    this.#offsets.set(id, total);
    this.#states.set(id, { version: 1, entries: [] });
    return this.complete(id, committedBytes, committedLines);
  }
}

/** The events from `from` to `total`, with a barrier after every `every`. */
export function checkpointedSource(
  from: number,
  total: number,
  every: number,
  coordinator: CheckpointCoordinator,
): ReadableStream<DemoEvent | CheckpointBarrier> {
  let next = from;
  return new ReadableStream<DemoEvent | CheckpointBarrier>({
    pull(controller) {
      if (next >= total) return controller.close();
      controller.enqueue(eventAt(next++));
      if (next % every === 0 && next < total) {
        controller.enqueue(coordinator.barrier(next));
      }
    },
  }, { highWaterMark: 0 });
}

const encoder = new TextEncoder();

/** Where the sink writes, and where it starts after a restart. */
export interface CommittingSinkOptions {
  file: Deno.FsFile;
  coordinator: CheckpointCoordinator;
  total: number;
  /** The file's committed length, at which writing resumes. */
  bytes: number;
  lines: number;
  /** Throw {@linkcode SimulatedCrash} right after writing this line (1-based). */
  crashAt?: number;
}

/** A sink whose output is committed at each checkpoint barrier. */
export function committingSink(
  options: CommittingSinkOptions,
): WritableStream<EnrichedEvent | CheckpointBarrier> {
  const { file, coordinator, total, crashAt } = options;
  let bytes = options.bytes;
  let lines = options.lines;
  const commit = async () => {
    await file.syncData();
    return [bytes, lines] as const;
  };
  return new WritableStream({
    async write(chunk) {
      if (chunk instanceof CheckpointBarrier) {
        const [committedBytes, committedLines] = await commit();
        return coordinator.complete(chunk.id, committedBytes, committedLines);
      }
      const line = encoder.encode(JSON.stringify(chunk) + "\n");
      await writeAll(file, line);
      bytes += line.length;
      lines++;
      if (lines === crashAt) {
        throw new SimulatedCrash(`Simulated crash at output line ${lines}`);
      }
    },
    async close() {
      const [committedBytes, committedLines] = await commit();
      await coordinator.finish(total, committedBytes, committedLines);
    },
  });
}
