// redisStreamSink(): a WritableStream that commits processed inputs in
// batches, each input atomically.
import { describe } from "./_describe.ts";
import {
  commit,
  type CommitTarget,
  COMMITTED,
  type RedisCommit,
} from "./_redis_commit.ts";
import {
  milliseconds,
  positiveInteger,
  requireFunction,
  requireName,
  settledWithin,
  unlessAborted,
} from "./_redis_options.ts";
import type { RedisSend } from "./_redis_reply.ts";
import { isAbortSignal } from "./_user_code.ts";

/**
 * The options of {@linkcode redisStreamSink}.
 *
 * @example
 * ```ts ignore
 * import type { RedisStreamSinkOptions } from "@async-io/async-io/redis";
 *
 * const options: RedisStreamSinkOptions = {
 *   send: (args) => client.sendCommand(args),
 *   group: "enrich",
 *   output: "orders:enriched",
 *   deadLetter: "orders:dead",
 * };
 * ```
 */
export interface RedisStreamSinkOptions {
  /** Sends one command; see {@linkcode RedisSend}. */
  send: RedisSend;
  /** The consumer group that read the inputs; they are acknowledged in it. */
  group: string;
  /** The stream that receives the outputs. */
  output: string;
  /** The stream that receives failed inputs, if any (see `RedisCommit`). */
  deadLetter?: string;
  /**
   * How long an input's done-mark is kept, in milliseconds. Within this
   * window an input that is delivered again, even after its group was
   * re-created or rewound, gives no output. Marks live in a sorted set
   * `<stream>:<group>:done` (about 120 bytes each) and each commit trims
   * the expired ones. 0 keeps no marks: the pending-entries list alone then
   * drops duplicates.
   *
   * @default {600000}
   */
  doneRetentionMs?: number;
  /**
   * The most inputs committed by one script call.
   *
   * @default {100}
   */
  batchSize?: number;
  /** Called after each script call with the inputs that gave output. */
  onCommit?: (committed: number, duplicates: number) => void;
  /**
   * Give it the pipe's signal: a write that waits for a commit (a full
   * batch waits behind the running one) then ends at once when it aborts.
   * A `pipeTo` waits for its pending write before it aborts the sink, so
   * without it a commit held by a stalled Redis holds the abort too. Once
   * aborted, a commit already sent is waited for a second at most.
   */
  signal?: AbortSignal;
}

const WHERE = "construct redisStreamSink";

