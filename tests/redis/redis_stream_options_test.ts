// The option checks of redisStreamSource() and redisStreamSink() that need
// no server.
import assert from "node:assert/strict";
import { test } from "node:test";
import { redisStreamSink, redisStreamSource } from "../../src/redis.ts";

test("redisStreamSource() and redisStreamSink() name the options they were given when not an object", () => {
  assert.throws(
    () => redisStreamSource(null as never),
    new TypeError(
      "Cannot construct redisStreamSource as options must be an object: current value is null",
    ),
  );
  assert.throws(
    () => redisStreamSink("fast" as never),
    new TypeError(
      'Cannot construct redisStreamSink as options must be an object: current value is "fast"',
    ),
  );
});
