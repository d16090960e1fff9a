// redisStreamSource(): a pull-based ReadableStream over a consumer group.
import { describe } from "./_describe.ts";
import {
  isRedisError,
  milliseconds,
  positiveInteger,
  requireFunction,
  requireName,
  settledWithin,
  unlessAborted,
} from "./_redis_options.ts";
import { claimIdle, reportDeleted } from "./_redis_deleted.ts";
import { heartbeatPeriodOf } from "./_redis_heartbeat.ts";
import {
  type EntryBatch,
  messageOf,
  readReplyOf,
  type RedisSend,
  type RedisStreamEntry,
} from "./_redis_reply.ts";

/** The default `claimIdleMs`: how long an entry sits idle before a claim. */
const DEFAULT_CLAIM_IDLE_MS = 30_000;

/**
 * The options of {@linkcode redisStreamSource}.
 *
 * @example
 * ```ts ignore
 * import type { RedisStreamSourceOptions } from "@async-io/async-io/redis";
 *
 * const options: RedisStreamSourceOptions = {
 *   send: (args) => client.sendCommand(args),
 *   stream: "orders",
 *   group: "enrich",
 *   consumer: "worker-1",
 *   claimIdleMs: 10_000,
 * };
 * ```
 */
export interface RedisStreamSourceOptions {
  /** Sends one command; see {@linkcode RedisSend}. */
  send: RedisSend;
  /** The input stream. */
  stream: string;
  /** The consumer group; created (with `MKSTREAM`) if missing. */
  group: string;
  /** This consumer's name, unique among the live consumers of the group. */
  consumer: string;
  /**
   * The most entries one read returns (`COUNT`). Keep it at most the
   * capacity of the stream downstream: a read's entries wait there, pending
   * and idle, and another consumer may claim them after `claimIdleMs`.
   *
   * @default {100}
   */
  count?: number;
  /**
   * How long one `XREADGROUP` waits for new entries (`BLOCK`), and at most
   * until the next claim of idle entries (0: until then). It also bounds how
   * long a cancelled read keeps the connection busy.
   *
   * @default {2000}
   */
  blockMs?: number;
  /**
   * Entries pending on another consumer for longer than this are claimed
   * with `XAUTOCLAIM`, on start and then every `claimIntervalMs`. A source
   * alone does not keep its own entries from idling: those still in work
   * after this may be claimed by another consumer, or by its own next claim
   * round, which delivers them again (a `redisWorker` keeps them, with a
   * heartbeat).
   *
   * @default {30000}
   */
  claimIdleMs?: number;
  /**
   * How often idle entries of other consumers are claimed.
   *
   * @default {claimIdleMs}
   */
  claimIntervalMs?: number;
  /**
   * Where a group created here starts reading: `"0"` reads every entry
   * already in the stream, `"$"` only new ones, and a stream id the entries
   * after it.
   *
   * @default {"0"}
   */
  startId?: string;
  /**
   * Called with the ids of pending entries that were deleted from the
   * stream (trimmed) before they were processed, so they are not lost
   * silently; once it resolves they are acknowledged. A claim that finds
   * one (`XAUTOCLAIM` drops a deleted entry from the pending list whatever
   * its idle time) keeps it in the sorted set `<stream>:<group>:deleted`,
   * scored with the server time, and a claim round reports it only once
   * `claimIdleMs` has passed since: a reader still working on it has that
   * long to commit it, which takes it out of the set. Until reported, a
   * later claim round of any reader reports it if this one dies first (at
   * least once). Without it the stream errors with their ids.
   */
  onDeleted?: (stream: string, ids: string[]) => void | Promise<void>;
}

const WHERE = "construct redisStreamSource";

/**
 * A `ReadableStream` of the entries of a Redis stream, read through a
 * consumer group. It creates the group if missing, re-reads this consumer's
 * own pending entries first, claims entries that other consumers left idle
 * for `claimIdleMs` (on start and periodically), then reads new entries.
 *
 * It reads only when pulled, so a downstream `AsyncIOTransformStream`'s
 * capacity backpressures Redis reads. Entries stay pending until they are
 * acknowledged, for example by {@linkcode redisStreamSink}. Cancel returns
 * at once, even during a blocked read; entries that such a read still
 * delivers stay pending for this consumer and are re-read or claimed later.
 *
 * @param options The {@linkcode RedisStreamSourceOptions}.
 * @returns The entries, as `{ stream, id, fields }`.
 * @throws {TypeError} If `send` is not a function, a name is missing or
 * empty, `startId` is neither `"$"` nor a stream id, or `count` or a
 * duration is not a number.
 * @throws {RangeError} If `count` or a duration is out of range.
 *
 * @example Reading a stream with node-redis
 * ```ts ignore
 * import { createClient } from "redis";
 * import { redisStreamSource } from "@async-io/async-io/redis";
 *
 * const client = await createClient().connect();
 * const entries = redisStreamSource({
 *   send: (args) => client.sendCommand(args),
 *   stream: "orders",
 *   group: "enrich",
 *   consumer: "worker-1",
 * });
 * for await (const { id, fields } of entries) console.log(id, fields);
 * ```
 */
