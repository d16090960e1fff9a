// redisWorker(): source -> AsyncIOTransformStream -> sink, with a handle.
import { AsyncIOTransformStream } from "./async_io_transform_stream.ts";
import { describe } from "./_describe.ts";
import { commit, COMMITTED, type RedisCommit } from "./_redis_commit.ts";
import {
  milliseconds,
  positiveInteger,
  requireFunction,
  requireName,
} from "./_redis_options.ts";
import { PartitionReader } from "./_redis_partitions.ts";
import {
  messageOf,
  type RedisFields,
  type RedisSend,
  type RedisStreamEntry,
} from "./_redis_reply.ts";
import { commitTargetOf, Committer } from "./_redis_sink.ts";
import { pullStream, redisStreamSource } from "./_redis_source.ts";
import type { AsyncIOStats } from "./async_io_stats.ts";
import type { AsyncFunction, Mapper, ResultFuture } from "./call_context.ts";
import type { ErrorHandler } from "./error_policy.ts";
import type { AsyncIOOptions } from "./types.ts";

/**
 * The options of {@linkcode redisWorker}: where to read, what to call, where
 * to commit, and every option of `AsyncIOTransformStream` except the
 * snapshot ones (Redis's pending-entries list is the state).
 *
 * @example
 * ```ts ignore
 * import type { RedisWorkerOptions } from "@async-io/async-io/redis";
 *
 * const options: RedisWorkerOptions = {
 *   send: (args) => client.sendCommand(args),
 *   input: "orders",
 *   output: "orders:enriched",
 *   group: "enrich",
 *   consumer: "worker-1",
 *   fn: async ({ fields }) => ({ ...fields, total: "42" }),
 *   order: "unordered",
 *   capacity: 200,
 * };
 * ```
 */
export interface RedisWorkerOptions extends
  Omit<
    AsyncIOOptions<RedisStreamEntry, RedisFields>,
    | "restore"
    | "onCheckpoint"
    | "writableStrategy"
    | "readableStrategy"
    | "onError"
  > {
  /**
   * What happens to an entry that failed for good (after its retries, or on
   * a timeout without a fallback): `"fail"` stops the worker with the error
   * and leaves the entry pending; an {@linkcode ErrorHandler} gives the
   * entry's outputs instead (returning nothing commits it with none). It
   * takes precedence over `deadLetter`.
   *
   * @default {"fail", or dead-lettering when `deadLetter` is set}
   */
  onError?: "fail" | ErrorHandler<RedisStreamEntry, RedisFields>;
  /** Sends one command; see {@linkcode RedisSend}. */
  send: RedisSend;
  /**
   * Sends the blocking `XREADGROUP`s. Give it a connection of its own: a
   * blocked read holds its connection for up to `blockMs`, so commits sent
   * on the same connection would wait behind it.
   *
   * @default {send}
   */
  blockingSend?: RedisSend;
  /** The input stream, or the prefix of the partition streams. */
  input: string;
  /** The stream that receives the outputs. */
  output: string;
  /** The consumer group that the workers share. */
  group: string;
  /** This worker's name, unique among the live workers. */
  consumer: string;
  /**
   * Called for each entry. The function form gives one output per entry,
   * the {@linkcode AsyncFunction} form zero or more; each output is an
   * object of string fields for `XADD`.
   */
  fn:
    | Mapper<RedisStreamEntry, RedisFields>
    | AsyncFunction<RedisStreamEntry, RedisFields>;
  /**
   * Reads `partitions` streams `<input>:0` … `<input>:<P-1>` (fill them with
   * {@linkcode redisPartition}), each leased to one worker at a time, so
   * that with `order: "key-ordered"` each key's outputs keep their order
   * across workers and crashes. By default one stream `input` is shared.
   */
  partitions?: number;
  /**
   * How long a partition lease lasts without renewal (every `leaseMs / 3`).
   * A dead worker's partitions are taken over after this.
   *
   * @default {10000}
   */
  leaseMs?: number;
  /**
   * In partitioned mode, how long to wait before polling again when no
   * leased partition had entries (reads there cannot block).
   *
   * @default {50}
   */
  pollMs?: number;
  /**
   * A stream for inputs that cannot be processed: the entries that failed
   * for good (`fn` failed after its last retry, or timed out without
   * `onTimeout`; malformed outputs count as failures), and those deleted
   * from the input stream while pending. Each dead letter has fields `stream`, `id`, `error` and
   * `fields` (the input's fields as JSON), and is committed atomically with
   * the input's acknowledgement. Without it such an input fails the worker
   * with a clear error and stays pending.
   */
  deadLetter?: string;
  /** See `RedisStreamSourceOptions.count`. @default {100} */
  count?: number;
  /** See `RedisStreamSourceOptions.blockMs`. @default {2000} */
  blockMs?: number;
  /** See `RedisStreamSourceOptions.claimIdleMs`. @default {30000} */
  claimIdleMs?: number;
  /** See `RedisStreamSourceOptions.claimIntervalMs`. @default {claimIdleMs} */
  claimIntervalMs?: number;
  /** See `RedisStreamSinkOptions.doneRetentionMs`. @default {600000} */
  doneRetentionMs?: number;
  /** See `RedisStreamSinkOptions.batchSize`. @default {100} */
  batchSize?: number;
}

