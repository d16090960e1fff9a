// redisWorker() in this process against a real redis-server: its options,
// stop(), bad input and dead letters. The crash tests run worker processes.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type RedisFields,
  type RedisStreamEntry,
  redisWorker,
  type RedisWorkerOptions,
} from "../../src/redis.ts";
import type { AsyncFunction } from "../../mod.ts";
import {
  addEntries,
  deliverAll,
  eventually,
  ns,
  pending,
  readAll,
  useRedis,
} from "./_redis.ts";

const redis = useRedis();

/**
 * A send that records every command, for the tests of refused options: a
 * worker must refuse them before it talks to Redis.
 */
function recordingSend() {
  const sent: unknown[] = [];
  return {
    send: (args: string[]) => {
      sent.push(args);
      return redis.client.send(args);
    },
    async assertNothingSent(): Promise<void> {
      // Long enough for a command sent from a microtask or a timer of 0.
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(sent, [], "a worker with a bad option talked to Redis");
    },
  };
}

function setup(label: string) {
  const input = redis.name(label);
  return {
    input,
    output: `${input}:out`,
    deadLetter: `${input}:dead`,
    base: {
      send: redis.client.send,
      input,
      output: `${input}:out`,
      group: "g",
      consumer: "c",
      blockMs: 50,
    },
  };
}

async function runUntil(
  options: RedisWorkerOptions,
  outputs: number,
  stream = options.output,
) {
  const worker = redisWorker(options);
  try {
    // Enough outputs, and every entry read so far committed.
    const inputs = options.partitions === undefined
      ? [options.input]
      : Array.from({ length: options.partitions }, (_, p) =>
        `${options.input}:${p}`);
    await eventually(async () => {
      if (Number(await redis.client.send(["XLEN", stream])) < outputs) {
        return false;
      }
      for (const input of inputs) {
        if (await pending(redis.client, input, options.group) > 0) return false;
      }
      return true;
    });
  } finally {
    await worker.stop();
  }
  await worker.done;
  return worker;
}

const double = ({ fields }: { fields: RedisFields }) => ({
  n: String(Number(fields.n) * 2),
});

for (const order of ["ordered", "unordered", "key-ordered"] as const) {
  test(`redisWorker() commits every input once in ${order} mode`, async () => {
    const { input, output, base } = setup(`worker-${order}`);
    await addEntries(redis.client, input, 200);
    const worker = await runUntil({
      ...base,
      order,
      key: (entry) => Number(entry.fields.n) % 7,
      capacity: 16,
      fn: async (entry) => {
        await new Promise((r) => setTimeout(r, Math.random() * 5));
        return double(entry);
      },
    }, 200);
    const outputs = ns(await readAll(redis.client, output));
    assert.deepEqual(
      [...outputs].sort((a, b) => a - b),
      Array.from({ length: 200 }, (_, n) => n * 2),
    );
    if (order === "ordered") {
      assert.deepEqual(outputs, Array.from({ length: 200 }, (_, n) => n * 2));
    }
    if (order === "key-ordered") {
      for (let key = 0; key < 7; key++) {
        const ofKey = outputs.filter((n) => (n / 2) % 7 === key);
        assert.deepEqual(ofKey, [...ofKey].sort((a, b) => a - b));
      }
    }
    assert.equal(worker.stats.committed, 200);
    assert.equal(await pending(redis.client, input, "g"), 0);
  });
}

test("redisWorker() retries, times out to a fallback and rate-limits inside a worker", async () => {
  const { input, output, base } = setup("worker-policies");
  await addEntries(redis.client, input, 30);
  const worker = await runUntil({
    ...base,
    order: "unordered",
    fn: async (entry, { attempt, signal }) => {
      const n = Number(entry.fields.n);
      if (n % 3 === 0 && attempt === 1) throw new Error("flaky");
      if (n === 1) {
        await new Promise((_, reject) =>
          signal.addEventListener("abort", () => reject(signal.reason))
        );
      }
      return double(entry);
    },
    retry: { maxAttempts: 2 },
    timeout: 200,
    onTimeout: (_entry, result) => result.complete([{ n: "timeout" }]),
    rateLimit: { limit: 10, interval: 50 },
  }, 30);
  const outputs = (await readAll(redis.client, output)).map((e) => e.fields.n);
  assert.equal(outputs.length, 30);
  assert.ok(outputs.includes("timeout"));
  assert.equal(worker.stats.retries, 10);
  assert.equal(worker.stats.timedOut, 1);
  assert.ok(worker.stats.rateLimited > 0);
});

