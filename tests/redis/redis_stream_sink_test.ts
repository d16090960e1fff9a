// redisStreamSink() against a real redis-server.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type RedisCommit,
  redisStreamSink,
  type RedisStreamSinkOptions,
} from "../../src/redis.ts";
import {
  addEntries,
  deliverAll,
  pending,
  readAll,
  useRedis,
} from "./_redis.ts";

const redis = useRedis();

/** Adds `count` entries to a new stream and reads them all in group g. */
async function delivered(label: string, count: number) {
  const stream = redis.name(label);
  const ids = await addEntries(redis.client, stream, count);
  await deliverAll(redis.client, stream, "g", "c");
  return { stream, ids, output: `${stream}:out` };
}

async function write(
  options: Partial<RedisStreamSinkOptions> & { output: string },
  commits: RedisCommit[],
) {
  const counts = { committed: 0, duplicates: 0 };
  await ReadableStream.from(commits).pipeTo(redisStreamSink({
    send: redis.client.send,
    group: "g",
    onCommit: (committed, duplicates) => {
      counts.committed += committed;
      counts.duplicates += duplicates;
    },
    ...options,
  }));
  return counts;
}

test("redisStreamSink() adds each input's outputs, zero or more, and acknowledges it", async () => {
  const { stream, ids, output } = await delivered("sink-basic", 3);
  const counts = await write({ output }, [
    { stream, id: ids[0]!, outputs: [] },
    { stream, id: ids[1]!, outputs: [{ a: "1" }] },
    { stream, id: ids[2]!, outputs: [{ b: "2" }, { c: "3", d: "4" }] },
  ]);
  assert.deepEqual(counts, { committed: 3, duplicates: 0 });
  assert.deepEqual((await readAll(redis.client, output)).map((e) => e.fields), [
    { a: "1" },
    { b: "2" },
    { c: "3", d: "4" },
  ]);
  assert.equal(await pending(redis.client, stream, "g"), 0);
});

test("redisStreamSink() drops a second commit of an input", async () => {
  const { stream, ids, output } = await delivered("sink-duplicate", 1);
  const commit = { stream, id: ids[0]!, outputs: [{ a: "1" }] };
  assert.deepEqual(await write({ output }, [commit]), {
    committed: 1,
    duplicates: 0,
  });
  assert.deepEqual(await write({ output }, [commit, commit]), {
    committed: 0,
    duplicates: 2,
  });
  assert.equal((await readAll(redis.client, output)).length, 1);
});

test("redisStreamSink() done-marks drop an input delivered again after its group was re-created", async () => {
  const { stream, ids, output } = await delivered("sink-replay", 1);
  const commit = { stream, id: ids[0]!, outputs: [{ a: "1" }] };
  await write({ output }, [commit]);
  const replay = async () => {
    await redis.client.send(["XGROUP", "DESTROY", stream, "g"]);
    await deliverAll(redis.client, stream, "g", "c");
  };
  await replay();
  assert.deepEqual(await write({ output }, [commit]), {
    committed: 0,
    duplicates: 1,
  });
  assert.equal(await pending(redis.client, stream, "g"), 0);
  // Without marks only the pending-entries list guards, and a replay passes.
  await replay();
  await write({ output, doneRetentionMs: 0 }, [commit]);
  assert.equal((await readAll(redis.client, output)).length, 2);
});

test("redisStreamSink() trims done-marks older than doneRetentionMs", async () => {
  const { stream, ids, output } = await delivered("sink-retention", 2);
  await write({ output, doneRetentionMs: 50 }, [
    { stream, id: ids[0]!, outputs: [{ a: "1" }] },
  ]);
  const marks = `${stream}:g:done`;
  assert.equal(await redis.client.send(["ZCARD", marks]), 1);
  await new Promise((resolve) => setTimeout(resolve, 120));
  await write({ output, doneRetentionMs: 50 }, [
    { stream, id: ids[1]!, outputs: [{ a: "2" }] },
  ]);
  assert.deepEqual(await redis.client.send(["ZRANGE", marks, "0", "-1"]), [
    ids[1],
  ]);
});

test("redisStreamSink() writes nothing and keeps the input pending when the output key holds another type", async () => {
  const { stream, ids, output } = await delivered("sink-wrongtype", 2);
  await redis.client.send(["SET", output, "not a stream"]);
  await assert.rejects(
    write({ output }, [
      { stream, id: ids[0]!, outputs: [{ a: "1" }] },
      { stream, id: ids[1]!, outputs: [{ a: "2" }] },
    ]),
    /Cannot commit \d+ entr(y|ies) of stream .*WRONGTYPE Cannot commit as key .* holds a string, not a stream/,
  );
  assert.equal(await pending(redis.client, stream, "g"), 2);
  assert.equal(await redis.client.send(["GET", output]), "not a stream");
});

test("redisStreamSink() fails clearly when the group does not exist", async () => {
  const { stream, ids, output } = await delivered("sink-nogroup", 1);
  await redis.client.send(["XGROUP", "DESTROY", stream, "g"]);
  await assert.rejects(
    write({ output }, [{ stream, id: ids[0]!, outputs: [{ a: "1" }] }]),
    /NOGROUP Cannot commit entry .* as consumer group g does not exist/,
  );
  assert.equal(await redis.client.send(["EXISTS", output]), 0);
});

test("redisStreamSink() writes a dead letter instead of outputs and acknowledges the input", async () => {
  const { stream, ids, output } = await delivered("sink-dead", 1);
  const deadLetter = `${stream}:dead`;
  await write({ output, deadLetter }, [
    { stream, id: ids[0]!, outputs: [], deadLetter: { error: "bad" } },
  ]);
  assert.equal(await redis.client.send(["EXISTS", output]), 0);
  assert.deepEqual((await readAll(redis.client, deadLetter))[0]?.fields, {
    error: "bad",
  });
  assert.equal(await pending(redis.client, stream, "g"), 0);
});

test("redisStreamSink() rejects an output that XADD cannot take", async () => {
  const { stream, ids, output } = await delivered("sink-bad-output", 1);
  await assert.rejects(
    write({ output }, [{ stream, id: ids[0]!, outputs: [{}] }]),
    /Cannot commit entry .* as an output must have one field at least/,
  );
  assert.equal(await pending(redis.client, stream, "g"), 1);
});

test("redisStreamSink() validates its options", () => {
  assert.throws(
    () =>
      redisStreamSink({
        send: redis.client.send,
        group: "g",
        output: "o",
        batchSize: 0,
      }),
    /Cannot construct redisStreamSink as batchSize must be a positive integer: current value is 0/,
  );
  assert.throws(
    () => redisStreamSink({ send: redis.client.send, group: "", output: "o" }),
    TypeError,
  );
});
