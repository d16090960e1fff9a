// An audit of the README promises that changed on 2026-11-30, each pinned by
// a test that fails if the promise breaks: the option error rule, what
// snapshot() and stats hold after a stop, a state's entries, writes from
// user code, `this` in user code, and mapAsync's source handling.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AsyncFunction,
  type AsyncIOState,
  AsyncIOTransformStream,
  CheckpointBarrier,
  type ConcurrencyLimit,
  mapAsync,
  type ResultFuture,
  Watermark,
} from "../mod.ts";
import { controlledFn, deferred, settle } from "./_deferred.ts";

const identity = (n: number) => n;
const batchIdentity = (ns: number[]) => ns;

const records = (state: AsyncIOState<number>) =>
  state.entries.map((e) => e.kind === "record" ? e.input : `w${e.timestamp}`);

test("AsyncIOTransformStream() and mapAsync() throw a TypeError for a required numeric option left out", () => {
  const left: [string, Record<string, unknown>][] = [
    ["retry.maxAttempts", { retry: { delay: 10 } }],
    ["rateLimit.limit", { rateLimit: { interval: 10 } }],
    ["rateLimit.interval", { rateLimit: { limit: 1 } }],
    ["batch.maxSize", { batch: { maxWait: 10 } }],
    ["batch.maxWait", { batch: { maxSize: 2 } }],
  ];
  for (const [name, options] of left) {
    const fn = "batch" in options ? batchIdentity : identity;
    for (
      const [prefix, make] of [
        [
          "Cannot construct AsyncIOTransformStream as",
          () => new AsyncIOTransformStream(fn as never, options as never),
        ],
        [
          "Cannot call mapAsync as",
          () => mapAsync([1], fn as never, options as never),
        ],
      ] as const
    ) {
      assert.throws(make, (error: unknown) => {
        assert.ok(error instanceof TypeError, `${name}: ${error}`);
        assert.match(
          error.message,
          new RegExp(
            `^${prefix} ${
              name.replace(".", "\\.")
            } must be .*: current value is undefined$`,
          ),
        );
        return true;
      });
    }
  }
});

test("AsyncIOTransformStream.snapshot() after a failure in unordered mode puts the unread results' inputs first, in the order they were emitted", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    order: "unordered",
    capacity: 6,
    readableStrategy: { highWaterMark: 4 },
  });
  const writer = stream.writable.getWriter();
  for (const n of [1, 2, 3, 4]) void writer.write(n).catch(() => {});
  await callsReach(4);
  const reader = stream.readable.getReader();
  calls[2]!.resolve(30);
  await settle();
  calls[0]!.resolve(10); // 30 then 10 wait unread in the readable
  await settle();
  const failure = new Error("input 2 failed");
  calls[1]!.reject(failure);
  await settle();
  await assert.rejects(reader.read(), failure);
  // 3 and 1 as emitted, then the engine's own in input order.
  assert.deepEqual(records(stream.snapshot()), [3, 1, 2, 4]);
  const { accepted, emitted, pending, outputs } = stream.stats;
  assert.deepEqual(
    { accepted, emitted, pending, outputs },
    { accepted: 4, emitted: 0, pending: 4, outputs: 0 },
  );
});

test("AsyncIOTransformStream.snapshot() after a failure keeps no account of unread results under an infinite readable highWaterMark", async () => {
  // A documented limit: the account is bounded by the readable's desiredSize.
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    capacity: 4,
    readableStrategy: { highWaterMark: Infinity },
  });
  const writer = stream.writable.getWriter();
  for (const n of [1, 2]) void writer.write(n).catch(() => {});
  await callsReach(2);
  const reader = stream.readable.getReader();
  calls[0]!.resolve(10);
  await settle();
  const failure = new Error("input 2 failed");
  calls[1]!.reject(failure);
  await settle();
  await assert.rejects(reader.read(), failure);
  assert.deepEqual(records(stream.snapshot()), [2]);
  assert.equal(stream.stats.emitted, 1);
});

