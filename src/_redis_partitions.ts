// Partitioned mode: P streams, each leased to one worker at a time, read
// only through a script that checks the lease, so a worker that lost its
// lease (killed, stalled, or over its fair share) cannot read a partition
// that another worker owns.
import { createGroup, readError } from "./_redis_source.ts";
import { CLAIM_LUA, deletedKeyOf, reportDeleted } from "./_redis_deleted.ts";
import { RedisScript } from "./_redis_script.ts";
import {
  claimReplyOf,
  listOf,
  messageOf,
  readReplyOf,
  type RedisSend,
  type RedisStreamEntry,
  textOf,
} from "./_redis_reply.ts";
import { beatPeriodOf } from "./_redis_heartbeat.ts";
import {
  requireName,
  settledWithin,
  timerMs,
  unlessAborted,
} from "./_redis_options.ts";
import { describe } from "./_describe.ts";

/** FNV-1a over UTF-16 code units: stable across runtimes and processes. */
function hash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The stream of the partition that holds `key`, in a worker's partitioned
 * mode: `<input>:<n>` with `n` = FNV-1a hash of `key` modulo `partitions`.
 * Producers `XADD` each entry there, so all entries of a key share one
 * partition and keep their order.
 *
 * @param input The worker's `input` name.
 * @param key The entry's key, such as a user id.
 * @param partitions The worker's `partitions`.
 * @returns The partition's stream name.
 * @throws {RangeError} If `partitions` is a number but not a positive
 * integer.
 * @throws {TypeError} If `input` is not a non-empty string, or `partitions`
 * is not a number.
 *
 * @example
 * ```ts
 * import { redisPartition } from "@async-io/async-io/redis";
 * import assert from "node:assert/strict";
 *
 * const stream = redisPartition("orders", "user-7", 4);
 * assert.match(stream, /^orders:[0-3]$/);
 * assert.equal(redisPartition("orders", "user-7", 4), stream);
 * ```
 */
export function redisPartition(
  input: string,
  key: string,
  partitions: number,
): string {
  // A missing input would name a stream such as "undefined:2", which no
  // worker reads.
  requireName("choose a partition", "input", input);
  if (!Number.isInteger(partitions) || partitions < 1) {
    const message =
      `Cannot choose a partition as partitions must be a positive integer: current value is ${
        describe(partitions)
      }`;
    // A value that is not a number at all has the wrong shape.
    throw typeof partitions === "number"
      ? new RangeError(message)
      : new TypeError(message);
  }
  return partitionStream(input, hash(String(key)) % partitions);
}

export function partitionStream(input: string, index: number): string {
  return `${input}:${index}`;
}

// KEYS[1]: live workers (sorted set); KEYS[2..]: the partitions' leases.
// ARGV[1]: this worker, ARGV[2]: lease ms, ARGV[3]: first partition to try,
// ARGV[4]: a token prefix for new leases, ARGV[5..4+P]: the token held per
// partition ("" if none), ARGV[5+P..4+2P]: "1" per partition being handed
// over, ARGV[5+2P..4+3P]: the entries read from each and not done yet.
// Renews what it holds, handed-over ones included, picks for hand-over what
// exceeds a fair share (kept, not deleted: the worker gives it back once the
// calls on its entries have committed), those with the fewest such entries
// first, so the joining worker waits least; takes free ones up to the share.
// Returns the token per partition and the partitions picked for hand-over.
const HEARTBEAT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ms = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ms)
redis.call('PEXPIRE', KEYS[1], ms * 2)
local p = #KEYS - 1
-- Shares that add up to P: floor(P / W) each, and one more for the first
-- P mod W live workers by name, so that no worker is left without one
-- while another holds more than its share.
local live = redis.call('ZRANGE', KEYS[1], 0, -1)
table.sort(live)
local rank = 1
for j = 1, #live do
  if live[j] == ARGV[1] then rank = j end
