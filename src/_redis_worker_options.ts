// The public types of redisWorker (its options, its handle and the handle's
// stats) and the checks of the options that neither the sink's commit
// target nor the source makes.
import { describe } from "./_describe.ts";
import { requireFunction, requireName } from "./_redis_options.ts";
import type {
  RedisFields,
  RedisSend,
  RedisStreamEntry,
} from "./_redis_reply.ts";
import { isAbortSignal } from "./_user_code.ts";
import type { AsyncIOStats } from "./async_io_stats.ts";
import type { AsyncFunction, Mapper } from "./call_context.ts";
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
  /**
   * The stream that receives the outputs; not one it reads (`input`, or a
   * partition's stream), which is a RangeError.
   */
  output: string;
  /** The consumer group that the workers share. */
  group: string;
  /** This worker's name, unique among the live workers. */
  consumer: string;
  /**
   * Called for each entry. The function form gives one output per entry,
   * the {@linkcode AsyncFunction} form zero or more; each output is an
   * object of string fields for `XADD`. An object's methods are read once,
   * when `redisWorker()` is called, and called on it, as the stream does.
   */
  fn:
    | Mapper<RedisStreamEntry, RedisFields>
    | AsyncFunction<RedisStreamEntry, RedisFields>;
  /**
   * Reads `partitions` streams `<input>:0` … `<input>:<P-1>` (fill them with
   * {@linkcode redisPartition}), each leased to one worker at a time, so
   * that with `order: "key-ordered"` each key's outputs keep their order
   * across workers and crashes. By default one stream `input` is shared.
   * Each of W live workers takes `floor(P / W)` partitions, and the first
   * `P mod W` by consumer name one more; one over its share as workers join
   * hands the rest over (see `handOverMs`), so a call in flight there runs
   * once.
   */
  partitions?: number;
  /**
   * How long a partition lease lasts without renewal (every `leaseMs / 3`).
   * A dead or stalled worker's partitions are taken over after this, and
   * the calls it had in flight on their entries run again in the worker that
   * takes them; a worker that takes its own partition back runs them once.
   * At least 3 (a `RangeError` below).
   *
   * @default {10000}
   */
  leaseMs?: number;
  /**
   * In partitioned mode, how long a worker that gives a partition up to
   * even out the shares (as workers join) may keep it for the calls on the
   * entries it has read from it. It reads the partition no more, keeps
   * renewing its lease, and gives it back once they have all committed, so
   * none runs twice. Past this (checked at each lease renewal), it gives
   * the lease back with calls still running: their entries run again in the
   * next holder, whose commit or theirs wins, as after a crash; per-key
   * order still holds. Keep `timeout` (it spans the retries) well below it,
   * with room for the entries read that still wait to start, for no call to
   * run twice. In `"ordered"` mode an entry commits only after every entry
   * read before it, from other partitions too, and the hand-over waits for
   * those as well. 0 gives the partition up at once.
   *
   * @default {60000}
   */
  handOverMs?: number;
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
   * from the input stream while pending (without partitions, once
   * `claimIdleMs` has passed since a claim found them deleted, so that a
   * call still running on one may commit it first). Each dead letter has fields `stream`, `id`, `error` and
   * `fields` (the input's fields as JSON), and is committed atomically with
   * the input's acknowledgement. Without it such an input fails the worker
   * with a clear error and stays pending.
   */
  deadLetter?: string;
  /**
   * See `RedisStreamSourceOptions.count`. Keep it at most `capacity`: the
   * entries read wait for a place, held back from workers that could run
   * them now.
   *
   * @default {100, or `capacity` if smaller}
   */
  count?: number;
  /** See `RedisStreamSourceOptions.blockMs`. @default {2000} */
  blockMs?: number;
  /**
   * See `RedisStreamSourceOptions.claimIdleMs`. Without partitions, a live
   * worker resets the idle time of the entries it has read and not
   * committed every `claimIdleMs / 3` (a heartbeat), so however long a call
   * runs, no other worker claims its entry. A worker that stops beating for
   * about two thirds of this, stalled (SIGSTOP, an event loop blocked that
   * long) or dead, has its entries claimed by the others, which run them
   * again. 0 claims every pending entry at once, those in flight included.
   * Unused with partitions: a partition's entries change hands with its
   * lease.
   *
   * @default {30000}
   */
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
  /**
   * Inputs this worker committed: their outputs added to the output stream,
   * or, for one that failed, the input written to the dead-letter stream
   * (counted in `deadLettered` too). Each counter of a commit counts once its
   * reply has come.
   */
  readonly committed: number;
  /** Inputs that another worker had committed first: dropped. */
  readonly duplicates: number;
  /**
   * Inputs this worker wrote to the dead-letter stream (counted in
   * `committed` too): one that another worker committed first counts in
   * `duplicates` instead, and one whose commit failed nowhere.
   */
  readonly deadLettered: number;
  /**
   * Outputs this worker added to the output stream, for the inputs it
   * committed (the stream inside emits one commit per input, so its own
   * count would be `emitted` again).
   */
  readonly outputs: number;
  /**
   * The partitions this worker leases now (partitioned mode), those in
   * `handingOver` included.
   */
  readonly partitions: readonly number[];
  /**
   * The partitions this worker is giving up to even out the shares: no
   * longer read, their leases kept until the calls on the entries already
   * read from them have committed (`handOverMs` at most).
   */
  readonly handingOver: readonly number[];
  /**
   * Partitions given up to even out the shares once every entry read from
   * them had committed: no call on them runs twice.
   */
  readonly handOvers: number;
  /**
   * Partitions given up after `handOverMs` with calls on their entries still
   * running: the next holder runs those entries again (the first commit
   * wins, and per-key order holds).
   */
  readonly lateHandOvers: number;
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
   * the pipeline has shut down, and a heartbeat or a commit in flight has
   * ended (a second at most each, for a stalled Redis): `stats` are final
   * then.
   */
  stop(): Promise<void>;
  /**
   * Settles when the worker ends: resolves after `stop()`, rejects on error.
   * As a stream's `closed` promise, it is marked handled: a failure before
   * a handler is attached is not an unhandled rejection.
   */
  readonly done: Promise<void>;
  /** Counters of the work so far. */
  readonly stats: RedisWorkerStats;
}

