// The atomic commit of processed inputs: outputs, done-marks and XACK in
// one Lua script, so a crash leaves each input either fully committed or
// still pending.
import { describe } from "./_describe.ts";
import { deletedKeyOf } from "./_redis_deleted.ts";
import { RedisScript } from "./_redis_script.ts";
import {
  listOf,
  messageOf,
  type RedisFields,
  type RedisSend,
} from "./_redis_reply.ts";

/**
 * One processed input, as {@linkcode redisStreamSink} writes it: the
 * input's stream and id, and all of its outputs.
 *
 * @example
 * ```ts
 * import type { RedisCommit } from "@async-io/async-io/redis";
 *
 * const commit: RedisCommit = {
 *   stream: "orders",
 *   id: "1700000000000-0",
 *   outputs: [{ order: "42", customer: "Ada" }],
 * };
 * ```
 */
export interface RedisCommit {
  /** The input's stream. */
  readonly stream: string;
  /** The input's id. */
  readonly id: string;
  /** Every output of the input, zero or more; each needs one field at least. */
  readonly outputs: readonly RedisFields[];
  /**
   * When set, the input failed: these fields go to the sink's `deadLetter`
   * stream instead of the outputs, and the input is acknowledged.
   */
  readonly deadLetter?: RedisFields;
}

/** What a commit did with one input. */
export const COMMITTED = 1;
export const DUPLICATE = 0;

// KEYS: output, dead-letter, then (input stream, done-marks, deleted set)
// per input. ARGV: group, retention ms, deleted ("1": the inputs are entries
// that a claim found deleted and recorded in the deleted set, so XACK
// cannot tell if they are new; leaving the set can: so too for an input that
// XACK finds not pending), then per input: id,
// kind (0: outputs, 1: dead letter), #outputs, then per output: #args,
// field, value, ...
// Every key's type is checked before the first write: a script that fails
// halfway keeps its earlier writes.
const COMMIT_SCRIPT = `
local function check(key, want)
  local t = redis.call('TYPE', key)['ok']
  if t ~= want and t ~= 'none' then
    return 'WRONGTYPE Cannot commit as key ' .. key .. ' holds a ' .. t .. ', not a ' .. want
  end
end
local err = check(KEYS[1], 'stream') or check(KEYS[2], 'stream')
if err then return redis.error_reply(err) end
local deleted = ARGV[3] == '1'
for k = 3, #KEYS, 3 do
  err = check(KEYS[k], 'stream') or check(KEYS[k + 1], 'zset')
  if not err and deleted then err = check(KEYS[k + 2], 'zset') end
  if err then return redis.error_reply(err) end
end
local group = ARGV[1]
local retention = tonumber(ARGV[2])
local now = 0
if retention > 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local results = {}
local a = 4
for k = 3, #KEYS, 3 do
  local stream, done = KEYS[k], KEYS[k + 1]
  local id, kind, outputs = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  a = a + 3
  local acked = redis.call('XACK', stream, group, id) == 1
  if not acked then
    -- Not pending: committed by another consumer, or no such group at all.
    local pending = redis.pcall('XPENDING', stream, group)
    if type(pending) == 'table' and pending['err'] then
      return redis.error_reply('NOGROUP Cannot commit entry ' .. id .. ' of stream ' .. stream .. ' as consumer group ' .. group .. ' does not exist')
    end
  end
  local fresh = acked
  if deleted then
    if redis.call('ZREM', KEYS[k + 2], id) == 1 then fresh = true end
  elseif not acked then
    -- Deleted from the stream while its call ran, and taken off the pending
    -- list by a claim: the first commit to take it out of the deleted set has
    -- it, its call's or a dead letter's (which comes only claimIdleMs after
    -- the claim, in a worker). A key of another type holds none.
    if redis.pcall('ZREM', KEYS[k + 2], id) == 1 then fresh = true end
  end
  if fresh and retention > 0 then
    if redis.call('ZSCORE', done, id) then
      fresh = false
    else
      redis.call('ZADD', done, now, id)
    end
  end
  local target = KEYS[1]
  if kind ~= '0' then target = KEYS[2] end
  for _ = 1, outputs do
    local n = tonumber(ARGV[a])
    if fresh then
      local xadd = {'XADD', target, '*'}
      for i = a + 1, a + n do xadd[#xadd + 1] = ARGV[i] end
      redis.call(unpack(xadd))
    end
    a = a + 1 + n
  end
  if retention > 0 then
    redis.call('ZREMRANGEBYSCORE', done, '-inf', '(' .. (now - retention))
  end
  results[#results + 1] = fresh and 1 or 0
end
return results
`;

const script = new RedisScript(COMMIT_SCRIPT);

/**
 * The most fields of one output: the script XADDs it with unpack(), which
 * takes about 8,000 values (3 + 2 per field). Past it, the script would fail
 * after its XACK and acknowledge the input without its output.
 */
export const MAX_OUTPUT_FIELDS = 3_900;

