// Review of today's engine changes (the retry deadline check, stats of
// restored records, strategy checks): each test here failed on the code
// before its fix, or pins a case that held. Its marker instanceof test,
// which needs a second copy of src/, is in foreign_marker_test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AsyncIOState,
  AsyncIOTransformStream,
  type CallContext,
  mapAsync,
  orderedWait,
  type ResultFuture,
  unorderedWait,
  type Watermark,
} from "../mod.ts";
import { withClock } from "./_clock.ts";
import { deferred, settle } from "./_deferred.ts";

const record = <I>(input: I) => ({ kind: "record", input }) as const;

test("AsyncIOTransformStream() never calls a batch function with no input when a retry's budget runs out between the slot's check and the call's start, and keeps its call slot free", async () => {
  // The clock reads on time until the retry's check for a slot, and past
  // every deadline from the read after it: the budget runs out between the
  // dispatcher's check and the call's own.
  let reads = 0;
  let stepAfter = Infinity;
  await withClock((realNow) => {
    reads++;
    return realNow() + (reads > stepAfter ? 10_000 : 0);
  }, async () => {
    const batches: number[][] = [];
    const fn = async (inputs: number[], { attempt }: CallContext) => {
      batches.push(inputs);
      if (inputs[0] === 1 && attempt === 1) {
        // Past the deadline's stamp, well before its timer.
        await new Promise((resolve) => setTimeout(resolve, 30));
        stepAfter = reads + 1;
        throw new Error("attempt 1");
      }
      return inputs.map((n) => n * 10);
    };
    const stream = new AsyncIOTransformStream<number, number, never, "settle">(
      fn,
      {
        timeout: 200,
        concurrency: 1,
        retry: { maxAttempts: 5, delay: 0 },
        onError: "settle",
        batch: { maxSize: 1, maxWait: 0 },
      },
    );
    const writer = stream.writable.getWriter();
    const reader = stream.readable.getReader();
    void writer.write(1);
    const first = await reader.read();
    assert.equal(
      (first.value as { reason: DOMException }).reason.name,
      "TimeoutError",
    );
    // The retry started no call, and so holds no call slot.
    assert.deepEqual(batches, [[1]]);
    assert.equal(stream.stats.batches, 1);
    // The call slot is free: the next input's call starts and returns.
    void writer.write(2);
    const second = await reader.read();
    assert.deepEqual(second.value, {
      status: "fulfilled",
      input: 2,
      value: 20,
    });
    assert.deepEqual(batches, [[1], [2]]);
    assert.equal(stream.stats.batches, 2);
    void writer.close();
    assert.equal((await reader.read()).done, true);
  });
});

test("AsyncIOTransformStream.snapshot() and stats keep a restored record whose turn came as the stream stopped", async () => {
  const restore: AsyncIOState<number> = {
    version: 1,
    entries: [record(1), record(2), record(3)],
  };
  const stopper = new AbortController();
  const stream = new AsyncIOTransformStream((n: number) => n, {
    restore,
    capacity: 1,
    signal: stopper.signal,
  });
  const reader = stream.readable.getReader();
  // Record 1's result fills the readable; record 2 waits for a read.
  while (stream.stats.emitted < 1) await settle();
  assert.deepEqual(stream.snapshot().entries, [record(2), record(3)]);
  // The read pulls, which lets record 2 in from a microtask; the stop
  // comes first.
  const read = reader.read();
  stopper.abort(new Error("stopped"));
  assert.equal((await read).value, 1);
  await settle();
  assert.deepEqual(stream.snapshot().entries, [record(2), record(3)]);
  const stats = stream.stats;
  assert.equal(stats.accepted, 3);
  assert.equal(stats.pending, 2);
});

