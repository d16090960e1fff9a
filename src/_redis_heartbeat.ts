// The heartbeat of a worker's pending entries: while the worker is alive,
// the entries it has read and not yet acknowledged never look idle to the
// claims (XAUTOCLAIM) of other consumers, so a slow call is not run twice.
// A worker that is stalled or dead stops beating, and its entries are
// claimed after claimIdleMs.
import { settledWithin, timerMs } from "./_redis_options.ts";
import { RedisScript } from "./_redis_script.ts";
import {
  messageOf,
  type RedisSend,
  type RedisStreamEntry,
} from "./_redis_reply.ts";

/** The most entries that one script call touches; more take more calls. */
export const HEARTBEAT_BATCH = 1_000;

// KEYS[1]: stream. ARGV: group, consumer, then the ids to touch. Resets the
// idle time of those of the ids that this consumer still owns, checked and
// touched in one script so that none changes hands in between: an entry that
// another consumer claimed is not in this consumer's XPENDING any more, and
// stays with that consumer. JUSTID leaves the delivery count alone. An entry
// deleted from the stream is left as it is: XCLAIM would drop it from the
// pending list, unreported, where a claim records it for onDeleted. Returns
// how many entries it touched.
const TOUCH_SCRIPT = `
local claim = {'XCLAIM', KEYS[1], ARGV[1], ARGV[2], '0'}
for i = 3, #ARGV do
  local id = ARGV[i]
  if #redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1, ARGV[2]) > 0
    and #redis.call('XRANGE', KEYS[1], id, id) > 0 then
    claim[#claim + 1] = id
  end
end
if #claim == 5 then return 0 end
claim[#claim + 1] = 'JUSTID'
redis.call(unpack(claim))
return #claim - 6
`;

const touchScript = new RedisScript(TOUCH_SCRIPT);

/**
 * The period of a beat that keeps something alive for `ms` (an entry's idle
 * time, a lease): a third of it, so that two beats may be late, or a blocked
 * event loop lose two thirds of it, before it lapses.
 */
export function beatPeriodOf(ms: number): number {
  return timerMs(Math.max(1, Math.floor(ms / 3)));
}

/**
 * How often a worker whose entries are claimed after `claimIdleMs` touches
 * them (see {@linkcode beatPeriodOf}). None for 0, which claims every
 * pending entry at once anyway.
 */
export function heartbeatPeriodOf(claimIdleMs: number): number | undefined {
  return claimIdleMs === 0 ? undefined : beatPeriodOf(claimIdleMs);
}

export interface PendingHeartbeatOptions {
  send: RedisSend;
  stream: string;
  group: string;
  consumer: string;
  periodMs: number;
  /** Called once if a beat fails: the worker must stop its calls then. */
  onError: (error: unknown) => void;
}

/**
 * Every `periodMs` from `start()` until `stop()`, one script call (one per
 * {@linkcode HEARTBEAT_BATCH} entries, none with none) resets the idle time
 * of the entries that this worker has read and not committed, as far as
 * `consumer` still owns them in `group`.
 */
export class PendingHeartbeat {
  readonly #options: PendingHeartbeatOptions;
  /**
   * The ids of the entries this worker has read and not committed: only
   * those are touched. Entries its name owns that it never read (a stopped
   * predecessor's read that was still blocked, a dead twin's) go idle and
   * are claimed after claimIdleMs, as any other worker's are.
   */
  readonly #unfinished = new Set<string>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The beat in flight, if any: the worker's end waits for it. */
  #beating: Promise<void> | undefined;
  #stopped = false;

  constructor(options: PendingHeartbeatOptions) {
    this.#options = options;
  }

  /** The worker read these entries: they are touched until finished. */
  read(entries: RedisStreamEntry[]): RedisStreamEntry[] {
    for (const entry of entries) this.#unfinished.add(entry.id);
    return entries;
  }

  /** The entry's commit landed: it is no longer touched. */
  finished(id: string): void {
    this.#unfinished.delete(id);
  }

  /** Starts beating, unless stopped already (a stop during the start). */
  start(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    this.#schedule(this.#options.periodMs);
  }

  /** Stops at once; a beat in flight ends unheard (see `settled()`). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Settles once the beat in flight, if any, has, or after `ms` at most (a
   * stalled Redis must not hold a stop): no command of a stopped worker
   * reaches Redis after its end.
   */
  settled(ms = 1_000): Promise<void> {
    return this.#beating === undefined
      ? Promise.resolve()
      : settledWithin(this.#beating, ms);
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const startedAt = performance.now();
      const beating = this.#beat();
      this.#beating = beating;
      beating.finally(() => {
        if (this.#beating === beating) this.#beating = undefined;
      }).catch(() => {});
      beating.then(
        () => {
          if (this.#stopped) return;
          // The period counts from the last beat's start: a slow reply does
          // not stretch it.
          const elapsed = performance.now() - startedAt;
          this.#schedule(Math.max(0, this.#options.periodMs - elapsed));
        },
        (error) => {
          if (this.#stopped) return;
          this.#stopped = true;
          const { stream, group, onError } = this.#options;
          onError(
            new Error(
              `Cannot keep the pending entries of stream ${stream} in group ${group} from being claimed: ${
                messageOf(error)
              }`,
              { cause: error },
            ),
          );
        },
      );
    }, ms);
  }

  async #beat(): Promise<void> {
    const { send, stream, group, consumer } = this.#options;
    // The ids as they are now: those committed meanwhile are skipped by the
    // script, and those read meanwhile are young.
    const ids = [...this.#unfinished];
    for (let i = 0; i < ids.length && !this.#stopped; i += HEARTBEAT_BATCH) {
      await touchScript.run(send, [stream], [
        group,
        consumer,
        ...ids.slice(i, i + HEARTBEAT_BATCH),
      ]);
    }
  }
}
