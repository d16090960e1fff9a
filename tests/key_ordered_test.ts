import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncIOTransformStream, Watermark } from "../mod.ts";
import { collect, controlledFn, settle } from "./_deferred.ts";

const keyOf = (input: string) => input[0]!;

function keyOrdered(capacity = 10) {
  const controlled = controlledFn<string, string>();
  const stream = new AsyncIOTransformStream<string, string, Watermark>(
    controlled.fn,
    { order: "key-ordered", key: keyOf, capacity },
  );
  return { ...controlled, stream };
}

test("AsyncIOTransformStream() keeps each key's outputs in input order under reversed completions", async () => {
  const { stream, calls, callsReach } = keyOrdered();
  const { chunks, done } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  for (const input of ["a1", "a2", "a3"]) await writer.write(input);
  await callsReach(1);
  await settle();
  assert.deepEqual(calls.map((call) => call.input), ["a1"], "one call per key");
  const closing = writer.close();
  for (let i = 0; i < 3; i++) {
    await callsReach(i + 1);
    calls[i]!.resolve(calls[i]!.input.toUpperCase());
  }
  await closing;
  await done;
  assert.deepEqual(chunks, ["A1", "A2", "A3"]);
});

test("AsyncIOTransformStream() never has two calls of one key in flight", async () => {
  const { stream, calls } = keyOrdered(12);
  const { chunks, done } = collect(stream.readable);
  const inputs = [
    "a1",
    "b1",
    "a2",
    "c1",
    "b2",
    "a3",
    "c2",
    "b3",
    "a4",
    "c3",
    "b4",
    "a5",
  ];
  const writing = ReadableStream.from(inputs).pipeTo(stream.writable);
  const open = new Set<number>();
  let seed = 3;
  while (chunks.length < inputs.length) {
    await settle();
    calls.forEach((_, i) => {
      if (!(calls[i] as { settled?: boolean }).settled) open.add(i);
    });
    const inFlightKeys = [...open].map((i) => keyOf(calls[i]!.input));
    assert.equal(
      new Set(inFlightKeys).size,
      inFlightKeys.length,
      `in flight: ${inFlightKeys}`,
    );
    if (open.size === 0) continue;
    seed = (seed * 7 + 5) % 11;
    const pick = [...open][seed % open.size]!;
    open.delete(pick);
    Object.assign(calls[pick]!, { settled: true });
    calls[pick]!.resolve(calls[pick]!.input);
  }
  await writing;
  await done;
  for (const key of ["a", "b", "c"]) {
    assert.deepEqual(
      chunks.filter((output) =>
        typeof output === "string" && keyOf(output) === key
      ),
      inputs.filter((input) => keyOf(input) === key),
    );
  }
});

test("AsyncIOTransformStream() lets different keys overtake each other", async () => {
  const { stream, calls, callsReach } = keyOrdered();
  const { chunks, done } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  for (const input of ["a1", "b1", "a2", "b2"]) await writer.write(input);
  await callsReach(2);
  calls[1]!.resolve("b1");
  await callsReach(3);
  assert.equal(calls[2]!.input, "b2", "b2 started as soon as b1 completed");
  calls[2]!.resolve("b2");
  await settle();
  assert.deepEqual(chunks, ["b1", "b2"], "b overtook a");
  calls[0]!.resolve("a1");
  await callsReach(4);
  calls[3]!.resolve("a2");
  await writer.close();
  await done;
  assert.deepEqual(chunks, ["b1", "b2", "a1", "a2"]);
});

test("AsyncIOTransformStream() keeps watermarks as barriers and capacity global in key-ordered mode", async () => {
  const { stream, calls, callsReach } = keyOrdered(3);
  const { chunks, done } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  void writer.write("a1");
  void writer.write(new Watermark(1));
  void writer.write("b1");
  let fourthAccepted = false;
  const fourth = writer.write("c1").then(() => fourthAccepted = true);
  await callsReach(2);
  calls[1]!.resolve("b1"); // after the watermark: held
  await settle();
  assert.deepEqual(chunks, []);
  assert.equal(fourthAccepted, false, "a1, W1 and b1 fill the global capacity");
  calls[0]!.resolve("a1");
  await fourth;
  await callsReach(3);
  calls[2]!.resolve("c1");
  await writer.close();
  await done;
  assert.deepEqual(chunks, ["a1", new Watermark(1), "b1", "c1"]);
});

test("AsyncIOTransformStream() snapshots inputs waiting behind their key and restores them in order", async () => {
  const { stream, callsReach } = keyOrdered();
  const first = collect(stream.readable);
  const writer = stream.writable.getWriter();
  for (const input of ["a1", "a2", "b1", "a3"]) await writer.write(input);
  await callsReach(2);
  const state = JSON.parse(JSON.stringify(stream.snapshot()));
  assert.deepEqual(
    state.entries.map((entry: { input: string }) => entry.input),
    ["a1", "a2", "b1", "a3"],
  );
  await first.stop("crash");

  const started: string[] = [];
  const restored = new AsyncIOTransformStream(
    async (input: string) => {
      started.push(input);
      await settle(input === "a1" ? 10 : 0);
      return input.toUpperCase();
    },
    { order: "key-ordered", key: keyOf, restore: state },
  );
  const output = await Array.fromAsync(
    ReadableStream.from(["a4"]).pipeThrough(restored),
  );
  assert.deepEqual(output.filter((o) => o[0] === "A"), [
    "A1",
    "A2",
    "A3",
    "A4",
  ]);
  assert.deepEqual(output.filter((o) => o[0] === "B"), ["B1"]);
  assert.deepEqual(started.slice(0, 2), ["a1", "b1"]);
});

test("AsyncIOTransformStream() fails the stream when the key function throws", async () => {
  const error = new Error("no key");
  const stream = new AsyncIOTransformStream((s: string) => s, {
    order: "key-ordered",
    key: () => {
      throw error;
    },
  });
  await assert.rejects(
    Array.fromAsync(ReadableStream.from(["a"]).pipeThrough(stream)),
    (reason) => reason === error,
  );
});