test("mapAsync() snapshot() and stats keep a restored record whose turn came as the iteration stopped", async () => {
  const restore: AsyncIOState<number> = {
    version: 1,
    entries: [record(1), record(2), record(3)],
  };
  const iterator = mapAsync<number, number>([], (n: number) => n, {
    restore,
    capacity: 1,
  });
  assert.deepEqual(await iterator.next(), { done: false, value: 1 });
  // Record 2's result waits in the buffer, so record 3 waits for a next().
  await settle();
  assert.deepEqual(iterator.snapshot().entries, [record(2), record(3)]);
  const next = iterator.next(); // pulls: record 3 comes in from a microtask
  await iterator.return();
  assert.deepEqual(await next, { done: false, value: 2 });
  await settle();
  assert.deepEqual(iterator.snapshot().entries, [record(3)]);
  assert.equal(iterator.stats.pending, 1);
});

/**
 * A stream whose input 1 fails its first attempt past the deadline's stamp,
 * with the clock then moved past its total timeout: its retry is due at
 * once, before the deadline's own timer fires.
 */
function lateRetryStream(
  batched: boolean,
  options: Record<string, unknown>,
  onAttempt: () => void = () => {},
) {
  let ahead = 0;
  const attempts: number[] = [];
  const fail = async (inputs: number[], attempt: number) => {
    attempts.push(attempt);
    onAttempt();
    if (inputs[0] !== 1) return inputs;
    await new Promise((resolve) => setTimeout(resolve, 30));
    ahead = 10_000;
    throw new Error(`attempt ${attempt}`);
  };
  const all = {
    timeout: 1000,
    retry: { maxAttempts: 5, delay: 0 },
    ...options,
  };
  const stream = batched
    ? new AsyncIOTransformStream<number, number>(
      (inputs: number[], { attempt }: CallContext) => fail(inputs, attempt),
      { ...all, batch: { maxSize: 1, maxWait: 0 } } as never,
    )
    : new AsyncIOTransformStream<number, number>(
      async (input: number, { attempt }: CallContext) =>
        (await fail([input], attempt))[0]!,
      all as never,
    );
  return { stream, attempts, ahead: () => ahead };
}

for (const batched of [false, true]) {
  const form = batched ? ", batched" : "";
  test(`AsyncIOTransformStream() gives a retry skipped for its spent budget to onTimeout, whose fallback comes out${form}`, async () => {
    let clock = () => 0;
    await withClock((realNow) => realNow() + clock(), async () => {
      const { stream, attempts, ahead } = lateRetryStream(batched, {
        timeout: 200,
        onTimeout: (n: number, result: ResultFuture<number>) =>
          result.complete([n * 100]),
      });
      clock = ahead;
      const output = await Array.fromAsync(
        ReadableStream.from([1]).pipeThrough(stream),
      );
      assert.deepEqual(output, [100]);
      assert.deepEqual(attempts, [1]);
      assert.equal(stream.stats.timedOut, 1);
      assert.equal(stream.stats.retries, 0);
      assert.equal(stream.stats.inFlight, 0);
    });
  });

  for (const stop of ["cancel", "abort", "signal"] as const) {
    test(`AsyncIOTransformStream() stopped (${stop}) while a retry skipped for its spent budget waits for its timeout keeps the input in snapshot() and stats${form}`, async () => {
      let clock = () => 0;
      await withClock((realNow) => realNow() + clock(), async () => {
        const stopper = new AbortController();
        const { stream, attempts, ahead } = lateRetryStream(batched, {
          signal: stopper.signal,
        });
        clock = ahead;
        const writer = stream.writable.getWriter();
        const reader = stream.readable.getReader();
        void writer.write(1).catch(() => {});
        while (clock() === 0) await settle(5);
        await settle(5); // the retry was due, and was not started
        assert.deepEqual(attempts, [1]);
        assert.equal(stream.stats.inFlight, 0);
        if (stop === "cancel") await reader.cancel("stopped");
        else if (stop === "abort") await writer.abort("stopped");
        else stopper.abort("stopped");
        await settle();
        assert.deepEqual(stream.snapshot().entries, [record(1)]);
        assert.equal(stream.stats.pending, 1);
        assert.equal(stream.stats.timedOut, 0);
        assert.deepEqual(attempts, [1]);
      });
    });
  }
}