test("AsyncIOTransformStream.snapshot() after a reader cancels counts the results it held as read", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    capacity: 4,
    readableStrategy: { highWaterMark: 4 },
  });
  const writer = stream.writable.getWriter();
  for (const n of [1, 2, 3]) void writer.write(n).catch(() => {});
  await callsReach(3);
  const reader = stream.readable.getReader();
  calls[0]!.resolve(10);
  calls[1]!.resolve(20); // both wait unread in the readable
  await settle();
  await reader.cancel("enough");
  assert.deepEqual(records(stream.snapshot()), [3]);
  const { emitted, pending, outputs } = stream.stats;
  assert.deepEqual({ emitted, pending, outputs }, {
    emitted: 2,
    pending: 1,
    outputs: 2,
  });
});

test("AsyncIOTransformStream's state entries are the inputs themselves, so a change by fn after the barrier shows in a state kept as it is", async () => {
  const input = { id: 1, tries: 0 };
  const started = deferred();
  const release = deferred();
  const states: AsyncIOState<typeof input>[] = [];
  const stream = new AsyncIOTransformStream<
    typeof input,
    number,
    CheckpointBarrier
  >(
    async (event) => {
      started.resolve();
      await release.promise;
      event.tries++; // fn changes its input after the barrier
      return event.id;
    },
    { onCheckpoint: (state) => void states.push(state) },
  );
  const writer = stream.writable.getWriter();
  const output = Array.fromAsync(stream.readable);
  void writer.write(input);
  await started.promise;
  const snapshot = stream.snapshot();
  await writer.write(new CheckpointBarrier(1));
  const kept = states[0]!.entries[0]!;
  assert.ok(kept.kind === "record" && kept.input === input, "not a copy");
  const first = snapshot.entries[0]!;
  assert.ok(first.kind === "record" && first.input === input, "not a copy");
  release.resolve();
  await writer.close();
  assert.deepEqual(await output, [new CheckpointBarrier(1), 1]);
  assert.equal(kept.input.tries, 1, "the kept state changed with the input");
});

test("AsyncIOTransformStream() reads a watermark's timestamp once, when it is written, and never in snapshot() or on emission", async () => {
  let reads = 0;
  const watermark = new Proxy(new Watermark(5), {
    get(target, property, receiver) {
      if (property === "timestamp") reads++;
      return Reflect.get(target, property, receiver);
    },
  });
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream<number, number, Watermark>(fn, {
    order: "unordered",
  });
  const writer = stream.writable.getWriter();
  const output = Array.fromAsync(stream.readable);
  void writer.write(1);
  void writer.write(watermark);
  await callsReach(1);
  await settle();
  assert.equal(reads, 1, "read when written");
  assert.deepEqual(records(stream.snapshot()), [1, "w5"]);
  assert.deepEqual(records(stream.snapshot()), [1, "w5"]);
  calls[0]!.resolve(10);
  await writer.close();
  const chunks = await output;
  assert.equal(chunks.length, 2);
  assert.equal(chunks[1], watermark, "the watermark itself comes out");
  assert.equal(reads, 1, "no read by snapshot() or the emission");
});

test("AsyncIOTransformStream() takes a writer.write() from inside a timeout handler at once: its call starts before the handler returns", async () => {
  const started: number[] = [];
  let startedInside: number[] | undefined;
  const stream = new AsyncIOTransformStream<number, number>(
    (n) => {
      started.push(n);
      return n === 1 ? new Promise<number>(() => {}) : n * 10;
    },
    {
      timeout: 20,
      onTimeout: (_input, result) => {
        void writer.write(2);
        startedInside = [...started];
        result.complete([-1]);
      },
    },
  );
  const writer = stream.writable.getWriter();
  const output = Array.fromAsync(stream.readable);
  await writer.write(1);
  // Let the timeout fire, with no write of ours pending meanwhile.
  await settle(100);
  assert.deepEqual(startedInside, [1, 2]);
  await writer.close();
  assert.deepEqual(await output, [-1, 20]);
});

