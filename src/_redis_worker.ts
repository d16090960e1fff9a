// redisWorker(): source -> AsyncIOTransformStream -> sink, with a handle.
import { AsyncIOTransformStream } from "./async_io_transform_stream.ts";
import { renamedOptionsError } from "./_config.ts";
import { commit, COMMITTED, type RedisCommit } from "./_redis_commit.ts";
import { PendingHeartbeat } from "./_redis_heartbeat.ts";
import {
  definedOnly,
  milliseconds,
  millisecondsAtLeast,
  positiveInteger,
} from "./_redis_options.ts";
import { PartitionReader } from "./_redis_partitions.ts";
import type { RedisStreamEntry } from "./_redis_reply.ts";
import { commitTargetOf, Committer } from "./_redis_sink.ts";
import { GroupReader, pullStream } from "./_redis_source.ts";
import {
  readRetry,
  wrapFunction,
  wrapPolicies,
} from "./_redis_worker_callbacks.ts";
import {
  CONSTRUCT_REDIS_WORKER,
  type RedisWorker,
  type RedisWorkerOptions,
  type RedisWorkerStats,
  requireNoStreamOnlyOptions,
  requireOptionsObject,
  requireOwnStreams,
  requireReadOptions,
  requireSignal,
  requireWorkerCallbacks,
  type StreamOnlyOption,
} from "./_redis_worker_options.ts";

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
 * dropped. While a worker is alive, a heartbeat keeps the entries it has
 * read from being claimed by others, so a slow call runs once; `fn` runs
 * again for an entry whose worker crashed or stalled for about `claimIdleMs`
 * (see there) or, with `partitions`, `leaseMs`. A partition that a live
 * worker gives up as workers join is handed over only once the calls on the
 * entries read from it have committed, or after `handOverMs` (see there).
 *
 * @param options The {@linkcode RedisWorkerOptions}.
 * @returns A handle with `stop()`, `done` and `stats`.
 * @throws {TypeError} If `send`, `fn` or `signal` has the wrong shape, a
 * name is missing or empty, or a count or duration is not a number.
 * @throws {RangeError} If a count or duration is out of range.
 *
 * @example One worker of a group, with node-redis (run it in as many processes as needed)
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
 * Deno.addSignalListener("SIGTERM", () => worker.stop());
 * try {
 *   await worker.done;
 * } finally {
 *   await Promise.all([client.close(), reads.close()]); // open, they keep the process alive
 * }
 * ```
 */
export function redisWorker(options: RedisWorkerOptions): RedisWorker {
  requireOptionsObject(options);
  // Each option read once, inherited ones included: no rest pattern, which
  // would copy only the own enumerable ones.
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
    handOverMs,
    pollMs,
    deadLetter,
    count,
    blockMs,
    claimIdleMs,
    claimIntervalMs,
    doneRetentionMs,
    batchSize,
    signal: userSignal,
    order,
    capacity,
    concurrency,
    timeout,
    attemptTimeout,
    key,
    rateLimit,
    onTimeout,
    retry,
    onError,
  } = options;
  const {
    restore,
    onCheckpoint,
    writableStrategy,
    readableStrategy,
    batch,
  } = options as Partial<Record<StreamOnlyOption, unknown>>;
  requireReadOptions({ input, consumer, blockingSend });
  const target = commitTargetOf({
    send,
    group,
    output,
    ...(deadLetter === undefined ? {} : { deadLetter }),
    ...(doneRetentionMs === undefined ? {} : { doneRetentionMs }),
    ...(batchSize === undefined ? {} : { batchSize }),
  }, CONSTRUCT_REDIS_WORKER);
  requireSignal(userSignal);
  const counts = { committed: 0, duplicates: 0, deadLettered: 0, outputs: 0 };
  const halt = new AbortController();
  const stopReason = new DOMException("redisWorker stopped", "AbortError");
  const signal = userSignal === undefined
    ? halt.signal
    : AbortSignal.any([userSignal, halt.signal]);
  // A heartbeat that fails once the worker is ending, say as a shutdown
  // closes its connection, must not replace the reason it ends with.
  const fail = (error: unknown) => {
    if (!signal.aborted) halt.abort(error);
  };

  const methods = requireWorkerCallbacks({ onError, fn, onTimeout, retry });
  const retryRead = readRetry(retry);
  requireNoStreamOnlyOptions({
    restore,
    onCheckpoint,
    writableStrategy,
    readableStrategy,
    batch,
  });
  const wrapped = wrapFunction(fn, methods);

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
    // Committed as any dead letter is; one another worker wrote first is a
    // duplicate here.
    const written = results.filter((r) => r === COMMITTED).length;
    counts.committed += written;
    counts.deadLettered += written;
    counts.duplicates += results.length - written;
  };

  // Entries read wait for a free place in the transform: reading more than
  // its capacity at once holds back entries that another worker could run
  // now. Only a count left out falls back: a null one goes on to be refused
  // as a wrong shape.
  const readCount = count !== undefined ? count : (
    typeof capacity === "number" && Number.isInteger(capacity) && capacity > 0
      ? Math.min(100, capacity)
      : undefined
  );
  // Every option is checked before anything talks to Redis: the readers
  // and the transform check theirs when constructed, and reading starts
  // only with the source below.
  const partitionCount = partitions === undefined
    ? undefined
    : positiveInteger(CONSTRUCT_REDIS_WORKER, "partitions", partitions, 1);
  const reader = partitionCount === undefined
    ? new GroupReader(
      {
        send: blockingSend ?? send,
        stream: input,
        group,
        consumer,
        onDeleted,
        ...(readCount === undefined ? {} : { count: readCount }),
        ...(blockMs === undefined ? {} : { blockMs }),
        ...(claimIdleMs === undefined ? {} : { claimIdleMs }),
        ...(claimIntervalMs === undefined ? {} : { claimIntervalMs }),
      },
      CONSTRUCT_REDIS_WORKER,
      // The heartbeat goes through `send`: a read blocked on the same
      // connection would hold it back.
      blockingSend === undefined,
    )
    : new PartitionReader({
      send,
      input,
      group,
      consumer,
      partitions: partitionCount,
      count: positiveInteger(CONSTRUCT_REDIS_WORKER, "count", readCount, 100),
      // Renewed every third of it: a shorter one has no period left.
      leaseMs: millisecondsAtLeast(
        3,
        CONSTRUCT_REDIS_WORKER,
        "leaseMs",
        leaseMs,
        10_000,
      ),
      handOverMs: milliseconds(
        CONSTRUCT_REDIS_WORKER,
        "handOverMs",
        handOverMs,
        60_000,
      ),
      pollMs: milliseconds(CONSTRUCT_REDIS_WORKER, "pollMs", pollMs, 50),
      onDeleted,
      onError: fail,
    });
  requireOwnStreams(input, partitionCount, {
    output: target.output,
    deadLetter: target.deadLetter,
  });
  // The other reading mode's options go unused, but a bad value is a
  // mistake all the same.
  const unused = partitions === undefined
    ? { leaseMs, handOverMs, pollMs }
    : { blockMs, claimIdleMs, claimIntervalMs };
  for (const [name, value] of Object.entries(unused)) {
    milliseconds(CONSTRUCT_REDIS_WORKER, name, value, 0);
  }
  const partitionReader = reader instanceof PartitionReader
    ? reader
    : undefined;
  let transform: AsyncIOTransformStream<RedisStreamEntry, RedisCommit>;
  try {
    transform = new AsyncIOTransformStream<RedisStreamEntry, RedisCommit>(
      wrapped,
      {
        ...definedOnly({
          order,
          capacity,
          concurrency,
          timeout,
          attemptTimeout,
          key,
          rateLimit,
        }),
        ...wrapPolicies(
          { onTimeout, retry: retryRead, onError },
          target.deadLetter,
        ),
        signal,
      },
    );
  } catch (error) {
    throw renamedOptionsError(error, `Cannot ${CONSTRUCT_REDIS_WORKER} as`);
  }
  // Partitioned mode needs none: a partition's entries are claimed only by
  // the worker that takes its lease over, whatever their idle time, and the
  // lease has a heartbeat of its own.
  const heartbeatMs = reader instanceof GroupReader
    ? reader.heartbeatMs
    : undefined;
  const heartbeat = heartbeatMs === undefined
    ? undefined
    : new PendingHeartbeat({
      send,
      stream: input,
      group: target.group,
      consumer,
      periodMs: heartbeatMs,
      onError: fail,
    });
  let started = false;
  const source = pullStream(
    heartbeat === undefined
      ? (abort) => reader.read(abort)
      : async (abort) => heartbeat.read(await reader.read(abort)),
    async () => {
      // A signal aborted before the start: nothing is sent to Redis, not
      // even the group's creation (the pipes below end at once).
      if (signal.aborted) return;
      started = true;
      await reader.start();
      heartbeat?.start();
    },
  );
  // Counted as each commit lands: what it wrote, or that another worker's
  // commit of the same input came first.
  const sink = new Committer(target, undefined, signal, (batch, results) => {
    for (let i = 0; i < batch.length; i++) {
      const { stream, id, outputs, deadLetter } = batch[i]!;
      if (results[i] !== COMMITTED) counts.duplicates++;
      else {
        counts.committed++;
        if (deadLetter !== undefined) counts.deadLettered++;
        else counts.outputs += outputs.length;
      }
      // A partition being handed over is given back once its entries are done.
      partitionReader?.finished(stream, id);
      heartbeat?.finished(id);
    }
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
    .finally(() => {
      heartbeat?.stop();
      return Promise.all([
        heartbeat?.settled(),
        reader instanceof GroupReader
          ? reader.settled()
          : started
          ? reader.stop()
          : undefined,
      ]);
    });

  // Marked handled, as a stream's `closed` promise is: a worker that fails
  // before its caller awaits `done` must not end the process.
  done.catch(() => {});
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
        partitions: partitionReader?.owned ?? [],
        handingOver: partitionReader?.handingOver ?? [],
        handOvers: partitionReader?.handOvers ?? 0,
        lateHandOvers: partitionReader?.lateHandOvers ?? 0,
      };
    },
  };
}