test("redisWorker() commits all outputs of the AsyncFunction form together, zero included", async () => {
  const { input, output, base } = setup("worker-object");
  await addEntries(redis.client, input, 3);
  await runUntil({
    ...base,
    fn: {
      asyncInvoke(entry, result) {
        const n = Number(entry.fields.n);
        result.complete(
          Array.from({ length: n }, (_, i) => ({ n: `${n}.${i}` })),
        );
      },
    },
  }, 3);
  assert.deepEqual(
    (await readAll(redis.client, output)).map((e) => e.fields.n),
    ["1.0", "2.0", "2.1"],
  );
  assert.equal(await pending(redis.client, input, "g"), 0);
});

test("redisWorker() stop() returns at once with calls in flight, which stay pending", async () => {
  const { input, base } = setup("worker-stop");
  await addEntries(redis.client, input, 5);
  let calls = 0;
  const worker = redisWorker({
    ...base,
    order: "unordered",
    // Never settles and ignores its signal: stop must not wait for it.
    fn: () => {
      calls++;
      return new Promise<RedisFields>(() => {});
    },
  });
  await eventually(() => calls === 5);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error("stop() hung")), 10_000);
  });
  await Promise.race([worker.stop(), hung]);
  clearTimeout(timer);
  await worker.done;
  assert.equal(await pending(redis.client, input, "g"), 5);
});

test("redisWorker() writes a malformed entry to the dead-letter stream and goes on", async () => {
  const { input, output, deadLetter, base } = setup("worker-malformed");
  await addEntries(redis.client, input, 2);
  const [bad] = await Promise.all([
    redis.client.send(["XADD", input, "*", "wrong", "shape"]),
  ]);
  await addEntries(redis.client, input, 2, 2);
  const fn = ({ id, fields }: { id: string; fields: RedisFields }) => {
    if (fields.n === undefined) throw new TypeError(`Entry ${id} lacks n`);
    return double({ fields });
  };
  const worker = await runUntil({ ...base, deadLetter, fn }, 1, deadLetter);
  await eventually(async () =>
    Number(await redis.client.send(["XLEN", output])) === 4
  );
  const [dead] = await readAll(redis.client, deadLetter);
  assert.deepEqual(dead?.fields, {
    stream: input,
    id: bad,
    error: `Entry ${bad} lacks n`,
    fields: JSON.stringify({ wrong: "shape" }),
  });
  assert.equal(worker.stats.deadLettered, 1);
  assert.equal(await pending(redis.client, input, "g"), 0);
  // The dead letter is a commit too (its JSDoc says so).
  await eventually(() => worker.stats.committed === 5);
});

test("redisWorker() without a dead-letter stream fails clearly on a malformed entry and keeps it pending", async () => {
  const { input, base } = setup("worker-malformed-strict");
  await redis.client.send(["XADD", input, "*", "wrong", "shape"]);
  const worker = redisWorker({
    ...base,
    fn: ({ id, fields }) => {
      if (fields.n === undefined) throw new TypeError(`Entry ${id} lacks n`);
      return fields;
    },
  });
  await assert.rejects(worker.done, /Entry .* lacks n/);
  assert.equal(await pending(redis.client, input, "g"), 1);
});

test("redisWorker() dead-letters an output that is not an object of strings", async () => {
  const { input, deadLetter, base } = setup("worker-bad-output");
  await addEntries(redis.client, input, 1);
  await runUntil(
    {
      ...base,
      deadLetter,
      fn: () => ({ n: 1 }) as unknown as RedisFields,
    },
    1,
    deadLetter,
  );
  const [dead] = await readAll(redis.client, deadLetter);
  assert.match(dead!.fields.error!, /each a string/);
});

