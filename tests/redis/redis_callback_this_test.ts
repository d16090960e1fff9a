// The callbacks of the Redis streams get no `this`, as the stream's option
// callbacks do: never one of their internal objects.
import assert from "node:assert/strict";
import { test } from "node:test";
import { redisStreamSink, redisStreamSource } from "../../src/redis.ts";
import { addEntries, useRedis } from "./_redis.ts";

const redis = useRedis();

test("redisStreamSource() and redisStreamSink() call send and onCommit with no this", async () => {
  const stream = redis.name("callback-this");
  const ids = await addEntries(redis.client, stream, 2);
  const thisValues: unknown[] = [];
  const send = function (this: unknown, args: string[]) {
    thisValues.push(this);
    return redis.client.send(args);
  };
  const source = redisStreamSource({
    send,
    stream,
    group: "g",
    consumer: "c",
    blockMs: 10,
  });
  const reader = source.getReader();
  // Own pending entries first (none), then new ones: XREADGROUP both times,
  // the second delivering both entries to c.
  const first = await reader.read();
  assert.equal(first.value?.id, ids[0]);
  await reader.cancel();
  await ReadableStream.from([{ stream, id: ids[0]!, outputs: [{ a: "1" }] }])
    .pipeTo(redisStreamSink({
      send,
      group: "g",
      output: `${stream}:out`,
      onCommit(this: unknown) {
        thisValues.push(this);
      },
    }));
  assert.ok(thisValues.length >= 4, `only ${thisValues.length} calls`);
  assert.deepEqual(
    thisValues.filter((value) => value !== undefined).map((value) =>
      (value as object)?.constructor?.name
    ),
    [],
  );
});
