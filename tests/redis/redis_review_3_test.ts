// A third adversarial review of the Redis scale-out, against a real
// redis-server: redisStreamSource and redisStreamSink used directly in a
// pipeline, the failure paths of redisWorker, and option checks. Each test
// before the "Pins" comment failed on the code it was written against
// (2292c10) and pins the defect it found; those after it held already.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RespClient } from "../../demo/redis_resp.ts";
import { startRedisServer } from "../../demo/redis_server.ts";
import {
  type RedisCommit,
  redisPartition,
  redisStreamSink,
  redisStreamSource,
  redisWorker,
} from "../../src/redis.ts";
import { deferred } from "../_deferred.ts";
import {
  addEntries,
  deliverAll,
  eventually,
  pending,
  useRedis,
  within,
} from "./_redis.ts";

const redis = useRedis();

/** One worker's connections and names on `input`, as most tests here run it. */
function common(input: string) {
  return {
    send: redis.client.send,
    blockingSend: redis.reads.send,
    input,
    output: `${input}:out`,
    group: "g",
    consumer: "c",
    blockMs: 50,
  };
}

/** Each entry as a commit of one output, its own fields. */
function echo(): TransformStream<
  { stream: string; id: string; fields: Record<string, string> },
  RedisCommit
> {
  return new TransformStream({
    transform: (entry, controller) =>
      controller.enqueue({ ...entry, outputs: [entry.fields] }),
  });
}

test("redisStreamSink() given the pipe's signal lets its abort end while the commit of a full batch waits on a stalled Redis", async () => {
  const server = await startRedisServer();
  const client = new RespClient(server.url);
  const probe = new RespClient(server.url);
  let stalled = false;
  try {
    await addEntries(client, "in", 3);
    const abort = new AbortController();
    const committing = deferred();
    const piped = redisStreamSource({
      send: client.send,
      stream: "in",
      group: "g",
      consumer: "c",
      blockMs: 50,
    })
      .pipeThrough(echo())
      .pipeTo(
        redisStreamSink({
          send: (args) => {
            // Redis stalls just before the first commit reaches it.
            if (!stalled) {
              Deno.kill(server.pid!, "SIGSTOP");
              stalled = true;
              committing.resolve();
            }
            return client.send(args);
          },
          group: "g",
          output: "out",
          // Every write is a full batch: it waits for its commit.
          batchSize: 1,
          signal: abort.signal,
        }),
        { signal: abort.signal },
      );
    await committing.promise;
    await new Promise((resolve) => setTimeout(resolve, 100));
    abort.abort();
    await within(
      assert.rejects(piped, (error) => error === abort.signal.reason),
      10_000,
      "the pipe's abort",
    );
  } finally {
    if (stalled) Deno.kill(server.pid!, "SIGCONT");
  }
  // Nothing lost: each input is committed or still pending.
  await eventually(async () =>
    Number(await probe.send(["XLEN", "out"])) +
        await pending(probe, "in", "g") === 3
  );
  client.close();
  probe.close();
  await server.stop();
});