test("AsyncIOTransformStream() calls an object's methods on it (asyncInvoke, timeout, open, close), onTimeout with no this, and a limit's update on the limit", async () => {
  const thisOf = new Map<string, unknown>();
  class Lookup implements AsyncFunction<number, number> {
    open() {
      thisOf.set("open", this);
    }
    asyncInvoke(n: number, result: ResultFuture<number>) {
      thisOf.set("asyncInvoke", this);
      if (n !== 2) result.complete([n]); // 2 waits for its timeout
    }
    timeout(_n: number, result: ResultFuture<number>) {
      thisOf.set("timeout", this);
      result.complete([-2]);
    }
    close() {
      thisOf.set("close", this);
    }
  }
  const lookup = new Lookup();
  assert.deepEqual(
    await Array.fromAsync(
      ReadableStream.from([1, 2, 3]).pipeThrough(
        new AsyncIOTransformStream(lookup, { timeout: 20 }),
      ),
    ),
    [1, -2, 3],
  );
  for (const method of ["open", "asyncInvoke", "timeout", "close"]) {
    assert.equal(thisOf.get(method), lookup, method);
  }

  const timedOut = await Array.fromAsync(
    ReadableStream.from([1]).pipeThrough(
      new AsyncIOTransformStream((_: number) => new Promise<number>(() => {}), {
        timeout: 20,
        onTimeout: function (this: unknown, n, result) {
          thisOf.set("onTimeout", this);
          result.complete([n]);
        },
      }),
    ),
  );
  assert.deepEqual(timedOut, [1]);
  assert.ok(thisOf.has("onTimeout"));
  assert.equal(thisOf.get("onTimeout"), undefined, "onTimeout");

  const limit: ConcurrencyLimit = {
    limit: 4,
    update(this: unknown) {
      thisOf.set("update", this);
    },
  };
  // A window closes once it spans 1 s and holds 10 calls: the 11th call
  // ends after a second and closes it.
  const output = await Array.fromAsync(
    ReadableStream.from([...Array(11).keys()]).pipeThrough(
      new AsyncIOTransformStream(
        (n: number) =>
          n < 10
            ? n
            : new Promise<number>((r) => setTimeout(() => r(n), 1_100)),
        { capacity: 4, concurrency: limit },
      ),
    ),
  );
  assert.equal(output.length, 11);
  assert.ok(thisOf.has("update"), "a window closed");
  assert.equal(thisOf.get("update"), limit, "update");
});

test("mapAsync() whose limit's bind throws closes a sync iterable's iterator with return()", () => {
  let returned = 0;
  let read = 0;
  const source: Iterable<number> = {
    [Symbol.iterator]: () => ({
      next: () => {
        read++;
        return { done: false, value: read };
      },
      return: () => {
        returned++;
        return { done: true, value: undefined };
      },
    }),
  };
  const failure = new Error("cannot bind");
  const limit: ConcurrencyLimit = {
    limit: 1,
    update() {},
    bind() {
      throw failure;
    },
  };
  assert.throws(
    () => mapAsync(source, identity, { concurrency: limit }),
    failure,
  );
  assert.deepEqual({ read, returned }, { read: 0, returned: 1 });
});

for (
  const [how, hostile] of Object.entries({
    "own then() throws": (error: Error) =>
      Object.defineProperty(Promise.resolve(), "then", {
        value() {
          throw error;
        },
      }),
    "constructor getter throws": (error: Error) =>
      Object.defineProperty(Promise.resolve(), "constructor", {
        get() {
          throw error;
        },
      }),
  })
) {
  test(`AsyncIOTransformStream() that ends normally fails with the error of close() returning a native promise whose ${how}`, async () => {
    const error = new Error(how);
    let closes = 0;
    const stream = new AsyncIOTransformStream<number, number>({
      asyncInvoke: (n, result) => result.complete([n]),
      close: () => {
        closes++;
        return hostile(error);
      },
    });
    await assert.rejects(
      Array.fromAsync(ReadableStream.from([1, 2]).pipeThrough(stream)),
      (reason: unknown) => reason === error,
    );
    assert.equal(closes, 1);
  });
}
