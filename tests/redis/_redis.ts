// One real redis-server per test file, on 127.0.0.1 and a free port.
import { after, before } from "node:test";
import { RespClient } from "../../demo/redis_resp.ts";
import { type RedisServer, startRedisServer } from "../../demo/redis_server.ts";
import type { RedisStreamEntry } from "../../src/redis.ts";

export interface TestRedis {
  readonly server: RedisServer;
  /** A connection for commands. */
  readonly client: RespClient;
  /** A second connection, for blocking reads. */
  readonly reads: RespClient;
  /** A unique prefix for a test's keys. */
  name(label: string): string;
}

/** Starts the server before the file's tests and stops it after them. */
export function useRedis(): TestRedis {
  let server: RedisServer | undefined;
  let client: RespClient | undefined;
  let reads: RespClient | undefined;
  let counter = 0;
  before(async () => {
    server = await startRedisServer();
    client = new RespClient(server.url);
    reads = new RespClient(server.url);
  });
  after(async () => {
    client?.close();
    reads?.close();
    await server?.stop();
  });
  return {
    get server() {
      return server!;
    },
    get client() {
      return client!;
    },
    get reads() {
      return reads!;
    },
    name: (label) => `${label}-${++counter}`,
  };
}

/** Adds entries `{ n: "0" }`, `{ n: "1" }`, … and returns their ids. */
export async function addEntries(
  client: RespClient,
  stream: string,
  count: number,
  from = 0,
): Promise<string[]> {
  const ids: Promise<unknown>[] = [];
  for (let n = from; n < from + count; n++) {
    ids.push(client.send(["XADD", stream, "*", "n", String(n)]));
  }
  return (await Promise.all(ids)) as string[];
}

/** Reads every new entry of `stream` in `group` as `consumer`: they stay pending. */
export function readInGroup(
  client: RespClient,
  stream: string,
  group: string,
  consumer: string,
): Promise<unknown> {
  return client.send([
    "XREADGROUP",
    "GROUP",
    group,
    consumer,
    "STREAMS",
    stream,
    ">",
  ]);
}

/**
 * Creates `group` from the start of `stream` and has `consumer` read every
 * entry, as a consumer would that then died: all stay pending.
 */
export async function deliverAll(
  client: RespClient,
  stream: string,
  group: string,
  consumer: string,
): Promise<void> {
  await client.send(["XGROUP", "CREATE", stream, group, "0"]);
  await readInGroup(client, stream, group, consumer);
}

/** The whole stream, as [id, fields] pairs. */
export async function readAll(
  client: RespClient,
  stream: string,
): Promise<{ id: string; fields: Record<string, string> }[]> {
  const reply = await client.send(["XRANGE", stream, "-", "+"]) as [
    string,
    string[],
  ][];
  return reply.map(([id, flat]) => {
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) {
      fields[flat[i]!] = flat[i + 1]!;
    }
    return { id, fields };
  });
}

/** How many entries of `stream` are pending in `group`. */
export async function pending(
  client: RespClient,
  stream: string,
  group: string,
): Promise<number> {
  const reply = await client.send(["XPENDING", stream, group]) as unknown[];
  return Number(reply[0]);
}

/** Polls `check` every 20 ms until it holds, for at most `ms`. */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  ms = 20_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Not true within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The n field of each entry. */
export function ns(entries: readonly { fields: Record<string, string> }[]) {
  return entries.map((entry) => Number(entry.fields.n));
}

export type { RedisStreamEntry };

/**
 * Records `id` in `key`, a sorted set `<stream>:<group>:deleted`, as a claim
 * that finds it deleted does: scored with the server time, in ms.
 */
export async function recordDeleted(
  client: RespClient,
  key: string,
  id: string,
): Promise<void> {
  const [s, us] = await client.send(["TIME"]) as [string, string];
  const now = Number(s) * 1000 + Math.floor(Number(us) / 1000);
  await client.send(["ZADD", key, "NX", String(now), id]);
}

/** The ids in `key`, a sorted set `<stream>:<group>:deleted`, sorted. */
export async function deletedIds(
  client: RespClient,
  key: string,
): Promise<string[]> {
  return ((await client.send(["ZRANGE", key, "0", "-1"])) as string[]).sort();
}

/**
 * Whether `args` is the claim of idle entries of `stream`: the script that
 * runs XAUTOCLAIM and records the deleted ids in `<stream>:<group>:deleted`.
 */
export function isClaim(args: string[], stream: string): boolean {
  return args[0] === "EVALSHA" && args[2] === "2" && args[3] === stream &&
    args[4]?.endsWith(":deleted") === true;
}

/**
 * Whether `args` is a worker's heartbeat on `stream`: the script that resets
 * the idle time of the entries its consumer owns (its only key is `stream`).
 * Its arguments: group, consumer, first id, count.
 */
export function isHeartbeat(args: string[], stream: string): boolean {
  return args[0] === "EVALSHA" && args[2] === "1" && args[3] === stream;
}

/** Rejects if `promise` has not settled within `ms` (a hang, not a speed). */
export async function within<T>(promise: Promise<T>, ms: number, what: string) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} hung`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