test("redisStreamSink() writer.abort() ends while the commit of a full batch waits on a stalled Redis", async () => {
  const server = await startRedisServer();
  const client = new RespClient(server.url);
  let stalled = false;
  try {
    const ids = await addEntries(client, "in", 2);
    await deliverAll(client, "in", "g", "c");
    const writer = redisStreamSink({
      send: (args) => {
        if (!stalled) {
          Deno.kill(server.pid!, "SIGSTOP");
          stalled = true;
        }
        return client.send(args);
      },
      group: "g",
      output: "out",
      batchSize: 1,
    }).getWriter();
    // The first commit is sent and hangs; the second write, a full batch
    // behind it, waits for it.
    const written = ids.map((id) =>
      writer.write({ stream: "in", id, outputs: [] })
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(stalled, "no commit was sent");
    await within(writer.abort(new Error("stop")), 10_000, "writer.abort()");
    await Promise.all(written);
  } finally {
    if (stalled) Deno.kill(server.pid!, "SIGCONT");
  }
  client.close();
  await server.stop();
});

test("redisStreamSink() refuses a signal that is not an AbortSignal", () => {
  assert.throws(
    () =>
      redisStreamSink({
        send: redis.client.send,
        group: "g",
        output: "o",
        signal: "stop" as never,
      }),
    {
      name: "TypeError",
      message:
        'Cannot construct redisStreamSink as signal must be an AbortSignal: current value is "stop"',
    },
  );
});

test("redisWorker() fails with a clear TypeError naming the entry when onError returns one output instead of an iterable of outputs", async () => {
  const input = redis.name("review3-onerror-single");
  const [id] = await addEntries(redis.client, input, 1);
  const worker = redisWorker({
    ...common(input),
    deadLetter: `${input}:dead`,
    fn: () => {
      throw new Error("boom");
    },
    // A single output where an iterable is expected: a mistake that types
    // catch, and that must not read as "outputs is not iterable".
    onError: () => ({ handled: "yes" }) as never,
  });
  await assert.rejects(worker.done, (error: Error) => {
    assert.equal(error.name, "TypeError");
    assert.equal(
      error.message,
      `Cannot commit entry ${id} of stream ${input} as outputs must be an iterable of outputs (wrap one output as [output]): current value is an object`,
    );
    return true;
  });
  // Neither committed nor dead-lettered: the handler's answer was unusable.
  assert.equal(await pending(redis.client, input, "g"), 1);
});

test("redisWorker() fails with a clear TypeError when an object fn completes with a string", async () => {
  const input = redis.name("review3-complete-string");
  const [id] = await addEntries(redis.client, input, 1);
  const worker = redisWorker({
    ...common(input),
    fn: { asyncInvoke: (_entry, result) => result.complete("ab" as never) },
  });
  await assert.rejects(worker.done, {
    name: "TypeError",
    message:
      `Cannot commit entry ${id} of stream ${input} as outputs must be an iterable of outputs (wrap one output as [output]): current value is "ab"`,
  });
});

test("redisStreamSource() refuses a startId that is not a stream id when constructed, before any command", () => {
  const sent: string[][] = [];
  const send = (args: string[]) => {
    sent.push(args);
    return Promise.resolve(null);
  };
  const options = { send, stream: "s", group: "g", consumer: "c" };
  for (const startId of ["x", "-", "+", ">", "5-*", "-5", "1-2-3", "0x10"]) {
    assert.throws(() => redisStreamSource({ ...options, startId }), {
      name: "TypeError",
      message:
        `Cannot construct redisStreamSource as startId must be "$" or a stream id such as "0" or "1700000000000-0": current value is ${
          JSON.stringify(startId)
        }`,
    });
  }
  assert.throws(
    () => redisStreamSource({ ...options, startId: "18446744073709551616-0" }),
    RangeError,
  );
  assert.deepEqual(sent, []);
  for (const startId of ["$", "0", "0-0", "1700000000000-5"]) {
    redisStreamSource({ ...options, startId });
  }
});

test("redisStreamSource() names the stream and the group when its connection is lost while it acknowledges the deleted entries it reported", async () => {
  const stream = redis.name("review3-lost-forget");
  const [id] = await addEntries(redis.client, stream, 1);
  await deliverAll(redis.client, stream, "g", "c");
  await redis.client.send(["XDEL", stream, id!]);
  const conn = new RespClient(redis.server.url);
  const connId = String(await conn.send(["CLIENT", "ID"]));
  const reported: string[] = [];
  const reader = redisStreamSource({
    send: conn.send,
    stream,
    group: "g",
    consumer: "c",
    blockMs: 50,
    onDeleted: async (_stream, ids) => {
      reported.push(...ids);
      // The acknowledgement that follows is held, then its connection lost.
      await redis.client.send(["CLIENT", "PAUSE", "20000", "WRITE"]);
      setTimeout(async () => {
        await redis.client.send(["CLIENT", "KILL", "ID", connId]);
        await redis.client.send(["CLIENT", "UNPAUSE"]);
      }, 300);
    },
  }).getReader();
  try {
    await assert.rejects(reader.read(), (error: Error) => {
      assert.match(error.message, new RegExp(`stream ${stream} in group g\\b`));
      assert.match(error.message, /Redis connection closed/);
      return true;
    });
    assert.deepEqual(reported, [id]);
  } finally {
    await redis.client.send(["CLIENT", "UNPAUSE"]);
    conn.close();
  }
});

test("redisStreamSink() fails with a clear TypeError on a chunk that is not a commit, and commits nothing of it", async () => {
  const stream = redis.name("review3-bad-chunk");
  const [id] = await addEntries(redis.client, stream, 1);
  await deliverAll(redis.client, stream, "g", "c");
  const cases: [unknown, string][] = [
    [
      null,
      "Cannot commit an entry as it must be an object: current value is null",
    ],
    [5, "Cannot commit an entry as it must be an object: current value is 5"],
    [
      { stream: 7, id, outputs: [] },
      "Cannot commit an entry as stream must be a non-empty string: current value is 7",
    ],
    [
      { stream, id: 5, outputs: [] },
      `Cannot commit an entry of stream ${stream} as id must be a stream id such as "1700000000000-0": current value is 5`,
    ],
    [
      { stream, id: "abc", outputs: [] },
      `Cannot commit an entry of stream ${stream} as id must be a stream id such as "1700000000000-0": current value is "abc"`,
    ],
    [
      { stream, id, outputs: { n: "0" } },
      `Cannot commit entry ${id} of stream ${stream} as outputs must be an array of outputs: current value is an object`,
    ],
    [
      { stream, id },
      `Cannot commit entry ${id} of stream ${stream} as outputs must be an array of outputs: current value is undefined`,
    ],
    [
      { stream, id, outputs: [], deadLetter: "failed" },
      `Cannot commit entry ${id} of stream ${stream} as deadLetter must be an object of string fields: current value is "failed"`,
    ],
  ];
  for (const [chunk, message] of cases) {
    await assert.rejects(
      ReadableStream.from([chunk as RedisCommit]).pipeTo(redisStreamSink({
        send: redis.client.send,
        group: "g",
        output: `${stream}:out`,
        deadLetter: `${stream}:dead`,
      })),
      { name: "TypeError", message },
    );
  }
  assert.equal(await pending(redis.client, stream, "g"), 1);
  assert.equal(await redis.client.send(["EXISTS", `${stream}:out`]), 0);
  assert.equal(await redis.client.send(["EXISTS", `${stream}:dead`]), 0);
});

for (const partitions of [undefined, 2]) {
  test(`redisWorker() given a signal that is already aborted rejects with its reason and sends no command (partitions: ${partitions})`, async () => {
    const input = redis.name("review3-aborted-signal");
    const sent: string[][] = [];
    const reason = new Error("aborted before the start");
    const worker = redisWorker({
      send: (args) => {
        sent.push(args);
        return redis.client.send(args);
      },
      input,
      output: `${input}:out`,
      group: "g",
      consumer: "c",
      ...(partitions === undefined ? {} : { partitions }),
      fn: ({ fields }) => fields,
      signal: AbortSignal.abort(reason),
    });
    await assert.rejects(worker.done, (error) => error === reason);
    await worker.stop();
    assert.deepEqual(sent, []);
    assert.equal(await redis.client.send(["EXISTS", input, `${input}:0`]), 0);
  });
}

test("redisWorker() refuses an output or deadLetter stream that is one it reads, which would feed its outputs back as inputs for ever", () => {
  const base = {
    send: () => Promise.resolve(null),
    input: "orders",
    group: "g",
    consumer: "c",
    fn: ({ fields }: { fields: Record<string, string> }) => fields,
  };
  const cases: [Record<string, unknown>, string][] = [
    [
      { output: "orders" },
      'Cannot construct redisWorker as output must not be a stream it reads (orders): current value is "orders"',
    ],
    [
      { output: "out", deadLetter: "orders" },
      'Cannot construct redisWorker as deadLetter must not be a stream it reads (orders): current value is "orders"',
    ],
    [
      { output: "orders:3", partitions: 4 },
      'Cannot construct redisWorker as output must not be a stream it reads (orders:0 … orders:3): current value is "orders:3"',
    ],
    [
      { output: "out", deadLetter: "orders:0", partitions: 1 },
      'Cannot construct redisWorker as deadLetter must not be a stream it reads (orders:0 … orders:0): current value is "orders:0"',
    ],
  ];
  for (const [options, message] of cases) {
    assert.throws(
      () => redisWorker({ ...base, ...options } as never),
      { name: "RangeError", message },
    );
  }
  // Names that only look alike are fine: a partition past the count, or
  // the unpartitioned input's own name in partitioned mode.
  for (
    const options of [
      { output: "orders:4", partitions: 4 },
      { output: "orders", partitions: 4 },
      { output: "orders:00", partitions: 4 },
    ]
  ) {
    redisWorker({
      ...base,
      ...options,
      signal: AbortSignal.abort(),
    }).done.catch(() => {});
  }
});

test("redisWorker() runs its scripts when a SCRIPT FLUSH lands between their reload and their run (NOSCRIPT twice)", async () => {
  const input = redis.name("review3-flush-after-load");
  await addEntries(redis.client, input, 3);
  await redis.client.send(["SCRIPT", "FLUSH"]);
  const worker = redisWorker({
    ...common(input),
    send: async (args) => {
      const reply = await redis.client.send(args);
      // The worst moment: the script just loaded is flushed at once.
      if (args[0] === "SCRIPT" && args[1] === "LOAD") {
        await redis.client.send(["SCRIPT", "FLUSH"]);
      }
      return reply;
    },
    claimIdleMs: 300,
    fn: ({ fields }) => fields,
  });
  try {
    await eventually(() => worker.stats.committed === 3);
  } finally {
    await worker.stop();
  }
  await worker.done;
  assert.equal(await pending(redis.client, input, "g"), 0);
});

test("redisPartition() refuses an input that is not a non-empty string", () => {
  for (const input of [undefined, "", 7]) {
    assert.throws(() => redisPartition(input as never, "user-7", 4), {
      name: "TypeError",
      message:
        `Cannot choose a partition as input must be a non-empty string: current value is ${
          input === undefined ? "undefined" : JSON.stringify(input)
        }`,
    });
  }
});

// A worker stopped while its blocked XREADGROUP waits on a connection that
// stays open leaves that read on the server (for up to blockMs, or
// claimIntervalMs if shorter): entries added then are delivered to it,
// pending under the consumer's name, and dropped. A worker restarted in the
// same process with the same name has re-read its own pending entries
// already; its heartbeat touches only what it read itself, so those entries
// go idle and its claim round takes them.
test("redisWorker() restarted in-process with the same name and a new blocking connection processes the entries its stopped predecessor's blocked read took", async () => {
  const input = redis.name("review3-stray-read");
  const first = new RespClient(redis.server.url);
  const second = new RespClient(redis.server.url);
  const options = {
    send: redis.client.send,
    input,
    output: `${input}:out`,
    group: "g",
    consumer: "c",
    // A read blocks until the next claim round at most.
    blockMs: 5_000,
    claimIdleMs: 600,
    claimIntervalMs: 5_000,
    fn: ({ fields }: { fields: Record<string, string> }) => fields,
  };
  const before = redisWorker({ ...options, blockingSend: first.send });
  try {
    // Its read blocks; stop() returns at once and leaves it there.
    const firstId = String(await first.send(["CLIENT", "ID"]));
    await eventually(async () =>
      /flags=b .*cmd=xreadgroup/.test(
        String(await redis.client.send(["CLIENT", "LIST", "ID", firstId])),
      )
    );
    await before.stop();
    const after = redisWorker({ ...options, blockingSend: second.send });
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The stopped worker's read takes the first, the new one the rest.
      await addEntries(redis.client, input, 3);
      // A claim round every 5 s would take an entry idle for 0.6 s.
      await eventually(() => after.stats.committed === 3, 15_000);
    } finally {
      await after.stop();
    }
  } finally {
    first.close();
    second.close();
  }
});