test("redisWorker() dead-letters an entry whose timeout ran out without a fallback", async () => {
  const { input, output, deadLetter, base } = setup("worker-timeout-dead");
  await addEntries(redis.client, input, 3);
  await runUntil(
    {
      ...base,
      deadLetter,
      timeout: 100,
      fn: (entry) =>
        entry.fields.n === "1"
          ? new Promise<RedisFields>(() => {})
          : double(entry),
    },
    1,
    deadLetter,
  );
  await eventually(async () =>
    Number(await redis.client.send(["XLEN", output])) === 2
  );
  const [dead] = await readAll(redis.client, deadLetter);
  assert.equal(dead?.fields.fields, JSON.stringify({ n: "1" }));
  assert.equal(await pending(redis.client, input, "g"), 0);
});

test("redisWorker() commits what an onError handler gives, and an empty commit when it gives nothing", async () => {
  const { input, output, deadLetter, base } = setup("worker-on-error");
  await addEntries(redis.client, input, 4);
  const worker = await runUntil({
    ...base,
    deadLetter, // the handler takes precedence
    fn: (entry) => {
      if (Number(entry.fields.n) % 2 === 1) throw new Error("odd");
      return double(entry);
    },
    onError: (error, entry) =>
      entry.fields.n === "1"
        ? [{ n: `fallback: ${(error as Error).message}` }]
        : undefined,
  }, 3);
  assert.deepEqual(
    (await readAll(redis.client, output)).map((e) => e.fields.n).sort(),
    ["0", "4", "fallback: odd"],
  );
  assert.equal(await redis.client.send(["EXISTS", deadLetter]), 0);
  assert.equal(worker.stats.failed, 2);
});

test("redisWorker() dead-letters entries deleted from the stream while pending", async () => {
  const { input, output, deadLetter, base } = setup("worker-deleted");
  const [gone] = await addEntries(redis.client, input, 2);
  await deliverAll(redis.client, input, "g", "dead");
  await redis.client.send(["XDEL", input, gone!]);
  await runUntil(
    { ...base, deadLetter, claimIdleMs: 0, fn: double },
    1,
    deadLetter,
  );
  await eventually(async () =>
    Number(await redis.client.send(["XLEN", output])) === 1
  );
  const [dead] = await readAll(redis.client, deadLetter);
  assert.equal(dead?.fields.id, gone);
  assert.match(dead!.fields.error!, /deleted/);
});

test("redisWorker() fails clearly when its group is deleted while it runs", async () => {
  const { input, base } = setup("worker-nogroup");
  await addEntries(redis.client, input, 1);
  const worker = redisWorker({ ...base, fn: double });
  await eventually(async () =>
    Number(await redis.client.send(["XLEN", base.output])) === 1
  );
  await redis.client.send(["XGROUP", "DESTROY", input, "g"]);
  await assert.rejects(worker.done, /consumer group g does not exist/);
});

test("redisWorker() fails clearly and keeps inputs pending when the output key holds another type", async () => {
  const { input, output, base } = setup("worker-wrongtype");
  await redis.client.send(["SET", output, "not a stream"]);
  await addEntries(redis.client, input, 3);
  const worker = redisWorker({ ...base, fn: double });
  await assert.rejects(worker.done, /WRONGTYPE Cannot commit as key/);
  assert.equal(await pending(redis.client, input, "g"), 3);
});

test("redisWorker() fails clearly when the input key holds another type", async () => {
  const { input, base } = setup("worker-input-wrongtype");
  await redis.client.send(["SET", input, "not a stream"]);
  const worker = redisWorker({ ...base, fn: double });
  await assert.rejects(
    worker.done,
    /Cannot create consumer group g on stream .*WRONGTYPE/,
  );
});