/** The `where` of redisWorker's messages: "Cannot construct redisWorker as …". */
export const CONSTRUCT_REDIS_WORKER = "construct redisWorker";

/** Throws unless `options` is an object, before it is destructured. */
export function requireOptionsObject(
  options: unknown,
): asserts options is RedisWorkerOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot ${CONSTRUCT_REDIS_WORKER} as options must be an object: current value is ${
        describe(options)
      }`,
    );
  }
}

/**
 * Checks the reading side's options that the source does not check itself.
 * It takes values already destructured, so that each option is read once.
 */
export function requireReadOptions(
  { input, consumer, blockingSend }: {
    input: unknown;
    consumer: unknown;
    blockingSend: unknown;
  },
): void {
  requireName(CONSTRUCT_REDIS_WORKER, "input", input);
  requireName(CONSTRUCT_REDIS_WORKER, "consumer", consumer);
  if (blockingSend !== undefined) {
    requireFunction(CONSTRUCT_REDIS_WORKER, "blockingSend", blockingSend);
  }
}

/**
 * Throws a RangeError if the output or dead-letter stream is one that the
 * worker reads (`input`, or with `partitions` one of `<input>:0` …): what it
 * writes would come back as inputs, for ever.
 */
export function requireOwnStreams(
  input: string,
  partitions: number | undefined,
  written: { output: string; deadLetter: string | undefined },
): void {
  const reads = (name: string) =>
    partitions === undefined ? name === input : name.startsWith(`${input}:`) &&
      /^(0|[1-9]\d*)$/.test(name.slice(input.length + 1)) &&
      Number(name.slice(input.length + 1)) < partitions;
  const streams = partitions === undefined
    ? input
    : `${input}:0 … ${input}:${partitions - 1}`;
  for (const [name, value] of Object.entries(written)) {
    if (value !== undefined && reads(value)) {
      throw new RangeError(
        `Cannot ${CONSTRUCT_REDIS_WORKER} as ${name} must not be a stream it reads (${streams}): current value is ${
          describe(value)
        }`,
      );
    }
  }
}

/**
 * Throws unless `signal` is undefined or an AbortSignal, with the stream's
 * message: the worker combines it with its own before the stream sees it.
 */
export function requireSignal(signal: unknown): void {
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw new TypeError(
      `Cannot ${CONSTRUCT_REDIS_WORKER} as signal must be an AbortSignal: current value is ${
        describe(signal)
      }`,
    );
  }
}

/** The methods of an object `fn`, each read from it once. */
export type AsyncFunctionMethods =
  & Required<
    Pick<AsyncFunction<RedisStreamEntry, RedisFields>, "asyncInvoke">
  >
  & {
    [K in "timeout" | "open" | "close"]:
      | AsyncFunction<RedisStreamEntry, RedisFields>[K]
      | undefined;
  };

/**
 * Checks `onError`, `fn` (its methods included), and the shapes of
 * `onTimeout` and `retry`, which the worker wraps before the stream could
 * check them. redisWorker runs it after the commit target's checks, so which
 * of several bad options is reported first stays the same. Returns the
 * methods of an object `fn`, read once, as the stream reads them: they are
 * the ones called, on `fn`.
 */
export function requireWorkerCallbacks(
  { onError, fn, onTimeout, retry }: {
    onError: unknown;
    fn: unknown;
    onTimeout: unknown;
    retry: unknown;
  },
): AsyncFunctionMethods | undefined {
  if (
    onError !== undefined && onError !== "fail" &&
    typeof onError !== "function"
  ) {
    throw new TypeError(
      `Cannot ${CONSTRUCT_REDIS_WORKER} as onError must be "fail" or a function: current value is ${
        describe(onError)
      }`,
    );
  }
  const asyncInvoke = typeof fn === "object" && fn !== null
    ? (fn as { asyncInvoke?: unknown }).asyncInvoke
    : undefined;
  if (typeof fn !== "function" && typeof asyncInvoke !== "function") {
    throw new TypeError(
      `Cannot ${CONSTRUCT_REDIS_WORKER} as fn must be a function or an object with asyncInvoke: current value is ${
        describe(fn)
      }`,
    );
  }
  // The worker wraps these methods, so the stream never sees a bad one.
  let methods: AsyncFunctionMethods | undefined;
  if (typeof fn === "object") {
    const read: Partial<Record<keyof AsyncFunctionMethods, unknown>> = {
      asyncInvoke,
    };
    for (const name of ["timeout", "open", "close"] as const) {
      const method = (fn as Partial<Record<typeof name, unknown>>)[name];
      if (method !== undefined && typeof method !== "function") {
        throw new TypeError(
          `Cannot ${CONSTRUCT_REDIS_WORKER} as fn.${name} must be a function: current value is ${
            describe(method)
          }`,
        );
      }
      read[name] = method;
    }
    methods = read as AsyncFunctionMethods;
  }
  if (onTimeout !== undefined && typeof onTimeout !== "function") {
    throw new TypeError(
      `Cannot ${CONSTRUCT_REDIS_WORKER} as onTimeout must be a function: current value is ${
        describe(onTimeout)
      }`,
    );
  }
  if (retry !== undefined && (typeof retry !== "object" || retry === null)) {
    throw new TypeError(
      `Cannot ${CONSTRUCT_REDIS_WORKER} as retry must be an object: current value is ${
        describe(retry)
      }`,
    );
  }
  return methods;
}

/**
 * Options of the stream that a worker does not take: its state is the
 * consumer group's pending entries, its stream's sides are its own, and its
 * calls are one per entry.
 */
const STREAM_ONLY = [
  "restore",
  "onCheckpoint",
  "writableStrategy",
  "readableStrategy",
  "batch",
] as const;

/** The name of an option that only the stream takes. */
export type StreamOnlyOption = typeof STREAM_ONLY[number];

/** Throws if one of `given`, the values read of those options, is set. */
export function requireNoStreamOnlyOptions(
  given: Partial<Record<StreamOnlyOption, unknown>>,
): void {
  for (const name of STREAM_ONLY) {
    const value = given[name];
    if (value !== undefined) {
      throw new TypeError(
        `Cannot ${CONSTRUCT_REDIS_WORKER} as ${name} must be undefined, since a worker does not take it: current value is ${
          describe(value)
        }`,
      );
    }
  }
}
