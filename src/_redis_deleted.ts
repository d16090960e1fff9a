// Pending entries that were deleted (trimmed) from their stream. A claim
// that finds one drops it from the pending list, so the same script records
// its id in a set, `<stream>:<group>:deleted`; it leaves the set only once
// reported (the worker's dead-letter commit removes it in its own script).
// A worker that dies in between loses nothing: the next claim round, by any
// consumer, reports what the set still holds.
import type { RedisStreamSourceOptions } from "./_redis_source.ts";
import { RedisScript } from "./_redis_script.ts";
import {
  claimReplyOf,
  type EntryBatch,
  type RedisSend,
} from "./_redis_reply.ts";

/** The key of the set of `stream`'s deleted entries not yet reported. */
export function deletedKeyOf(stream: string, group: string): string {
  return `${stream}:${group}:deleted`;
}

/**
 * Lua: `claim(stream, deleted, group, consumer, idle, cursor, count)` runs
 * XAUTOCLAIM and returns its reply. The ids it reports deleted are added to
 * the set `deleted`; a round's first claim (cursor 0-0) also reports up to
 * `count` ids that earlier claims recorded and no one reported. An error
 * reply if `deleted` is not a set: checked first, since an SADD that failed
 * after the XAUTOCLAIM would lose the ids that it dropped.
 */
export const CLAIM_LUA = `
local function claim(stream, deleted, group, consumer, idle, cursor, count)
  local t = redis.call('TYPE', deleted)['ok']
  if t ~= 'set' and t ~= 'none' then
    return redis.error_reply('WRONGTYPE Cannot claim the idle entries of stream ' .. stream .. ' as key ' .. deleted .. ' holds a ' .. t .. ', not a set')
  end
  local reply = redis.call('XAUTOCLAIM', stream, group, consumer, idle, cursor, 'COUNT', count)
  local ids, seen = reply[3] or {}, {}
  for _, id in ipairs(ids) do
    redis.call('SADD', deleted, id)
    seen[id] = true
  end
  if cursor == '0-0' then
    for _, id in ipairs(redis.call('SRANDMEMBER', deleted, tonumber(count))) do
      if not seen[id] then ids[#ids + 1] = id end
    end
  end
  reply[3] = ids
  return reply
end
`;

// KEYS[1]: stream, KEYS[2]: its deleted set. ARGV: group, consumer, idle
// ms, cursor, count.
const claimScript = new RedisScript(`${CLAIM_LUA}
return claim(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
`);

/** One XAUTOCLAIM of `stream` in `group`, recording the deleted ids. */
export async function claimIdle(
  send: RedisSend,
  stream: string,
  group: string,
  args: {
    consumer: string;
    idleMs: string;
    cursor: string;
    count: string;
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
    ]),
  );
}

// KEYS[1]: stream, KEYS[2]: its deleted set. ARGV[1]: group, ARGV[2..]:
// ids. Forgets reported entries: those read from our own pending list are
// acknowledged, those a claim recorded leave the set.
const forgetScript = new RedisScript(`
for i = 2, #ARGV do
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[i])
  redis.call('SREM', KEYS[2], ARGV[i])
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
  await forgetScript.run(send, [stream, deletedKeyOf(stream, group)], [
    group,
    ...ids,
  ]);
}
