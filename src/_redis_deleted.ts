// Pending entries that were deleted (trimmed) from their stream. A claim
// that finds one drops it from the pending list (XAUTOCLAIM does so whatever
// the entry's idle time), so the same script records its id in a sorted set,
// `<stream>:<group>:deleted`, scored with the server time it was first
// found; it leaves the set only once reported (the worker's dead-letter
// commit removes it in its own script) or committed by the call that still
// runs on it. A claim round reports only ids found at least a min age ago
// (the reader's claimIdleMs), so such a call that commits within that time
// wins. A worker that dies in between loses nothing: the next claim round,
// by any consumer, reports what the set still holds.
import type { RedisStreamSourceOptions } from "./_redis_source.ts";
import { RedisScript } from "./_redis_script.ts";
import {
  claimReplyOf,
  type EntryBatch,
  messageOf,
  type RedisSend,
} from "./_redis_reply.ts";

/** The key of the sorted set of `stream`'s deleted entries not yet reported. */
export function deletedKeyOf(stream: string, group: string): string {
  return `${stream}:${group}:deleted`;
}

/**
 * Lua: `claim(stream, deleted, group, consumer, idle, cursor, count, minAge)`
 * runs XAUTOCLAIM and returns its reply. The ids it reports deleted are added
 * to the sorted set `deleted`, scored with the server time (ms) unless there
 * already; they stay in the reply only for a `minAge` of 0. A round's first
 * claim (cursor 0-0) also reports up to `count` ids, oldest first, that
 * claims recorded at least `minAge` ms ago and no one reported. An error
 * reply if `deleted` is not a sorted set: checked first, since a ZADD that
 * failed after the XAUTOCLAIM would lose the ids that it dropped.
 */
export const CLAIM_LUA = `
local function claim(stream, deleted, group, consumer, idle, cursor, count, minAge)
  local t = redis.call('TYPE', deleted)['ok']
  if t ~= 'zset' and t ~= 'none' then
    return redis.error_reply('WRONGTYPE Cannot claim the idle entries of stream ' .. stream .. ' as key ' .. deleted .. ' holds a ' .. t .. ', not a sorted set')
  end
  local time = redis.call('TIME')
  local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  minAge = tonumber(minAge)
  local reply = redis.call('XAUTOCLAIM', stream, group, consumer, idle, cursor, 'COUNT', count)
  local ids, seen = {}, {}
  for _, id in ipairs(reply[3] or {}) do
    redis.call('ZADD', deleted, 'NX', now, id)
    if minAge == 0 then
      ids[#ids + 1] = id
      seen[id] = true
    end
  end
  if cursor == '0-0' then
    local old = redis.call('ZRANGEBYSCORE', deleted, '-inf', now - minAge, 'LIMIT', 0, tonumber(count))
    for _, id in ipairs(old) do
      if not seen[id] then ids[#ids + 1] = id end
    end
  end
  reply[3] = ids
  return reply
end
`;

// KEYS[1]: stream, KEYS[2]: its deleted set. ARGV: group, consumer, idle
// ms, cursor, count, min age ms of the deleted ids to report.
const claimScript = new RedisScript(`${CLAIM_LUA}
return claim(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
`);

/**
 * One XAUTOCLAIM of `stream` in `group`, recording the deleted ids; of
 * those, it returns the ones first found at least `minAgeMs` ago.
 */
export async function claimIdle(
  send: RedisSend,
  stream: string,
  group: string,
  args: {
    consumer: string;
    idleMs: string;
    cursor: string;
    count: string;
    minAgeMs: string;
  },
): Promise<EntryBatch & { cursor: string }> {
  return claimReplyOf(
    stream,
    await claimScript.run(send, [stream, deletedKeyOf(stream, group)], [
      group,
      args.consumer,
      args.idleMs,
      args.cursor,
      args.count,
      args.minAgeMs,
    ]),
  );
}

// KEYS[1]: stream, KEYS[2]: its deleted set. ARGV[1]: group, ARGV[2..]:
// ids. Forgets reported entries: those read from our own pending list are
// acknowledged, those a claim recorded leave the set.
const forgetScript = new RedisScript(`
for i = 2, #ARGV do
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[i])
  redis.call('ZREM', KEYS[2], ARGV[i])
end
return 0
`);

/**
 * Reports deleted pending entries to `onDeleted`, then forgets them; fails
 * loudly without a handler, and they stay recorded for the next claim.
 */
export async function reportDeleted(
  onDeleted: RedisStreamSourceOptions["onDeleted"],
  send: RedisSend,
  stream: string,
  group: string,
  ids: string[],
): Promise<void> {
  if (ids.length === 0) return;
  if (onDeleted === undefined) {
    throw new Error(
      `Cannot read entries ${
        ids.join(", ")
      } of stream ${stream} as they were deleted from the stream while pending; pass onDeleted to record them`,
    );
  }
  await onDeleted(stream, ids);
  try {
    await forgetScript.run(send, [stream, deletedKeyOf(stream, group)], [
      group,
      ...ids,
    ]);
  } catch (error) {
    // A lost connection names the stream and the group, as every failure of
    // a read does. The entries stay pending or recorded, to be reported
    // again (at least once).
    throw new Error(
      `Cannot acknowledge the deleted entries ${
        ids.join(", ")
      } of stream ${stream} in group ${group}: ${messageOf(error)}`,
      { cause: error },
    );
  }
}
