// The reply shapes of the clients that `send` may wrap: RESP2 arrays
// (node-redis, ioredis, our RESP client), RESP3 maps as `Map` or plain
// objects (Bun), and byte strings.
import assert from "node:assert/strict";
import { test } from "node:test";
import { claimReplyOf, readReplyOf } from "../../src/_redis_reply.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

test("readReplyOf() reads XREADGROUP replies as RESP2 arrays, RESP3 maps and objects", () => {
  const entries = [["1-0", ["a", "1", "b", "2"]], ["2-0", null]];
  const expected = {
    entries: [{ stream: "s", id: "1-0", fields: { a: "1", b: "2" } }],
    deleted: ["2-0"],
  };
  assert.deepEqual(readReplyOf([["s", entries]]), expected);
  assert.deepEqual(readReplyOf(new Map([["s", entries]])), expected);
  assert.deepEqual(readReplyOf({ s: entries }), expected);
  assert.deepEqual(readReplyOf(null), { entries: [], deleted: [] });
});

test("readReplyOf() decodes byte strings and fields given as a map", () => {
  assert.deepEqual(
    readReplyOf([[bytes("s"), [[bytes("1-0"), new Map([["a", bytes("1")]])]]]]),
    {
      entries: [{ stream: "s", id: "1-0", fields: { a: "1" } }],
      deleted: [],
    },
  );
});

test("claimReplyOf() reads the cursor, the claimed entries and the deleted ids", () => {
  assert.deepEqual(
    claimReplyOf("s", ["0-0", [["1-0", ["a", "1"]]], ["3-0"]]),
    {
      cursor: "0-0",
      entries: [{ stream: "s", id: "1-0", fields: { a: "1" } }],
      deleted: ["3-0"],
    },
  );
});

test("readReplyOf() rejects a reply of the wrong shape with a TypeError", () => {
  assert.throws(() => readReplyOf([["s", [42]]]), TypeError);
  assert.throws(() => claimReplyOf("s", "OK"), TypeError);
});
