// Reads Redis replies in the shapes that clients hand back: RESP2 arrays
// (node-redis `sendCommand`, ioredis `call`), RESP3 maps as `Map` or plain
// objects (Bun's `redis.send`), and byte strings as `Uint8Array`s.

/**
 * Sends one Redis command and resolves with its reply, as node-redis's
 * `client.sendCommand(args)`, ioredis's `redis.call(...args)` or Bun's
 * `redis.send(args[0], args.slice(1))` do. An error reply rejects.
 *
 * @example With node-redis
 * ```ts ignore
 * import { createClient } from "redis";
 * import type { RedisSend } from "@async-io/async-io/redis";
 *
 * const client = await createClient({ url: "redis://127.0.0.1:6379" }).connect();
 * const send: RedisSend = (args) => client.sendCommand(args);
 * ```
 */
export type RedisSend = (args: string[]) => Promise<unknown>;

/** The field-value pairs of one stream entry. */
export type RedisFields = Record<string, string>;

/**
 * One entry read from a Redis stream.
 *
 * @example
 * ```ts
 * import type { RedisStreamEntry } from "@async-io/async-io/redis";
 *
 * const entry: RedisStreamEntry = {
 *   stream: "orders",
 *   id: "1700000000000-0",
 *   fields: { order: "42" },
 * };
 * ```
 */
export interface RedisStreamEntry {
  /** The stream it was read from (a partition's stream in partitioned mode). */
  readonly stream: string;
  /** Its id, such as `"1700000000000-0"`. */
  readonly id: string;
  /** Its field-value pairs. */
  readonly fields: RedisFields;
}

import { describe } from "./_describe.ts";

const decoder = new TextDecoder();

/** A reply's string value. */
export function textOf(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return decoder.decode(value);
  if (typeof value === "number" || typeof value === "bigint") {
    return String(value);
  }
  throw new TypeError(
    `Cannot read a Redis reply as a string: current value is ${
      describe(value)
    }`,
  );
}

/** The message of an error a client rejected with. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The elements of an array reply; `null` for a nil reply. */
export function listOf(value: unknown): unknown[] | null {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value;
  throw new TypeError(
    `Cannot read a Redis reply as an array: current value is ${
      describe(value)
    }`,
  );
}

/** Key-value pairs of a RESP2 flat or nested array, a `Map` or an object. */
export function pairsOf(value: unknown): [unknown, unknown][] {
  if (value instanceof Map) return [...value.entries()];
  if (Array.isArray(value)) {
    if (value.every((item) => Array.isArray(item) && item.length === 2)) {
      return value as [unknown, unknown][];
    }
    const pairs: [unknown, unknown][] = [];
    for (let i = 0; i + 1 < value.length; i += 2) {
      pairs.push([value[i], value[i + 1]]);
    }
    return pairs;
  }
  if (typeof value === "object" && value !== null) {
    return Object.entries(value);
  }
  throw new TypeError(
    `Cannot read a Redis reply as pairs: current value is ${describe(value)}`,
  );
}

/** An entry's fields; `null` when the entry was deleted while pending. */
export function fieldsOf(value: unknown): RedisFields | null {
  if (value === null || value === undefined) return null;
  const fields: RedisFields = {};
  if (Array.isArray(value)) {
    // Always flat here, even when a value happens to be a pair.
    for (let i = 0; i + 1 < value.length; i += 2) {
      fields[textOf(value[i])] = textOf(value[i + 1]);
    }
    return fields;
  }
  for (const [field, text] of pairsOf(value)) {
    fields[textOf(field)] = textOf(text);
  }
  return fields;
}

/** Entries read from `stream`, and the ids of pending ones that were deleted. */
export interface EntryBatch {
  entries: RedisStreamEntry[];
  deleted: string[];
}

/** Reads `[[id, fields], ...]`; deleted entries come back as `[id, nil]`. */
export function entriesOf(stream: string, value: unknown): EntryBatch {
  const batch: EntryBatch = { entries: [], deleted: [] };
  for (const item of listOf(value) ?? []) {
    const pair = listOf(item);
    if (pair === null || pair.length < 2) {
      if (pair !== null && pair.length === 1) {
        batch.deleted.push(textOf(pair[0]));
        continue;
      }
      throw new TypeError(
        `Cannot read an entry of stream ${stream}: current value is ${
          describe(item)
        }`,
      );
    }
    const id = textOf(pair[0]);
    const fields = fieldsOf(pair[1]);
    if (fields === null) batch.deleted.push(id);
    else batch.entries.push({ stream, id, fields });
  }
  return batch;
}

/** The entries of an `XREADGROUP` reply, whatever the protocol. */
export function readReplyOf(value: unknown): EntryBatch {
  const batch: EntryBatch = { entries: [], deleted: [] };
  if (value === null || value === undefined) return batch;
  for (const [name, entries] of pairsOf(value)) {
    const part = entriesOf(textOf(name), entries);
    batch.entries.push(...part.entries);
    batch.deleted.push(...part.deleted);
  }
  return batch;
}

/** The next cursor and the entries of an `XAUTOCLAIM` reply. */
export function claimReplyOf(
  stream: string,
  value: unknown,
): EntryBatch & { cursor: string } {
  const reply = listOf(value);
  if (reply === null || reply.length < 2) {
    throw new TypeError(
      `Cannot read an XAUTOCLAIM reply: current value is ${describe(value)}`,
    );
  }
  const batch = entriesOf(stream, reply[1]);
  // Redis 7 lists the ids it dropped from the pending list as deleted.
  for (const id of listOf(reply[2]) ?? []) batch.deleted.push(textOf(id));
  return { cursor: textOf(reply[0]), ...batch };
}