// Pins, not defects: these held already.

for (
  const [policy, onError] of [
    ['"fail" given explicitly', "fail"],
    ["a handler that throws", () => {
      throw new Error("handler failed");
    }],
  ] as const
) {
  test(`redisWorker() with deadLetter and onError ${policy} fails with the error and leaves the entry pending, dead-lettering nothing`, async () => {
    const input = redis.name("review3-policy");
    await addEntries(redis.client, input, 1);
    const worker = redisWorker({
      ...common(input),
      deadLetter: `${input}:dead`,
      fn: () => {
        throw new Error("fn failed");
      },
      onError,
    });
    await assert.rejects(worker.done, {
      message: typeof onError === "string" ? "fn failed" : "handler failed",
    });
    assert.equal(await pending(redis.client, input, "g"), 1);
    assert.equal(
      await redis.client.send(["EXISTS", `${input}:dead`, `${input}:out`]),
      0,
    );
    assert.equal(worker.stats.deadLettered, 0);
  });
}

for (const partitions of [undefined, 2]) {
  test(`redisWorker() with Redis unreachable at its start rejects done with an error naming the stream and the group (partitions: ${partitions})`, async () => {
    // A port that nothing listens on: a server started and stopped.
    const server = await startRedisServer();
    await server.stop();
    const client = new RespClient(server.url);
    const worker = redisWorker({
      send: client.send,
      input: "in",
      output: "out",
      group: "g",
      consumer: "c",
      ...(partitions === undefined ? {} : { partitions }),
      fn: ({ fields }) => fields,
    });
    await assert.rejects(worker.done, (error: Error) => {
      assert.match(
        error.message,
        /stream in in group g\b|group g on stream in\b/,
      );
      assert.match(error.message, /Connection refused/);
      return true;
    });
    await within(worker.stop(), 10_000, "stop()");
    client.close();
  });
}

test("redisWorker() reloads its scripts after SCRIPT FLUSH (NOSCRIPT) and commits every entry once", async () => {
  const input = redis.name("review3-noscript");
  await addEntries(redis.client, input, 60);
  let calls = 0;
  const worker = redisWorker({
    ...common(input),
    // Claims and heartbeats run their scripts too.
    claimIdleMs: 300,
    claimIntervalMs: 100,
    capacity: 5,
    fn: async ({ fields }) => {
      if (++calls % 10 === 0) await redis.client.send(["SCRIPT", "FLUSH"]);
      await new Promise((resolve) => setTimeout(resolve, 10));
      return fields;
    },
  });
  try {
    await eventually(() => worker.stats.committed === 60);
  } finally {
    await worker.stop();
  }
  assert.equal(await pending(redis.client, input, "g"), 0);
  const out = await redis.client.send(["XRANGE", `${input}:out`, "-", "+"]) as [
    string,
    string[],
  ][];
  assert.deepEqual(
    out.map(([, fields]) => Number(fields[1])).sort((a, b) => a - b),
    Array.from({ length: 60 }, (_, n) => n),
  );
});
