// redisStreamSource() against a real redis-server.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  redisStreamSource,
  type RedisStreamSourceOptions,
} from "../../src/redis.ts";
import {
  addEntries,
  deliverAll,
  eventually,
  ns,
  pending,
  readInGroup,
  useRedis,
} from "./_redis.ts";

const redis = useRedis();

/** A reader of `stream` in group g, by default as consumer c. */
function readerOf(
  stream: string,
  options: Partial<RedisStreamSourceOptions> = {},
) {
  return redisStreamSource({
    send: redis.client.send,
    stream,
    group: "g",
    consumer: "c",
    ...options,
  }).getReader();
}

async function take<T>(reader: ReadableStreamDefaultReader<T>, n: number) {
  const out: T[] = [];
  while (out.length < n) {
    const { value, done } = await reader.read();
    if (done) break;
    out.push(value);
  }
  return out;
}

test("redisStreamSource() creates a missing group and reads the entries already in the stream", async () => {
  const stream = redis.name("source-create");
  const ids = await addEntries(redis.client, stream, 3);
  const reader = readerOf(stream, { blockMs: 100 });
  const entries = await take(reader, 3);
  assert.deepEqual(entries.map((e) => e.id), ids);
  assert.deepEqual(entries[0], { stream, id: ids[0], fields: { n: "0" } });
  assert.equal(await pending(redis.client, stream, "g"), 3);
  await reader.cancel();
});

test("redisStreamSource() accepts a group that exists (BUSYGROUP)", async () => {
  const stream = redis.name("source-busygroup");
  await redis.client.send(["XGROUP", "CREATE", stream, "g", "$", "MKSTREAM"]);
  await addEntries(redis.client, stream, 2);
  const reader = readerOf(stream, { blockMs: 100 });
  assert.deepEqual(ns(await take(reader, 2)), [0, 1]);
  await reader.cancel();
});

test("redisStreamSource() re-reads this consumer's own pending entries before new ones", async () => {
  const stream = redis.name("source-own");
  await addEntries(redis.client, stream, 2);
  // A previous life of consumer c read both and died.
  await deliverAll(redis.client, stream, "g", "c");
  await addEntries(redis.client, stream, 1, 2);
  const reader = readerOf(stream, { count: 1, blockMs: 100 });
  assert.deepEqual(ns(await take(reader, 3)), [0, 1, 2]);
  await reader.cancel();
});

test("redisStreamSource() claims entries that another consumer left idle with XAUTOCLAIM", async () => {
  const stream = redis.name("source-claim");
  await addEntries(redis.client, stream, 2);
  await deliverAll(redis.client, stream, "g", "dead");
  await new Promise((resolve) => setTimeout(resolve, 60));
  const reader = readerOf(stream, {
    consumer: "alive",
    claimIdleMs: 50,
    blockMs: 100,
  });
  assert.deepEqual(ns(await take(reader, 2)), [0, 1]);
  const owners = await redis.client.send([
    "XPENDING",
    stream,
    "g",
    "-",
    "+",
    "10",
  ]) as [string, string][];
  assert.deepEqual(owners.map(([, owner]) => owner), ["alive", "alive"]);
  await reader.cancel();
});

test("redisStreamSource() claims idle entries periodically, not only on start", async () => {
  const stream = redis.name("source-claim-later");
  await redis.client.send(["XGROUP", "CREATE", stream, "g", "0", "MKSTREAM"]);
  const reader = readerOf(stream, {
    consumer: "alive",
    claimIdleMs: 50,
    claimIntervalMs: 50,
    blockMs: 50,
  });
  const read = take(reader, 1);
  // Another consumer reads the entry after our start, then goes silent.
  await new Promise((resolve) => setTimeout(resolve, 100));
  await addEntries(redis.client, stream, 1);
  await readInGroup(redis.client, stream, "g", "dead").catch(() => {});
  const entries = await read;
  assert.deepEqual(ns(entries), [0]);
  await reader.cancel();
});

test("redisStreamSource() alone has no heartbeat: its own entry left unacknowledged for claimIdleMs is claimed by its next round and delivered again", async () => {
  const stream = redis.name("source-own-idle");
  const [id] = await addEntries(redis.client, stream, 1);
  const reader = readerOf(stream, {
    claimIdleMs: 200,
    claimIntervalMs: 50,
    blockMs: 50,
  });
  const [first, again] = await take(reader, 2);
  await reader.cancel();
  assert.equal(first?.id, id);
  assert.equal(again?.id, id);
});