/** Where commits go. */
export interface CommitTarget {
  readonly send: RedisSend;
  readonly group: string;
  readonly output: string;
  readonly deadLetter: string | undefined;
  readonly doneRetentionMs: number;
}

/** The key of the done-marks of `stream`'s inputs in `group`. */
export function doneKeyOf(stream: string, group: string): string {
  return `${stream}:${group}:done`;
}

/**
 * Commits `commits` in one script. `deleted` marks entries that were deleted
 * from their stream while pending: each is new if still pending or still in
 * the deleted set that the claim which found it recorded it in.
 * Resolves with COMMITTED or DUPLICATE per commit.
 */
export async function commit(
  target: CommitTarget,
  commits: readonly RedisCommit[],
  deleted = false,
): Promise<number[]> {
  const keys = [target.output, target.deadLetter ?? target.output];
  const args = [
    target.group,
    String(target.doneRetentionMs),
    deleted ? "1" : "0",
  ];
  for (const item of commits) {
    requireCommit(item);
    keys.push(
      item.stream,
      doneKeyOf(item.stream, target.group),
      deletedKeyOf(item.stream, target.group),
    );
    if (item.deadLetter !== undefined) {
      if (target.deadLetter === undefined) {
        throw new TypeError(
          `Cannot commit a dead letter for entry ${item.id} of stream ${item.stream} as the sink has no deadLetter stream`,
        );
      }
      args.push(item.id, "1", "1");
      pushFields(args, item.deadLetter, item);
    } else {
      args.push(item.id, "0", String(item.outputs.length));
      for (const output of item.outputs) pushFields(args, output, item);
    }
  }
  let reply: unknown;
  try {
    reply = await script.run(target.send, keys, args);
  } catch (error) {
    const first = commits[0];
    throw new Error(
      `Cannot commit ${commits.length} ${
        commits.length === 1 ? "entry" : "entries"
      } of stream ${first?.stream} in group ${target.group} to stream ${target.output}: ${
        messageOf(error)
      }`,
      { cause: error },
    );
  }
  return (listOf(reply) ?? []).map(Number);
}

/**
 * Throws a TypeError unless `item` has the shape of a RedisCommit. A sink
 * used directly takes chunks from user code; a bad id would fail the script
 * halfway, after the earlier inputs of its batch were committed.
 */
function requireCommit(item: unknown): asserts item is RedisCommit {
  if (typeof item !== "object" || item === null) {
    throw new TypeError(
      `Cannot commit an entry as it must be an object: current value is ${
        describe(item)
      }`,
    );
  }
  const { stream, id, outputs, deadLetter } = item as Record<string, unknown>;
  if (typeof stream !== "string" || stream === "") {
    throw new TypeError(
      `Cannot commit an entry as stream must be a non-empty string: current value is ${
        describe(stream)
      }`,
    );
  }
  if (typeof id !== "string" || !/^\d+(-\d+)?$/.test(id)) {
    throw new TypeError(
      `Cannot commit an entry of stream ${stream} as id must be a stream id such as "1700000000000-0": current value is ${
        describe(id)
      }`,
    );
  }
  if (!Array.isArray(outputs)) {
    throw new TypeError(
      `Cannot commit entry ${id} of stream ${stream} as outputs must be an array of outputs: current value is ${
        describe(outputs)
      }`,
    );
  }
  if (
    deadLetter !== undefined &&
    (typeof deadLetter !== "object" || deadLetter === null)
  ) {
    throw new TypeError(
      `Cannot commit entry ${id} of stream ${stream} as deadLetter must be an object of string fields: current value is ${
        describe(deadLetter)
      }`,
    );
  }
}

function pushFields(args: string[], fields: RedisFields, item: RedisCommit) {
  if (typeof fields !== "object" || fields === null) {
    throw new TypeError(
      `Cannot commit entry ${item.id} of stream ${item.stream} as an output must be an object of string fields: current value is ${
        describe(fields)
      }`,
    );
  }
  const at = args.length;
  args.push("");
  for (const [field, value] of Object.entries(fields)) {
    if (typeof value !== "string") {
      throw new TypeError(
        `Cannot commit entry ${item.id} of stream ${item.stream} as field ${field} must be a string: current value is ${
          describe(value)
        }`,
      );
    }
    args.push(field, value);
  }
  const count = args.length - at - 1;
  if (count === 0) {
    throw new TypeError(
      `Cannot commit entry ${item.id} of stream ${item.stream} as an output must have one field at least: current value is an empty object`,
    );
  }
  requireFewFields(item, count / 2);
  args[at] = String(count);
}

/** Throws unless an output of `item` with `fields` fields fits the script. */
export function requireFewFields(
  item: { readonly stream: string; readonly id: string },
  fields: number,
): void {
  if (fields > MAX_OUTPUT_FIELDS) {
    throw new RangeError(
      `Cannot commit entry ${item.id} of stream ${item.stream} as an output must have at most ${MAX_OUTPUT_FIELDS} fields: current value has ${fields}`,
    );
  }
}
