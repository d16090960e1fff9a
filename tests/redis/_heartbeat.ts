// Helpers of the heartbeat tests: workers whose commands are recorded, and
// what the group's pending-entries list says.
import { RespClient } from "../../demo/redis_resp.ts";
import { redisWorker, type RedisWorkerOptions } from "../../src/redis.ts";
import { eventually, isClaim, type TestRedis } from "./_redis.ts";

/** The claimIdleMs of the in-process tests: a beat every 166 ms. */
export const CLAIM_IDLE_MS = 500;

/** A worker started by {@linkcode startWorker}. */
export type RecordedWorker = ReturnType<typeof startWorker>;

/** A worker on connections of its own, with every command it sent. */
export function startWorker(
  redis: TestRedis,
  options: Omit<RedisWorkerOptions, "send" | "blockingSend">,
) {
  const commands = new RespClient(redis.server.url);
  const reads = new RespClient(redis.server.url);
  const sent: { at: number; args: string[] }[] = [];
  const record = (client: RespClient) => (args: string[]) => {
    sent.push({ at: performance.now(), args });
    return client.send(args);
  };
  const worker = redisWorker({
    ...options,
    send: record(commands),
    blockingSend: record(reads),
  });
  return {
    worker,
    sent,
    /** How many of its commands match, sent after `since`. */
    count(match: (args: string[]) => boolean, since = -Infinity): number {
      return sent.filter((s) => s.at >= since && match(s.args)).length;
    },
    async stop(): Promise<void> {
      await worker.stop();
      commands.close();
      reads.close();
    },
  };
}

/** The entries `consumer` owns in `group`, by id. */
export async function ownedBy(
  redis: TestRedis,
  stream: string,
  group: string,
  consumer: string,
): Promise<string[]> {
  const reply = await redis.client.send(
    ["XPENDING", stream, group, "-", "+", "10000", consumer],
  ) as [string, string, number, number][];
  return reply.map(([id]) => id);
}

/** Each entry's owner and delivery count in `group`. */
export async function pendingOf(
  redis: TestRedis,
  stream: string,
  group: string,
): Promise<Map<string, { owner: string; deliveries: number }>> {
  const reply = await redis.client.send(
    ["XPENDING", stream, group, "-", "+", "10000"],
  ) as [string, string, number, number][];
  return new Map(
    reply.map(([id, owner, , deliveries]) => [id, { owner, deliveries }]),
  );
}

/**
 * Waits until `claimer` has sent 3 claims of idle entries, each begun when an
 * entry read at `readAt` and never touched since would have been idle for
 * twice `claimIdleMs`: without a heartbeat, any of them would take it.
 */
export async function claimsPast(
  claimer: RecordedWorker,
  stream: string,
  readAt: number,
  claimIdleMs = CLAIM_IDLE_MS,
): Promise<void> {
  const since = readAt + 2 * claimIdleMs;
  await eventually(
    () => claimer.count((args) => isClaim(args, stream), since) >= 3,
  );
}