/**
 * Counters of a {@linkcode RedisWorker}: those of its
 * `AsyncIOTransformStream`, and what its commits did.
 *
 * @example
 * ```ts ignore
 * const { accepted, committed, duplicates, deadLettered } = worker.stats;
 * ```
 */
export interface RedisWorkerStats extends AsyncIOStats {
  /** Inputs whose outputs this worker added to the output stream. */
  readonly committed: number;
  /** Inputs that another worker had committed first: dropped. */
  readonly duplicates: number;
  /**
   * Inputs sent to the dead-letter stream (a duplicate of one that another
   * worker committed first counts here too, but is not written twice).
   */
  readonly deadLettered: number;
  /** The partitions this worker leases now (partitioned mode). */
  readonly partitions: readonly number[];
}

/**
 * A running {@linkcode redisWorker}.
 *
 * @example
 * ```ts ignore
 * const worker = redisWorker(options);
 * Deno.addSignalListener("SIGTERM", () => worker.stop());
 * await worker.done;
 * ```
 */
export interface RedisWorker {
  /**
   * Stops at once: reading stops, calls in flight are aborted and not waited
   * for, and uncommitted inputs stay pending, for this consumer to re-read on
   * restart or for another to claim. Leases are given back. Resolves when
   * the pipeline has shut down.
   */
  stop(): Promise<void>;
  /** Settles when the worker ends: resolves after `stop()`, rejects on error. */
  readonly done: Promise<void>;
  /** Counters of the work so far. */
  readonly stats: RedisWorkerStats;
}

const WHERE = "construct redisWorker";

/**
 * Runs one worker of a group that shares a Redis stream: it reads entries
 * (see {@linkcode redisStreamSource}), calls `fn` for each through an
 * `AsyncIOTransformStream` with the given options (order, capacity,
 * timeouts, retries, rate limit), and commits each entry's outputs together
 * with its acknowledgement in one Lua script (see
 * {@linkcode redisStreamSink}).
 *
 * Each input's outputs appear in the output stream exactly once, through
 * crashes, stalls and restarts of any worker: an input is either committed
 * with all its outputs or still pending, and a second commit of it is
 * dropped. `fn` itself may run more than once for an input.
 *
 * @param options The {@linkcode RedisWorkerOptions}.
 * @returns A handle with `stop()`, `done` and `stats`.
 * @throws {TypeError} If `send` or `fn` has the wrong shape or a name is
 * empty.
 * @throws {RangeError} If a count or duration is out of range.
 *
 * @example Three workers sharing one input stream, with node-redis
 * ```ts ignore
 * import { createClient } from "redis";
 * import { redisWorker } from "@async-io/async-io/redis";
 *
 * const client = await createClient().connect();
 * const reads = await client.duplicate().connect();
 * const worker = redisWorker({
 *   send: (args) => client.sendCommand(args),
 *   blockingSend: (args) => reads.sendCommand(args),
 *   input: "orders",
 *   output: "orders:enriched",
 *   group: "enrich",
 *   consumer: `worker-${Deno.pid}`,
 *   fn: async ({ id, fields }, { signal }) => {
 *     const response = await fetch(`http://127.0.0.1:8080/users/${fields.user}`, { signal });
 *     return { input: id, user: await response.text() };
 *   },
 *   order: "unordered",
 *   capacity: 100,
 *   timeout: 5_000,
 * });
 * await worker.done;
 * ```
 */