test("redisStreamSource() reads only when pulled, so downstream capacity bounds what is pending", async () => {
  const stream = redis.name("source-pull");
  await addEntries(redis.client, stream, 20);
  const reader = readerOf(stream, { count: 3, blockMs: 100 });
  await take(reader, 1);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(await pending(redis.client, stream, "g"), 3);
  await take(reader, 3);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(await pending(redis.client, stream, "g"), 6);
  await reader.cancel();
});

test("redisStreamSource() cancel ends a blocked read at once", async () => {
  const stream = redis.name("source-cancel");
  const reader = readerOf(stream, { send: redis.reads.send, blockMs: 60_000 });
  const read = reader.read();
  await new Promise((resolve) => setTimeout(resolve, 100));
  const started = Date.now();
  await reader.cancel();
  assert.deepEqual(await read, { done: true, value: undefined });
  // Far below the 60 s block: the read did not wait for the server.
  assert.ok(Date.now() - started < 30_000);
  // The blocked connection is given back by a new entry.
  await addEntries(redis.client, stream, 1);
});

test("redisStreamSource() fails clearly when the key holds another type", async () => {
  const stream = redis.name("source-wrongtype");
  await redis.client.send(["SET", stream, "not a stream"]);
  const reader = readerOf(stream);
  await assert.rejects(
    reader.read(),
    /Cannot create consumer group g on stream .*WRONGTYPE/,
  );
});

test("redisStreamSource() fails clearly when its group is deleted while it runs", async () => {
  const stream = redis.name("source-nogroup");
  await addEntries(redis.client, stream, 1);
  const reader = readerOf(stream, { blockMs: 50 });
  await take(reader, 1);
  await redis.client.send(["XGROUP", "DESTROY", stream, "g"]);
  await assert.rejects(
    reader.read(),
    /Cannot read stream .* in group g: consumer group g does not exist/,
  );
});

test("redisStreamSource() reports its own pending entries that were deleted from the stream, then acknowledges them", async () => {
  const stream = redis.name("source-deleted");
  const [first] = await addEntries(redis.client, stream, 2);
  await deliverAll(redis.client, stream, "g", "c");
  await redis.client.send(["XDEL", stream, first!]);
  const reported: string[] = [];
  const reader = readerOf(stream, {
    blockMs: 50,
    onDeleted: (_, ids) => void reported.push(...ids),
  });
  assert.deepEqual(ns(await take(reader, 1)), [1]);
  assert.deepEqual(reported, [first]);
  // Only the entry read stays pending: the reported one is done with.
  assert.equal(await pending(redis.client, stream, "g"), 1);
  await reader.cancel();
});

test("redisStreamSource() keeps a deleted entry that a claim found until a reader reports it", async () => {
  const stream = redis.name("source-deleted-claimed");
  const [first] = await addEntries(redis.client, stream, 1);
  await deliverAll(redis.client, stream, "g", "dead");
  await redis.client.send(["XDEL", stream, first!]);
  // The claim drops the entry from the pending list; with no onDeleted
  // (as with a reader that dies before reporting), it fails naming it.
  const strict = readerOf(stream, { claimIdleMs: 0 });
  await assert.rejects(
    strict.read(),
    new RegExp(`Cannot read entries ${first} of stream .* deleted`),
  );
  assert.equal(await pending(redis.client, stream, "g"), 0);
  // The next claim round, here by another consumer, still finds it.
  const reported: string[] = [];
  const reader = readerOf(stream, {
    consumer: "other",
    claimIdleMs: 0,
    blockMs: 50,
    onDeleted: (_, ids) => void reported.push(...ids),
  });
  const read = reader.read();
  await eventually(() => reported.length === 1);
  assert.deepEqual(reported, [first]);
  await reader.cancel();
  await read;
  assert.equal(await redis.client.send(["ZCARD", `${stream}:g:deleted`]), 0);
});

test("redisStreamSource() validates its options", () => {
  const send = redis.client.send;
  assert.throws(
    () => redisStreamSource({ send, stream: "", group: "g", consumer: "c" }),
    TypeError,
  );
  assert.throws(
    () =>
      redisStreamSource({
        send: "no" as never,
        stream: "s",
        group: "g",
        consumer: "c",
      }),
    /Cannot construct redisStreamSource as send must be a function/,
  );
  assert.throws(
    () =>
      redisStreamSource({
        send,
        stream: "s",
        group: "g",
        consumer: "c",
        count: 0,
      }),
    RangeError,
  );
});