export function redisStreamSource(
  options: RedisStreamSourceOptions,
): ReadableStream<RedisStreamEntry> {
  const reader = new GroupReader(options, WHERE);
  return pullStream((signal) => reader.read(signal), () => reader.start());
}

/** A ReadableStream that calls `read` on each pull until it has entries. */
export function pullStream(
  read: (signal: AbortSignal) => Promise<RedisStreamEntry[]>,
  start?: () => Promise<void>,
  cancel?: () => Promise<void>,
): ReadableStream<RedisStreamEntry> {
  const cancelled = new AbortController();
  return new ReadableStream<RedisStreamEntry>({
    start: () => start?.(),
    async pull(controller) {
      while (!cancelled.signal.aborted) {
        const entries = await read(cancelled.signal);
        if (cancelled.signal.aborted) return;
        for (const entry of entries) controller.enqueue(entry);
        if (entries.length > 0) return;
      }
    },
    cancel(reason) {
      cancelled.abort(reason);
      return cancel?.();
    },
  }, { highWaterMark: 0 });
}

/** Creates `group` on `stream` unless it exists. */
export async function createGroup(
  send: RedisSend,
  stream: string,
  group: string,
  startId: string,
): Promise<void> {
  try {
    await send(["XGROUP", "CREATE", stream, group, startId, "MKSTREAM"]);
  } catch (error) {
    if (isRedisError(error, "BUSYGROUP")) return;
    throw new Error(
      `Cannot create consumer group ${group} on stream ${stream}: ${
        messageOf(error)
      }`,
      { cause: error },
    );
  }
}

/** Errors of reads: name the stream and group, keep the cause. */
export function readError(
  stream: string,
  group: string,
  error: unknown,
): Error {
  const reason = isRedisError(error, "NOGROUP")
    ? `consumer group ${group} does not exist (deleted while running?)`
    : messageOf(error);
  return new Error(
    `Cannot read stream ${stream} in group ${group}: ${reason}`,
    { cause: error },
  );
}

type Phase = "own" | "claim" | "new";

/** Reads one stream through a consumer group: own pending, claimed, new. */
export class GroupReader {
  readonly #send: RedisSend;
  readonly #stream: string;
  readonly #group: string;
  readonly #consumer: string;
  readonly #count: string;
  readonly #blockMs: number;
  readonly #maxBlockMs: number;
  /**
   * How often a worker reading through this touches the entries it has read
   * and not committed (see heartbeatPeriodOf); none for a claimIdleMs of 0.
   */
  readonly heartbeatMs: number | undefined;
  readonly #claimIdleMs: string;
  readonly #claimIntervalMs: number;
  readonly #startId: string;
  readonly #onDeleted: RedisStreamSourceOptions["onDeleted"];
  #phase: Phase = "own";
  #cursor = "0";
  #nextClaimAt = 0;
  #late: Promise<void> | undefined;