/** Validates the sink's options into a commit target. */
export function commitTargetOf(
  options: RedisStreamSinkOptions,
  where = WHERE,
): CommitTarget & { batchSize: number } {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot ${where} as options must be an object: current value is ${
        describe(options)
      }`,
    );
  }
  // Each option read once, inherited ones included.
  const { send, group, output, deadLetter, doneRetentionMs, batchSize } =
    options;
  requireFunction(where, "send", send);
  return {
    send,
    group: requireName(where, "group", group),
    output: requireName(where, "output", output),
    deadLetter: deadLetter === undefined
      ? undefined
      : requireName(where, "deadLetter", deadLetter),
    doneRetentionMs: milliseconds(
      where,
      "doneRetentionMs",
      doneRetentionMs,
      600_000,
    ),
    batchSize: positiveInteger(where, "batchSize", batchSize, 100),
  };
}

/**
 * A `WritableStream` of processed inputs that commits, for each input in one
 * Lua script: if the input is not yet marked done, mark it and `XADD` all
 * of its outputs to the output stream; always `XACK` it.
 *
 * A crash before the commit leaves the input pending, so it is processed
 * again; a crash after it makes that second commit a duplicate, which is
 * dropped. An input counts as done when `XACK` finds it no longer pending
 * (another consumer committed it) or its done-mark is still kept (see
 * `doneRetentionMs`). Commits are written in order; the writes that arrive
 * while one script runs go together in the next, up to `batchSize`.
 *
 * @param options The {@linkcode RedisStreamSinkOptions}.
 * @returns The sink; closing it waits for the last commit.
 * @throws {TypeError} If `send` is not a function, a name is missing or
 * empty, `batchSize` or `doneRetentionMs` is not a number, or `signal` is
 * not an AbortSignal.
 * @throws {RangeError} If `batchSize` or `doneRetentionMs` is out of range.
 *
 * @example Committing outputs with ioredis
 * ```ts ignore
 * import Redis from "ioredis";
 * import { redisStreamSink, redisStreamSource } from "@async-io/async-io/redis";
 *
 * const redis = new Redis();
 * const send = (args: string[]) => redis.call(args[0]!, ...args.slice(1));
 * await redisStreamSource({ send, stream: "in", group: "g", consumer: "c" })
 *   .pipeThrough(new TransformStream({
 *     transform: (entry, controller) =>
 *       controller.enqueue({ ...entry, outputs: [entry.fields] }),
 *   }))
 *   .pipeTo(redisStreamSink({ send, group: "g", output: "out" }));
 * ```
 */
export function redisStreamSink(
  options: RedisStreamSinkOptions,
): WritableStream<RedisCommit> {
  const target = commitTargetOf(options);
  const { onCommit, signal } = options;
  if (onCommit !== undefined) requireFunction(WHERE, "onCommit", onCommit);
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw new TypeError(
      `Cannot ${WHERE} as signal must be an AbortSignal: current value is ${
        describe(signal)
      }`,
    );
  }
  return new Committer(target, onCommit, signal).writable();
}

/** Commits in order, one script call at a time, batching what waits. */
export class Committer {
  readonly #target: CommitTarget & { batchSize: number };
  readonly #onCommit: RedisStreamSinkOptions["onCommit"];
  readonly #signal: AbortSignal | undefined;
  readonly #onBatch:
    | ((batch: readonly RedisCommit[], results: readonly number[]) => void)
    | undefined;
  #waiting: RedisCommit[] = [];
  #running: Promise<void> | undefined;
  #error: { error: unknown } | undefined;
  #aborted = false;

  constructor(
    target: CommitTarget & { batchSize: number },
    onCommit?: RedisStreamSinkOptions["onCommit"],
    signal?: AbortSignal,
    onBatch?: (
      batch: readonly RedisCommit[],
      results: readonly number[],
    ) => void,
  ) {
    this.#target = target;
    this.#onCommit = onCommit;
    this.#signal = signal;
    this.#onBatch = onBatch;
  }

  writable(): WritableStream<RedisCommit> {
    let controller: WritableStreamDefaultController;
    return new WritableStream<RedisCommit>({
      start: (c) => {
        controller = c;
      },
      write: (item) => {
        this.#throwIfFailed();
        this.#waiting.push(item);
        this.#running ??= this.#run(controller);
        // Backpressure: at most one full batch waits behind the running one.
        // A pipe waits for this write before it aborts the sink, so the
        // pipe's `signal` ends the wait: a commit that hangs on Redis must
        // not hold a stop. The controller's signal covers `writer.abort()`
        // (it fires as the abort starts).
        if (this.#waiting.length >= this.#target.batchSize) {
          // Read as optional: not every runtime, or every lib's types, has it.
          const { signal } = controller as { signal?: AbortSignal };
          const signals = [signal, this.#signal].filter(
            (signal): signal is AbortSignal => signal !== undefined,
          );
          return signals.length === 0
            ? this.#running
            : unlessAborted(this.#running!, AbortSignal.any(signals)).then(
              () => {},
            );
        }
        return undefined;
      },
      close: async () => {
        while (this.#running !== undefined) await this.#running;
        this.#throwIfFailed();
      },
      abort: () => {
        this.#aborted = true;
        this.#waiting = [];
        // A commit already sent lands or fails by itself: the pipe ends once
        // it has, so what it did is counted by then (1 s at most: a stalled
        // Redis must not hold a stop).
        const running = this.#running;
        return running === undefined
          ? undefined
          : settledWithin(running, 1_000);
      },
    });
  }

  #throwIfFailed(): void {
    if (this.#error !== undefined) throw this.#error.error;
  }

  async #run(controller: WritableStreamDefaultController): Promise<void> {
    try {
      while (this.#waiting.length > 0 && !this.#aborted) {
        const batch = this.#waiting.length <= this.#target.batchSize
          ? this.#waiting
          : this.#waiting.slice(0, this.#target.batchSize);
        this.#waiting = batch === this.#waiting
          ? []
          : this.#waiting.slice(batch.length);
        const results = await commit(this.#target, batch);
        const committed = results.filter((r) => r === COMMITTED).length;
        // Called with no `this`: a member call would pass this committer.
        const onCommit = this.#onCommit;
        onCommit?.(committed, batch.length - committed);
        this.#onBatch?.(batch, results);
      }
    } catch (error) {
      this.#error = { error };
      this.#waiting = [];
      controller.error(error);
    } finally {
      this.#running = undefined;
    }
  }
}