end
local share = math.floor(p / #live)
if rank <= p % #live then share = share + 1 end
local tokens, mine, give = {}, {}, {}
for i = 1, p do
  tokens[i] = ''
  local held = ARGV[4 + i]
  if held ~= '' and redis.call('GET', KEYS[1 + i]) == held then
    tokens[i] = held
    if ARGV[4 + p + i] ~= '1' then mine[#mine + 1] = i end
  end
end
if #mine > share then
  -- The busiest first, the highest-numbered first among equals: the end of
  -- the list, given away, is what can be given back soonest.
  table.sort(mine, function(a, b)
    local busyA, busyB = tonumber(ARGV[4 + 2 * p + a]), tonumber(ARGV[4 + 2 * p + b])
    if busyA ~= busyB then return busyA > busyB end
    return a < b
  end)
  while #mine > share do
    give[#give + 1] = table.remove(mine) - 1
  end
end
for i = 1, p do
  if tokens[i] ~= '' then redis.call('PEXPIRE', KEYS[1 + i], ms) end
end
local start = tonumber(ARGV[3])
for j = 0, p - 1 do
  if #mine >= share then break end
  local i = 1 + (start + j) % p
  if tokens[i] == '' then
    local token = ARGV[4] .. ':' .. i
    if redis.call('SET', KEYS[1 + i], token, 'NX', 'PX', ms) then
      tokens[i] = token
      mine[#mine + 1] = i
    end
  end
end
return {tokens, give}
`;

// KEYS[1]: lease, KEYS[2]: partition stream, KEYS[3]: its deleted set.
// ARGV: token, group, consumer, count, claim cursor ("" reads new entries).
// Nil when the lease is lost. A read also returns up to count ids left in
// the deleted set, oldest first: a lease may be kept for ever, so its one
// claim round cannot be the only one to report them. Of any age (the claim
// too, which takes every pending entry): a partition's entries change hands
// with its lease, and the ids whose calls still run here are filtered out.
const READ_SCRIPT = `${CLAIM_LUA}
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
if ARGV[5] ~= '' then
  local claimed = claim(KEYS[2], KEYS[3], ARGV[2], ARGV[3], 0, ARGV[5], ARGV[4], 0)
  if claimed['err'] then return claimed end
  return {'claim', claimed}
end
local left = redis.call('ZRANGE', KEYS[3], 0, tonumber(ARGV[4]) - 1)
return {'read', redis.call('XREADGROUP', 'GROUP', ARGV[2], ARGV[3], 'COUNT', ARGV[4], 'STREAMS', KEYS[2], '>'), left}
`;

// KEYS[1]: live workers, KEYS[2..]: leases; ARGV[1]: this worker,
// ARGV[2..]: tokens. Leaves the live set, deletes the leases still held.
const RELEASE_SCRIPT = `
redis.call('ZREM', KEYS[1], ARGV[1])
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[i] then redis.call('DEL', KEYS[i]) end
end
return 0
`;

// KEYS[1]: a lease; ARGV[1]: its token. Deletes it if still held.
const GIVE_BACK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`;

const heartbeatScript = new RedisScript(HEARTBEAT_SCRIPT);
const giveBackScript = new RedisScript(GIVE_BACK_SCRIPT);
const readScript = new RedisScript(READ_SCRIPT);
const releaseScript = new RedisScript(RELEASE_SCRIPT);

interface Lease {
  readonly index: number;
  readonly stream: string;
  readonly token: string;
  /** Local time after which the lease may have expired on the server. */
  validUntil: number;
  /** The XAUTOCLAIM cursor while taking over the pending entries; "" after. */
  cursor: string;
  /**
   * While handed over: local time after which it is given back even with
   * calls on its entries still running (handOverMs after the hand-over
   * began). Undefined while it is read.
   */
  handOverUntil: number | undefined;
}

/** Per partition, what a hand-over of it and a claim round must wait for. */
interface Unfinished {
  /**
   * The entries read from it and not yet done (committed, dead-lettered or
   * dropped as duplicates), under any of its leases: a claim round of a
   * lease taken back returns none of them, as their calls still run here.
   */
  readonly ids: Set<string>;
  /** Reads in flight: what they return joins `ids`. */
  reads: number;
  /** Claims in flight (a claim is a read too). */
  claims: number;
  /**
   * While a claim is in flight, the entries done since it was sent: their
   * XACK may have run after its XAUTOCLAIM, which then returns them.
   */
  doneWhileClaiming: Set<string> | undefined;
}

export interface PartitionReaderOptions {
  send: RedisSend;
  input: string;
  group: string;
  consumer: string;
  partitions: number;
  count: number;
  leaseMs: number;
  handOverMs: number;
  pollMs: number;
  onDeleted: ((stream: string, ids: string[]) => Promise<void>) | undefined;
  onError: (error: unknown) => void;
}

/**
 * Reads the partitions this worker leases, round-robin. A heartbeat every
 * leaseMs / 3 renews, balances and takes leases. A newly taken partition is
 * first drained of every pending entry (XAUTOCLAIM from 0, any idle time),
 * in id order, before its new entries: so a key's entries are processed in
 * order even when the previous owner died halfway.
 *
 * A partition over the fair share is handed over: no longer read, its lease
 * still renewed, and given back once every entry read from it has been
 * committed (see `finished`), or after handOverMs at most. So the next holder
 * finds none of this worker's entries pending, and no call runs twice.
 *
 * A partition lost (its lease ran out) may be taken back by this worker: its
 * claim round then skips the entries whose calls still run here, which stay
 * pending under this consumer until those calls commit them.
 */
export class PartitionReader {
  readonly #options: PartitionReaderOptions;
  readonly #leases = new Map<number, Lease>();
  readonly #stopped = new AbortController();
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The heartbeat in flight, if any: stop() waits for the leases it takes. */
  #beating: Promise<void> | undefined;
  #acquisitions = 0;
  #next = 0;
  #wake: (() => void) | undefined;
  readonly #groups = new Set<number>();
  /** Per partition index: a hand-over waits until none is left. */
  readonly #unfinished: readonly Unfinished[];
  /** Leases being given back after a hand-over: stop() waits for them. */
  readonly #givingBack = new Set<Promise<void>>();
  #handOvers = 0;
  #lateHandOvers = 0;

  constructor(options: PartitionReaderOptions) {
    this.#options = options;
    this.#unfinished = Array.from({ length: options.partitions }, () => ({
      ids: new Set<string>(),
      reads: 0,
      claims: 0,
      doneWhileClaiming: undefined,
    }));
  }

  /** The partitions held now, those being handed over included. */
  get owned(): number[] {
    return [...this.#leases.keys()].sort((a, b) => a - b);
  }

  /** The partitions held only until the calls on their entries commit. */
  get handingOver(): number[] {
    return [...this.#leases.values()]
      .filter((lease) => lease.handOverUntil !== undefined)
      .map((lease) => lease.index)
      .sort((a, b) => a - b);
  }

  /** Partitions given back once every entry read from them had committed. */
  get handOvers(): number {
    return this.#handOvers;
  }

  /** Partitions given back after handOverMs with calls still running. */
  get lateHandOvers(): number {
    return this.#lateHandOvers;
  }

  /**
   * Called after each commit: entry `id` of `stream` is done (committed,
   * dead-lettered or dropped as a duplicate).
   */
  finished(stream: string, id: string): void {
    const { input, partitions } = this.#options;
    const index = Number(stream.slice(input.length + 1));
    if (
      !Number.isInteger(index) || index < 0 || index >= partitions ||
      partitionStream(input, index) !== stream
    ) return;
    const unfinished = this.#unfinished[index]!;
    if (!unfinished.ids.delete(id)) return;
    unfinished.doneWhileClaiming?.add(id);
    this.#settle(index);
  }

  /** Whether entries read from partition `index`, or a read, are unfinished. */
  #busy(index: number): boolean {
    const { ids, reads } = this.#unfinished[index]!;
    return ids.size > 0 || reads > 0;
  }

  #settle(index: number): void {
    if (this.#busy(index)) return;
    const lease = this.#leases.get(index);
    if (lease?.handOverUntil !== undefined) this.#giveBack(lease, false);
  }

  /** Gives a handed-over lease back; the next holder takes it at its beat. */
  #giveBack(lease: Lease, late: boolean): void {
    if (this.#stopped.signal.aborted) return; // stop() gives back every lease
    this.#leases.delete(lease.index);
    if (late) this.#lateHandOvers++;
    else this.#handOvers++;
    const { send, input, group } = this.#options;
    const givingBack = giveBackScript.run(
      send,
      [leaseKey(input, group, lease.index)],
      [lease.token],
    ).then(
      () => {},
      // Not fatal: the lease then runs out by itself, and a lost connection
      // fails the worker at its next beat.
      () => {},
    );
    this.#givingBack.add(givingBack);
    givingBack.finally(() => this.#givingBack.delete(givingBack));
  }

  async start(): Promise<void> {
    const startedAt = performance.now();
    await this.#beatOnce();
    this.#scheduleAfter(startedAt);
  }

  #beatOnce(): Promise<void> {
    const beating = this.#beat().catch((error) => {
      const { input, group } = this.#options;
      throw new Error(
        `Cannot lease the partitions of stream ${input} in group ${group}: ${
          messageOf(error)
        }`,
        { cause: error },
      );
    });
    this.#beating = beating;
    return beating.finally(() => {
      if (this.#beating === beating) this.#beating = undefined;
    });
  }

  /**
   * The next beat, a period after the last one started: a slow reply must
   * not stretch the period, or a lease may run out between two renewals.
   */
  #scheduleAfter(startedAt: number): void {
    if (this.#stopped.signal.aborted) return;
    const elapsed = performance.now() - startedAt;
    const ms = Math.max(0, beatPeriodOf(this.#options.leaseMs) - elapsed);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const startedAt = performance.now();
      this.#beatOnce().then(
        () => this.#scheduleAfter(startedAt),
        (error) => {
          if (!this.#stopped.signal.aborted) this.#options.onError(error);
        },
      );
    }, ms);
  }

  async #beat(): Promise<void> {
    const { send, input, group, consumer, partitions, leaseMs } = this.#options;
    const sentAt = performance.now();
    // A hand-over that outlasted handOverMs ends here: a call that hangs
    // must not keep the partition from the worker waiting for it.
    for (const lease of [...this.#leases.values()]) {
      if (lease.handOverUntil !== undefined && sentAt >= lease.handOverUntil) {
        this.#giveBack(lease, true);
      }
    }
    const keys = [workersKey(input, group)];
    const tokens: string[] = [];
    const handingOver: string[] = [];
    const unfinished: string[] = [];
    for (let i = 0; i < partitions; i++) {
      keys.push(leaseKey(input, group, i));
      const lease = this.#leases.get(i);
      tokens.push(lease?.token ?? "");
      handingOver.push(lease?.handOverUntil === undefined ? "" : "1");
      // Entries read and not committed: a read in flight, which the reader
      // has at nearly any moment, would make an idle partition look busy.
      unfinished.push(String(this.#unfinished[i]!.ids.size));
    }
    const reply = listOf(
      await heartbeatScript.run(send, keys, [
        consumer,
        String(leaseMs),
        String(hash(consumer) % partitions),
        `${consumer}#${++this.#acquisitions}`,
        ...tokens,
        ...handingOver,
        ...unfinished,
      ]),
    ) ?? [];
    const held = listOf(reply[0]) ?? [];
    // Once stopped, the leases this beat took are still recorded, for stop()
    // to give back, but no group is created any more.
    const stopped = this.#stopped.signal.aborted;
    for (let i = 0; i < partitions; i++) {
      const token = held[i] === null || held[i] === undefined
        ? ""
        : textOf(held[i]);
      const lease = this.#leases.get(i);
      if (token === "") {
        this.#leases.delete(i);
      } else if (token === tokens[i]) {
        // Renewed, unless given back while this beat ran.
        if (lease?.token === token) lease.validUntil = sentAt + leaseMs;
      } else {
        const stream = partitionStream(input, i);
        if (!this.#groups.has(i) && !stopped) {
          await createGroup(send, stream, group, "0");
          this.#groups.add(i);
        }
        this.#leases.set(i, {
          index: i,
          stream,
          token,
          validUntil: sentAt + leaseMs,
          cursor: "0-0",
          handOverUntil: undefined,
        });
      }
    }
    if (!stopped) {
      const { handOverMs } = this.#options;
      for (const given of listOf(reply[1]) ?? []) {
        const lease = this.#leases.get(Number(textOf(given)));
        if (lease === undefined || lease.handOverUntil !== undefined) continue;
        lease.handOverUntil = sentAt + handOverMs;
        // Nothing read from it is left to commit: give it back at once.
        if (!this.#busy(lease.index)) this.#giveBack(lease, false);
        else if (handOverMs === 0) this.#giveBack(lease, true);
      }
    }
    this.#wake?.();
  }

  /** Reads one batch from the next partition that has entries. */
  async read(signal: AbortSignal): Promise<RedisStreamEntry[]> {
    // A partition being handed over is read no more.
    const held = [...this.#leases.values()].filter((lease) =>
      lease.handOverUntil === undefined
    );
    for (let n = 0; n < held.length; n++) {
      const lease = held[(this.#next + n) % held.length]!;
      if (!this.#readable(lease)) continue;
      const entries = await this.#readLease(lease, signal);
      if (signal.aborted) return [];
      if (entries.length > 0) {
        this.#next = (this.#next + n + 1) % Math.max(held.length, 1);
        return entries;
      }
    }
    // Nothing to read: wait for new entries or a lease change.
    await this.#idle(signal);
    return [];
  }

  /** Whether `lease` is still to be read. */
  #readable(lease: Lease): boolean {
    // A hand-over that began during this round's earlier reads, or a lease
    // lost or given back meanwhile, ends its reading here; a lease that may
    // have run out (say, after SIGSTOP) is not read.
    return lease.handOverUntil === undefined &&
      this.#leases.get(lease.index) === lease &&
      performance.now() < lease.validUntil;
  }

  /**
   * Reads one batch of `lease`, counted as unfinished from before the read
   * is sent: a hand-over that begins meanwhile waits for what it returns.
   */
  async #readLease(
    lease: Lease,
    signal: AbortSignal,
  ): Promise<RedisStreamEntry[]> {
    const unfinished = this.#unfinished[lease.index]!;
    unfinished.reads++;
    try {
      let entries = await this.#readBatch(lease, unfinished, signal);
      // A claim batch of entries that all still run here: the round goes on.
      while (
        entries.length === 0 && lease.cursor !== "" && !signal.aborted &&
        this.#readable(lease)
      ) entries = await this.#readBatch(lease, unfinished, signal);
      // Dropped unread when aborted (a stop): they stay pending.
      if (signal.aborted) return [];
      for (const entry of entries) unfinished.ids.add(entry.id);
      return entries;
    } finally {
      unfinished.reads--;
      this.#settle(lease.index);
    }
  }

  async #readBatch(
    lease: Lease,
    unfinished: Unfinished,
    signal: AbortSignal,
  ): Promise<RedisStreamEntry[]> {
    const claiming = lease.cursor !== "";
    if (claiming && unfinished.claims++ === 0) {
      unfinished.doneWhileClaiming = new Set();
    }
    try {
      return await this.#readBatchOnce(lease, unfinished, signal);
    } finally {
      if (claiming && --unfinished.claims === 0) {
        unfinished.doneWhileClaiming = undefined;
      }
    }
  }

  async #readBatchOnce(
    lease: Lease,
    unfinished: Unfinished,
    signal: AbortSignal,
  ): Promise<RedisStreamEntry[]> {
    const { send, input, group, consumer, count } = this.#options;
    let reply: unknown[] | null | undefined;
    try {
      const sent = await unlessAborted(
        readScript.run(send, [
          leaseKey(input, group, lease.index),
          lease.stream,
          deletedKeyOf(lease.stream, group),
        ], [
          lease.token,
          group,
          consumer,
          String(count),
          lease.cursor,
        ]),
        signal,
      );
      if (sent === undefined) return [];
      reply = listOf(sent);
    } catch (error) {
      throw readError(lease.stream, group, error);
    }
    if (reply === null) {
      // Lost: stop reading it at once, unless a heartbeat already replaced it.
      if (this.#leases.get(lease.index) === lease) {
        this.#leases.delete(lease.index);
      }
      return [];
    }
    let entries: RedisStreamEntry[];
    let deleted: string[];
    if (textOf(reply[0]) === "claim") {
      const claimed = claimReplyOf(lease.stream, reply[1]);
      lease.cursor = claimed.cursor === "0-0" ? "" : claimed.cursor;
      ({ entries, deleted } = claimed);
      // A lease taken back by this worker: what still runs here, or has just
      // committed, is not run again.
      const { ids, doneWhileClaiming } = unfinished;
      if (ids.size > 0 || doneWhileClaiming!.size > 0) {
        entries = entries.filter((entry) =>
          !ids.has(entry.id) && !doneWhileClaiming!.has(entry.id)
        );
      }
    } else {
      ({ entries, deleted } = readReplyOf(reply[1]));
      for (const id of listOf(reply[2]) ?? []) deleted.push(textOf(id));
    }
    // Nor is one deleted from the stream while its call runs here (or that
    // has just committed) dead-lettered: it waits in the deleted set, and
    // that call's commit takes it out, output and all.
    const { ids, doneWhileClaiming } = unfinished;
    if (ids.size > 0 || (doneWhileClaiming?.size ?? 0) > 0) {
      deleted = deleted.filter((id) =>
        !ids.has(id) && doneWhileClaiming?.has(id) !== true
      );
    }
    await reportDeleted(
      this.#options.onDeleted,
      send,
      lease.stream,
      group,
      deleted,
    );
    return entries;
  }

  #idle(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, timerMs(this.#options.pollMs));
      signal.addEventListener("abort", done);
      this.#wake = done;
    });
  }

  /** Stops the heartbeat and gives the leases back, best effort. */
  async stop(): Promise<void> {
    this.#stopped.abort();
    clearTimeout(this.#timer);
    this.#wake?.();
    // Best effort: a client that queues commands while Redis is down must not
    // hold the stop; the leases then expire by themselves.
    await settledWithin(this.#release(), 1_000);
  }

  async #release(): Promise<void> {
    // A heartbeat in flight may take leases: wait for it, to give them back.
    await this.#beating?.catch(() => {});
    await Promise.all(this.#givingBack);
    const leases = [...this.#leases.values()];
    this.#leases.clear();
    const { send, input, group, consumer } = this.#options;
    await releaseScript.run(
      send,
      [
        workersKey(input, group),
        ...leases.map((lease) => leaseKey(input, group, lease.index)),
      ],
      [consumer, ...leases.map((lease) => lease.token)],
    );
  }
}

function workersKey(input: string, group: string): string {
  return `${input}:${group}:workers`;
}

function leaseKey(input: string, group: string, index: number): string {
  return `${partitionStream(input, index)}:${group}:lease`;
}