test("redisWorker() hands a stopped worker's partitions to another, which resumes from their pending entries", async () => {
  const { input, output, base } = setup("worker-partitions");
  for (let p = 0; p < 4; p++) {
    await addEntries(redis.client, `${input}:${p}`, 5, p * 5);
  }
  let stuck = true;
  const common = {
    ...base,
    partitions: 4,
    leaseMs: 300,
    pollMs: 10,
    order: "key-ordered" as const,
    key: (entry: { stream: string }) => entry.stream,
  };
  const first = redisWorker({
    ...common,
    consumer: "first",
    fn: (entry) => stuck ? new Promise<RedisFields>(() => {}) : double(entry),
  });
  await eventually(() => first.stats.partitions.length === 4);
  await eventually(() => first.stats.inFlight === 4);
  await first.stop();
  stuck = false;
  const second = await runUntil(
    { ...common, consumer: "second", fn: double },
    20,
  );
  assert.deepEqual(second.stats.partitions, []);
  const outputs = ns(await readAll(redis.client, output));
  for (let p = 0; p < 4; p++) {
    assert.deepEqual(
      outputs.filter((n) => Math.floor(n / 10) === p),
      [0, 1, 2, 3, 4].map((i) => (p * 5 + i) * 2),
    );
  }
});

test("redisWorker() stops reading a partition at once when its lease is taken", async () => {
  const { input, output, base } = setup("worker-lease-lost");
  const worker = redisWorker({
    ...base,
    partitions: 1,
    leaseMs: 60_000, // no heartbeat during the test: only the read fences
    pollMs: 10,
    fn: double,
  });
  try {
    await eventually(() => worker.stats.partitions.length === 1);
    await redis.client.send(["SET", `${input}:0:g:lease`, "another worker"]);
    await addEntries(redis.client, `${input}:0`, 5);
    await eventually(() => worker.stats.partitions.length === 0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(await redis.client.send(["EXISTS", output]), 0);
    assert.equal(await pending(redis.client, `${input}:0`, "g"), 0);
    assert.equal(worker.stats.accepted, 0);
  } finally {
    await worker.stop();
  }
});

test("redisWorker() validates its options", () => {
  const { base } = setup("worker-validate");
  assert.throws(
    () => redisWorker({ ...base, fn: 42 as never }),
    /Cannot construct redisWorker as fn must be a function or an object with asyncInvoke/,
  );
  assert.throws(
    () => redisWorker({ ...base, input: "", fn: double }),
    TypeError,
  );
  assert.throws(
    () => redisWorker({ ...base, fn: double, onError: "settle" as never }),
    /Cannot construct redisWorker as onError must be "fail" or a function: current value is "settle"/,
  );
  assert.throws(
    () => redisWorker({ ...base, fn: double, partitions: 0 }),
    /partitions must be a positive integer/,
  );
});

test("redisWorker() checks every option, its stream's and both reading modes' included, before it sends a command, and names itself", async () => {
  const { base } = setup("worker-validate-first");
  const { send, assertNothingSent } = recordingSend();
  const cases: [Partial<RedisWorkerOptions>, RegExp][] = [
    [
      { capacity: 0 },
      /^RangeError: Cannot construct redisWorker as capacity must be a positive integer: current value is 0$/,
    ],
    [{ timeout: -1 }, /^RangeError: Cannot construct redisWorker as timeout/],
    [
      { retry: { maxAttempts: 0 } },
      /^RangeError: Cannot construct redisWorker as retry.maxAttempts must be a positive integer/,
    ],
    [
      { retry: null as never },
      /^TypeError: Cannot construct redisWorker as retry must be an object: current value is null$/,
    ],
    [
      { onTimeout: 3 as never },
      /^TypeError: Cannot construct redisWorker as onTimeout must be a function: current value is 3$/,
    ],
    [
      { count: 0 },
      /^RangeError: Cannot construct redisWorker as count must be a positive integer/,
    ],
    [{ blockMs: -1 }, /^RangeError: Cannot construct redisWorker as blockMs/],
    // The reader's order: count before claimIdleMs.
    [
      { count: 0, claimIdleMs: -1 },
      /^RangeError: Cannot construct redisWorker as count must be a positive integer/,
    ],
    // The other reading mode's options go unused, and are checked all the same.
    [{ leaseMs: -1 }, /^RangeError: Cannot construct redisWorker as leaseMs/],
    [{ pollMs: -1 }, /^RangeError: Cannot construct redisWorker as pollMs/],
    [
      { handOverMs: -1 },
      /^RangeError: Cannot construct redisWorker as handOverMs/,
    ],
    [
      { partitions: 2, handOverMs: "long" } as never,
      /^TypeError: Cannot construct redisWorker as handOverMs/,
    ],
    // Renewed every third of it: a shorter lease has no period left.
    [
      { partitions: 2, leaseMs: 2 },
      /^RangeError: Cannot construct redisWorker as leaseMs must be an integer of at least 3 milliseconds: current value is 2$/,
    ],
    [
      { partitions: 2, blockMs: -1 },
      /^RangeError: Cannot construct redisWorker as blockMs/,
    ],
    [
      { partitions: 2, claimIdleMs: -1 },
      /^RangeError: Cannot construct redisWorker as claimIdleMs/,
    ],
    [
      { partitions: 2, claimIntervalMs: "often" } as never,
      // Not a number at all: a wrong shape.
      /^TypeError: Cannot construct redisWorker as claimIntervalMs/,
    ],
    [
      { batch: { maxSize: 10 } } as never,
      /^TypeError: Cannot construct redisWorker as batch must be undefined, since a worker does not take it/,
    ],
    [
      { restore: { version: 1, entries: [] } } as never,
      /^TypeError: Cannot construct redisWorker as restore must be undefined/,
    ],
    [
      { readableStrategy: { highWaterMark: 4 } } as never,
      /^TypeError: Cannot construct redisWorker as readableStrategy must be undefined/,
    ],
  ];
  for (const [bad, message] of cases) {
    assert.throws(
      () =>
        redisWorker({ ...base, send, blockingSend: send, fn: double, ...bad }),
      (error: unknown) => message.test(String(error)),
      JSON.stringify(bad),
    );
  }
  await assertNothingSent();
});

test("redisWorker() takes a timeout, or attempts and retry delays, as long as claimIdleMs or longer: its heartbeat keeps a slow call's entry", async () => {
  // These were RangeErrors while a call longer than claimIdleMs let another
  // worker claim its entry; redis_heartbeat_test.ts shows it no longer does.
  const { base } = setup("worker-timeout-claim");
  for (
    const good of [
      { timeout: 30_000 }, // the default claimIdleMs
      { timeout: 5_000, claimIdleMs: 1_000 },
      { attemptTimeout: 1_000, timeout: Infinity, claimIdleMs: 1_000 },
      {
        attemptTimeout: 400,
        retry: { maxAttempts: 3, delay: 100 },
        claimIdleMs: 1_000,
      },
      { timeout: 60_000, partitions: 2 },
    ]
  ) {
    const worker = redisWorker({
      ...base,
      blockingSend: redis.reads.send,
      fn: double,
      ...good,
    });
    await worker.stop();
  }
});

test("redisWorker() refuses a count of null as a wrong shape in both reading modes, before it talks to Redis", async () => {
  const { base } = setup("worker-count-null");
  const { send, assertNothingSent } = recordingSend();
  for (const mode of [{}, { partitions: 2 }]) {
    assert.throws(
      () =>
        redisWorker({
          ...base,
          send,
          blockingSend: send,
          fn: double,
          ...mode,
          count: null as never,
        }),
      new TypeError(
        "Cannot construct redisWorker as count must be a positive integer: current value is null",
      ),
      JSON.stringify(mode),
    );
  }
  await assertNothingSent();
});

test("redisWorker() refuses a signal that is not an AbortSignal with a TypeError that names itself, before it talks to Redis", async () => {
  const { base } = setup("worker-bad-signal");
  const { send, assertNothingSent } = recordingSend();
  for (const [signal, shown] of [[null, "null"], [{}, "an object"]] as const) {
    assert.throws(
      () =>
        redisWorker({
          ...base,
          send,
          blockingSend: send,
          fn: double,
          signal: signal as never,
        }),
      (error: unknown) =>
        error instanceof TypeError &&
        error.message ===
          `Cannot construct redisWorker as signal must be an AbortSignal: current value is ${shown}`,
      String(signal),
    );
  }
  await assertNothingSent();
});

test("redisWorker() refuses an fn object without an asyncInvoke method, or with a timeout, open or close that is not a function, before it talks to Redis", async () => {
  const { base } = setup("worker-bad-fn-object");
  const { send, assertNothingSent } = recordingSend();
  const asyncInvoke = () => {};
  const cases: [object, string][] = [
    [
      {},
      "fn must be a function or an object with asyncInvoke: current value is an object",
    ],
    [
      { asyncInvoke: 5 },
      "fn must be a function or an object with asyncInvoke: current value is an object",
    ],
    [
      { asyncInvoke, timeout: 5 },
      "fn.timeout must be a function: current value is 5",
    ],
    [
      { asyncInvoke, open: 5 },
      "fn.open must be a function: current value is 5",
    ],
    [
      { asyncInvoke, close: "x" },
      'fn.close must be a function: current value is "x"',
    ],
  ];
  for (const [fn, message] of cases) {
    assert.throws(
      () => redisWorker({ ...base, send, blockingSend: send, fn: fn as never }),
      new TypeError(`Cannot construct redisWorker as ${message}`),
      JSON.stringify(fn),
    );
  }
  await assertNothingSent();
});

test("redisWorker() calls the timeout method fn had at construction when the timeout runs out, on fn, as the stream does", async () => {
  const { input, output, base } = setup("worker-timeout-late");
  await addEntries(redis.client, input, 1);
  const thisValues: unknown[] = [];
  const fn: AsyncFunction<RedisStreamEntry, RedisFields> = {
    asyncInvoke() {},
    timeout(this: unknown, _, result) {
      thisValues.push(this);
      result.complete([{ by: "first" }]);
    },
  };
  // runUntil constructs the worker before its first await: fn's methods
  // were read then, so these come too late, as they would for the stream.
  const running = runUntil({ ...base, timeout: 300, fn }, 1);
  fn.asyncInvoke = (_, result) => result.complete([{ by: "second" }]);
  fn.timeout = (_, result) => result.complete([{ by: "second" }]);
  await running;
  assert.deepEqual(
    (await readAll(redis.client, output)).map((e) => e.fields.by),
    ["first"],
  );
  assert.deepEqual(thisValues, [fn]);
});

test("redisWorker() in partitioned mode with leaseMs and pollMs past the longest timer neither beats nor polls in a loop", async () => {
  const { base } = setup("worker-long-timers");
  const sent: string[][] = [];
  const worker = redisWorker({
    ...base,
    send: (args) => {
      sent.push(args);
      return redis.client.send(args);
    },
    partitions: 2,
    leaseMs: 3 * 2 ** 32, // a third of it would overflow setTimeout
    pollMs: 2 ** 33,
    fn: double,
  });
  try {
    await new Promise((resolve) => setTimeout(resolve, 300));
  } finally {
    await worker.stop();
  }
  const scripts = (suffix: string) =>
    sent.filter((args) => args[0] === "EVALSHA" && args[3]?.endsWith(suffix))
      .length;
  // The beat on start, and the release on stop; a read per partition.
  assert.ok(scripts(":workers") <= 2, `${scripts(":workers")} beats`);
  assert.ok(scripts(":lease") <= 4, `${scripts(":lease")} reads`);
});

test("redisWorker() refuses a count or a duration past 2^53 - 1, which would reach Redis as 1e+300, before it talks to Redis", async () => {
  const { base } = setup("worker-huge-numbers");
  const { send, assertNothingSent } = recordingSend();
  const cases: [string, Record<string, unknown>][] = [
    ["count", {}],
    ["claimIdleMs", {}],
    ["blockMs", {}],
    ["leaseMs", { partitions: 2 }],
    ["handOverMs", { partitions: 2 }],
    ["pollMs", { partitions: 2 }],
    ["doneRetentionMs", {}],
  ];
  for (const [name, mode] of cases) {
    assert.throws(
      () =>
        redisWorker({
          ...base,
          send,
          blockingSend: send,
          fn: double,
          ...mode,
          [name]: 1e300,
        }),
      new RangeError(
        `Cannot construct redisWorker as ${name} must be at most 9007199254740991: current value is 1e+300`,
      ),
    );
  }
  await assertNothingSent();
  // The largest safe integer is taken.
  const worker = redisWorker({
    ...base,
    send,
    blockingSend: send,
    fn: double,
    signal: AbortSignal.abort(),
    claimIdleMs: Number.MAX_SAFE_INTEGER,
  });
  await worker.done.catch(() => {});
});