test("AsyncIOTransformStream() in key-ordered mode passes the key on once a retry skipped for its spent budget times out", async () => {
  let clock = () => 0;
  await withClock((realNow) => realNow() + clock(), async () => {
    const { stream, attempts, ahead } = lateRetryStream(false, {
      order: "key-ordered",
      key: () => "one key",
      timeout: 200,
      onError: "settle",
    });
    clock = ahead;
    const output = await Array.fromAsync(
      ReadableStream.from([1, 2]).pipeThrough(stream),
    );
    assert.equal(
      (output[0] as unknown as { status: string }).status,
      "rejected",
    );
    assert.deepEqual(output[1], { status: "fulfilled", input: 2, value: 2 });
    assert.deepEqual(attempts, [1, 1]);
  });
});

test("AsyncIOTransformStream() and mapAsync() count restored records in stats as their snapshots hold them when stopped during open()", async () => {
  const restore: AsyncIOState<number> = {
    version: 1,
    entries: [record(1), { kind: "watermark", timestamp: 3 }, record(2)],
  };
  const opened = deferred();
  const stopper = new AbortController();
  const asyncFunction = {
    open: () => opened.promise,
    asyncInvoke: (n: number, result: ResultFuture<number>) =>
      result.complete([n]),
  };
  const stream = new AsyncIOTransformStream<number, number, Watermark>(
    asyncFunction,
    { restore, signal: stopper.signal },
  );
  const mapped = mapAsync<number, number, Watermark>([5], asyncFunction, {
    restore,
  });
  const next = mapped.next();
  await settle();
  stopper.abort(new Error("stopped"));
  await mapped.return();
  opened.resolve();
  assert.deepEqual(await next, { done: true, value: undefined });
  await settle();
  for (const each of [stream, mapped]) {
    assert.deepEqual(each.snapshot().entries, restore.entries);
    assert.equal(each.stats.accepted, 2);
    assert.equal(each.stats.pending, 2);
  }
});

test("AsyncIOTransformStream(), orderedWait() and unorderedWait() take strategies of any shape the platform takes, reading each member once", async () => {
  let reads = 0;
  class Counted {
    get highWaterMark() {
      reads++;
      return 2;
    }
  }
  const strategies: QueuingStrategy<number>[] = [
    new CountQueuingStrategy({ highWaterMark: 2 }),
    new Counted(),
    Object.assign(() => {}, { highWaterMark: 2 }),
    { highWaterMark: -0 },
  ];
  const makers = [
    (options: object) => new AsyncIOTransformStream((n: number) => n, options),
    (options: object) => orderedWait((n: number) => n, options),
    (options: object) => unorderedWait((n: number) => n, options),
  ];
  for (const strategy of strategies) {
    for (const make of makers) {
      reads = 0;
      const stream = make({ readableStrategy: strategy });
      const output = await Array.fromAsync(
        ReadableStream.from([1, 2, 3]).pipeThrough(stream),
      );
      assert.deepEqual(output.sort(), [1, 2, 3]);
      if (strategy instanceof Counted) assert.equal(reads, 1);
    }
  }
  const bytes = new AsyncIOTransformStream<Uint8Array, Uint8Array>(
    (chunk) => chunk,
    {
      readableStrategy: new ByteLengthQueuingStrategy({ highWaterMark: 8 }),
      writableStrategy: new ByteLengthQueuingStrategy({ highWaterMark: 8 }),
    },
  );
  const chunks = [new Uint8Array(4), new Uint8Array(20)];
  assert.deepEqual(
    await Array.fromAsync(ReadableStream.from(chunks).pipeThrough(bytes)),
    chunks,
  );
  for (const make of makers.slice(1)) {
    assert.throws(
      () => make({ writableStrategy: { highWaterMark: -1 } }),
      new RangeError(
        "Cannot construct AsyncIOTransformStream as writableStrategy.highWaterMark must be a non-negative number: current value is -1",
      ),
    );
  }
});