export function redisWorker(options: RedisWorkerOptions): RedisWorker {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot ${WHERE} as options must be an object: current value is ${
        describe(options)
      }`,
    );
  }
  const {
    send,
    blockingSend,
    input,
    output,
    group,
    consumer,
    fn,
    partitions,
    leaseMs,
    pollMs,
    deadLetter,
    count,
    blockMs,
    claimIdleMs,
    claimIntervalMs,
    doneRetentionMs,
    batchSize,
    signal: userSignal,
    ...asyncOptions
  } = options;
  requireName(WHERE, "input", input);
  requireName(WHERE, "consumer", consumer);
  if (blockingSend !== undefined) {
    requireFunction(WHERE, "blockingSend", blockingSend);
  }
  const target = commitTargetOf({
    send,
    group,
    output,
    ...(deadLetter === undefined ? {} : { deadLetter }),
    ...(doneRetentionMs === undefined ? {} : { doneRetentionMs }),
    ...(batchSize === undefined ? {} : { batchSize }),
  }, WHERE);
  const {
    onTimeout: _onTimeout,
    retry: _retry,
    onError: _onError,
    ...engineOptions
  } = asyncOptions;
  const counts = { committed: 0, duplicates: 0, deadLettered: 0 };
  const halt = new AbortController();
  const stopReason = new DOMException("redisWorker stopped", "AbortError");
  const signal = userSignal === undefined
    ? halt.signal
    : AbortSignal.any([userSignal, halt.signal]);

  const onError: unknown = asyncOptions.onError;
  if (
    onError !== undefined && onError !== "fail" &&
    typeof onError !== "function"
  ) {
    throw new TypeError(
      `Cannot ${WHERE} as onError must be "fail" or a function: current value is ${
        describe(onError)
      }`,
    );
  }
  // Before anything starts: the source talks to Redis once constructed.
  const wrapped = wrapFunction(fn);

  const onDeleted = async (stream: string, ids: string[]) => {
    if (target.deadLetter === undefined) {
      throw new Error(
        `Cannot process entries ${
          ids.join(", ")
        } of stream ${stream} as they were deleted from the stream while pending; set deadLetter to record such entries`,
      );
    }
    const results = await commit(
      target,
      ids.map((id) => ({
        stream,
        id,
        outputs: [],
        deadLetter: {
          stream,
          id,
          error: "deleted from the stream before it was processed",
          fields: "null",
        },
      })),
      true,
    );
    counts.deadLettered += results.filter((r) => r === COMMITTED).length;
  };

  let reader: PartitionReader | undefined;
  let source: ReadableStream<RedisStreamEntry>;
  if (partitions === undefined) {
    source = redisStreamSource({
      send: blockingSend ?? send,
      stream: input,
      group,
      consumer,
      onDeleted,
      ...(count === undefined ? {} : { count }),
      ...(blockMs === undefined ? {} : { blockMs }),
      ...(claimIdleMs === undefined ? {} : { claimIdleMs }),
      ...(claimIntervalMs === undefined ? {} : { claimIntervalMs }),
    });
  } else {
    const partitionReader = new PartitionReader({
      send,
      input,
      group,
      consumer,
      partitions: positiveInteger(WHERE, "partitions", partitions, 1),
      count: positiveInteger(WHERE, "count", count, 100),
      leaseMs: Math.max(
        3,
        milliseconds(WHERE, "leaseMs", leaseMs, 10_000),
      ),
      pollMs: milliseconds(WHERE, "pollMs", pollMs, 50),
      onDeleted,
      onError: (error) => halt.abort(error),
    });
    reader = partitionReader;
    source = pullStream(
      (abort) => partitionReader.read(abort),
      () => partitionReader.start(),
    );
  }

  const transform = new AsyncIOTransformStream<RedisStreamEntry, RedisCommit>(
    wrapped,
    {
      ...engineOptions,
      ...wrapPolicies(
        asyncOptions,
        target.deadLetter,
        () => counts.deadLettered++,
      ),
      signal,
    },
  );
  const sink = new Committer(target, (committed, duplicates) => {
    counts.committed += committed;
    counts.duplicates += duplicates;
  }).writable();
  const done = source
    .pipeThrough(transform, { signal })
    .pipeTo(sink, { signal })
    .then(
      () => undefined,
      (error) => {
        if (halt.signal.reason === stopReason && error === stopReason) return;
        throw halt.signal.aborted && halt.signal.reason !== stopReason
          ? halt.signal.reason
          : error;
      },
    )
    .finally(() => reader?.stop());

  return {
    stop() {
      halt.abort(stopReason);
      return done.catch(() => {});
    },
    done,
    get stats(): RedisWorkerStats {
      return {
        ...transform.stats,
        ...counts,
        partitions: reader?.owned ?? [],
      };
    },
  };
}

type Options = Omit<
  RedisWorkerOptions,
  "send" | "input" | "output" | "group" | "consumer" | "fn"
>;

/** Outputs as the sink takes them; a bad shape throws a TypeError. */
function outputsOf(entry: RedisStreamEntry, outputs: unknown): RedisFields[] {
  const list: RedisFields[] = [];
  for (const output of outputs as Iterable<unknown>) {
    if (typeof output !== "object" || output === null) {
      throw new TypeError(
        `Cannot commit entry ${entry.id} of stream ${entry.stream} as an output must be an object of string fields: current value is ${
          describe(output)
        }`,
      );
    }
    const values = Object.values(output);
    if (values.length === 0 || values.some((v) => typeof v !== "string")) {
      throw new TypeError(
        `Cannot commit entry ${entry.id} of stream ${entry.stream} as an output must have one field at least, each a string: current value is ${
          JSON.stringify(output)
        }`,
      );
    }
    list.push(output as RedisFields);
  }
  return list;
}

function deadLetterOf(entry: RedisStreamEntry, error: unknown): RedisCommit {
  return {
    stream: entry.stream,
    id: entry.id,
    outputs: [],
    deadLetter: {
      stream: entry.stream,
      id: entry.id,
      error: messageOf(error),
      fields: JSON.stringify(entry.fields),
    },
  };
}

function commitOf(entry: RedisStreamEntry, outputs: unknown): RedisCommit {
  return {
    stream: entry.stream,
    id: entry.id,
    outputs: outputsOf(entry, outputs),
  };
}

/**
 * Turns `fn` into one that completes each entry with a single RedisCommit,
 * so all of an entry's outputs reach the sink together. Malformed outputs
 * fail the attempt, as a throw would.
 */
function wrapFunction(
  fn:
    | Mapper<RedisStreamEntry, RedisFields>
    | AsyncFunction<RedisStreamEntry, RedisFields>,
):
  | Mapper<RedisStreamEntry, RedisCommit>
  | AsyncFunction<RedisStreamEntry, RedisCommit> {
  if (typeof fn === "function") {
    return async (entry, context) =>
      commitOf(entry, [await fn(entry, context)]);
  }
  if (typeof fn !== "object" || fn === null) {
    throw new TypeError(
      `Cannot ${WHERE} as fn must be a function or an object with asyncInvoke: current value is ${
        describe(fn)
      }`,
    );
  }
  const object: AsyncFunction<RedisStreamEntry, RedisFields> = fn;
  const wrapped: AsyncFunction<RedisStreamEntry, RedisCommit> = {
    asyncInvoke: (entry, result) =>
      object.asyncInvoke(entry, adapt(entry, result)),
  };
  if (object.open !== undefined) wrapped.open = () => object.open?.();
  if (object.close !== undefined) wrapped.close = () => object.close?.();
  const timeout = object.timeout;
  if (timeout !== undefined) {
    wrapped.timeout = (entry, result) =>
      timeout.call(object, entry, adapt(entry, result));
  }
  return wrapped;
}

/** A ResultFuture of outputs over one of the entry's single commit. */
function adapt(
  entry: RedisStreamEntry,
  result: ResultFuture<RedisCommit>,
): ResultFuture<RedisFields> {
  return {
    get signal() {
      return result.signal;
    },
    get attempt() {
      return result.attempt;
    },
    complete(outputs) {
      let commit: RedisCommit;
      try {
        commit = commitOf(entry, outputs);
      } catch (error) {
        result.completeExceptionally(error);
        return;
      }
      result.complete([commit]);
    },
    completeExceptionally: (error) => result.completeExceptionally(error),
  };
}

/** The options whose callbacks see outputs, translated to RedisCommits. */
function wrapPolicies(
  options: Options,
  deadLetter: string | undefined,
  onDeadLetter: () => void,
): Partial<AsyncIOOptions<RedisStreamEntry, RedisCommit>> {
  const policies: Partial<AsyncIOOptions<RedisStreamEntry, RedisCommit>> = {};
  const { onTimeout, retry, onError } = options;
  if (onTimeout !== undefined) {
    policies.onTimeout = (entry, result) =>
      onTimeout(entry, adapt(entry, result));
  }
  if (typeof onError === "function") {
    policies.onError = async (error, entry, context) => {
      const outputs = await onError(error, entry, context);
      // Nothing: the entry is dropped on purpose, so it is committed empty.
      return [commitOf(entry, outputs ?? [])];
    };
  } else if (onError === undefined && deadLetter !== undefined) {
    policies.onError = (error, entry) => {
      onDeadLetter();
      return [deadLetterOf(entry, error)];
    };
  }
  if (retry !== undefined) {
    const { retryOnResult, ...rest } = retry;
    policies.retry = retryOnResult === undefined ? rest : {
      ...rest,
      retryOnResult: (results, entry) =>
        retryOnResult(results.flatMap((r) => r.outputs), entry),
    };
  }
  return policies;
}