  /**
   * Checks the options and talks to no one: reading starts with `start()`.
   * `where` names the caller in messages, such as "construct redisWorker".
   * With `beatsOnConnection`, a worker's heartbeat shares the connection:
   * a read then blocks for a beat's period at most, whatever `blockMs` says.
   */
  constructor(
    options: RedisStreamSourceOptions,
    where: string,
    beatsOnConnection = false,
  ) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(
        `Cannot ${where} as options must be an object: current value is ${
          describe(options)
        }`,
      );
    }
    // Each option read once, inherited ones included.
    const {
      send,
      stream,
      group,
      consumer,
      count,
      blockMs,
      claimIdleMs: claimIdleMsOption,
      claimIntervalMs,
      startId,
      onDeleted,
    } = options;
    requireFunction(where, "send", send);
    this.#send = send;
    this.#stream = requireName(where, "stream", stream);
    this.#group = requireName(where, "group", group);
    this.#consumer = requireName(where, "consumer", consumer);
    this.#count = String(positiveInteger(where, "count", count, 100));
    this.#blockMs = milliseconds(where, "blockMs", blockMs, 2_000);
    const claimIdleMs = milliseconds(
      where,
      "claimIdleMs",
      claimIdleMsOption,
      DEFAULT_CLAIM_IDLE_MS,
    );
    this.#claimIdleMs = String(claimIdleMs);
    this.heartbeatMs = heartbeatPeriodOf(claimIdleMs);
    this.#maxBlockMs = beatsOnConnection
      ? this.heartbeatMs ?? Infinity
      : Infinity;
    this.#claimIntervalMs = milliseconds(
      where,
      "claimIntervalMs",
      claimIntervalMs,
      Math.max(claimIdleMs, 1),
    );
    this.#startId = startId === undefined
      ? "0"
      : requireStartId(where, requireName(where, "startId", startId));
    if (onDeleted !== undefined) {
      requireFunction(where, "onDeleted", onDeleted);
    }
    this.#onDeleted = onDeleted;
  }

  start(): Promise<void> {
    return createGroup(this.#send, this.#stream, this.#group, this.#startId);
  }

  async read(signal: AbortSignal): Promise<RedisStreamEntry[]> {
    const reading = this.#readOnce();
    // A claim enters its phase before its first await: no second guess at
    // the clock, which could disagree with #readOnce()'s.
    const claiming = this.#phase === "claim";
    let batch: EntryBatch | undefined;
    try {
      batch = await unlessAborted(reading, signal);
    } catch (error) {
      throw readError(this.#stream, this.#group, error);
    }
    if (batch === undefined) {
      // Stopped during a read: its entries stay pending, but those that an
      // XAUTOCLAIM found deleted are gone from the pending list, so they are
      // still reported (see settled()).
      if (claiming) {
        this.#late = reading.then((late) => this.#report(late.deleted)).catch(
          () => {},
        );
      }
      return [];
    }
    await this.#report(batch.deleted);
    return batch.entries;
  }

  #report(ids: string[]): Promise<void> {
    return reportDeleted(
      this.#onDeleted,
      this.#send,
      this.#stream,
      this.#group,
      ids,
    );
  }

  /**
   * Settles once the deleted entries that a claim reported after a stop are
   * reported too, or after `ms` at most (a stalled Redis must not hold a
   * stop).
   */
  settled(ms = 1_000): Promise<void> {
    return this.#late === undefined
      ? Promise.resolve()
      : settledWithin(this.#late, ms);
  }

  async #readOnce(): Promise<EntryBatch> {
    if (this.#phase === "own") {
      // Our own pending entries, from before a crash or restart.
      const batch = await this.#readGroup(this.#cursor);
      const last = batch.entries.at(-1)?.id ?? batch.deleted.at(-1);
      if (last === undefined) this.#startClaiming();
      else this.#cursor = maxId(last, batch.deleted.at(-1));
      return batch;
    }
    if (this.#phase === "new" && Date.now() >= this.#nextClaimAt) {
      this.#startClaiming();
    }
    if (this.#phase === "claim") {
      const reply = await claimIdle(this.#send, this.#stream, this.#group, {
        consumer: this.#consumer,
        idleMs: this.#claimIdleMs,
        cursor: this.#cursor,
        count: this.#count,
        // A deleted entry's call may still run on another reader: its
        // commit within claimIdleMs of the claim that found it wins.
        minAgeMs: this.#claimIdleMs,
      });
      this.#cursor = reply.cursor;
      if (reply.cursor === "0-0") {
        this.#phase = "new";
        this.#nextClaimAt = Date.now() + this.#claimIntervalMs;
      }
      return reply;
    }
    // A read blocks until the next claim at most (BLOCK 0 would never end),
    // so entries left idle are claimed every claimIntervalMs however long
    // blockMs is.
    const untilClaim = Math.max(1, this.#nextClaimAt - Date.now());
    const blockMs = this.#blockMs === 0
      ? untilClaim
      : Math.min(this.#blockMs, untilClaim);
    return this.#readGroup(
      ">",
      String(Math.min(blockMs, this.#maxBlockMs)), // both at least 1
    );
  }

  /** XREADGROUP after `id`: our own pending entries, or new ones at ">". */
  async #readGroup(id: string, blockMs?: string): Promise<EntryBatch> {
    // Called with no `this`: a member call would pass this reader.
    const send = this.#send;
    return readReplyOf(
      await send([
        "XREADGROUP",
        "GROUP",
        this.#group,
        this.#consumer,
        "COUNT",
        this.#count,
        ...(blockMs === undefined ? [] : ["BLOCK", blockMs]),
        "STREAMS",
        this.#stream,
        id,
      ]),
    );
  }

  #startClaiming(): void {
    this.#phase = "claim";
    this.#cursor = "0-0";
  }
}

/**
 * `startId`, if `$` or a stream id that `XGROUP CREATE` takes: a bad one
 * would fail only at the first read.
 */
function requireStartId(where: string, startId: string): string {
  if (startId === "$") return startId;
  const parts = /^(\d+)(?:-(\d+))?$/.exec(startId);
  if (parts === null) {
    throw new TypeError(
      `Cannot ${where} as startId must be "$" or a stream id such as "0" or "1700000000000-0": current value is ${
        describe(startId)
      }`,
    );
  }
  // Each part is an unsigned 64-bit integer.
  if (parts.slice(1).some((part) => part && BigInt(part) >= 2n ** 64n)) {
    throw new RangeError(
      `Cannot ${where} as startId must have parts of at most ${
        2n ** 64n - 1n
      }: current value is ${describe(startId)}`,
    );
  }
  return startId;
}

/** The later of two stream ids. */
function maxId(a: string, b: string | undefined): string {
  if (b === undefined) return a;
  const [am = 0, as = 0] = a.split("-").map(Number);
  const [bm = 0, bs = 0] = b.split("-").map(Number);
  return am > bm || (am === bm && as >= bs) ? a : b;
}
