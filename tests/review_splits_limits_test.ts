// Review of the splits after be094dc, continued from review_splits_test.ts:
// the adaptive limit's samples and the order of option checks, pinned to
// what be094dc did. Each passes on be094dc and on main, and each fails
// under a mutation of the code it covers.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AsyncIOTransformStream,
  type ConcurrencyLimit,
  type ConcurrencySample,
  mapAsync,
} from "../mod.ts";
import { redisWorker } from "../src/redis.ts";
import { collect, controlledFn, deferred, settle } from "./_deferred.ts";
import { until } from "./_within.ts";

/** A limit that stays put and records its samples. */
class Recording implements ConcurrencyLimit {
  readonly limit: number;
  readonly samples: ConcurrencySample[] = [];
  constructor(limit: number) {
    this.limit = limit;
  }
  update(sample: ConcurrencySample): void {
    this.samples.push(sample);
  }
}

test("An adaptive limit samples inFlight as the calls in flight at a call's start, itself included", async () => {
  const limit = new Recording(3);
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const stream = new AsyncIOTransformStream(fn, {
    capacity: 20,
    concurrency: limit,
  });
  const { stop } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  for (let n = 0; n < 12; n++) void writer.write(n).catch(() => {});
  // The window opens at its first sample and closes at its 10th, >= 1 s on.
  for (let i = 0; i < 9; i++) {
    await callsReach(i + 3);
    calls[i]!.resolve(i);
  }
  await callsReach(12);
  await settle(1_100);
  calls[9]!.resolve(9);
  await until(() => limit.samples.length === 1, "the window to close");
  assert.equal(limit.samples[0]!.inFlight, 3);
  assert.equal(limit.samples[0]!.calls, 10);
  await stop("done");
});

test("An adaptive limit samples a batch's inputs with the batch calls in flight at its start", async () => {
  const limit = new Recording(2);
  const pending: ReturnType<typeof deferred<number[]>>[] = [];
  const stream = new AsyncIOTransformStream(
    (inputs: number[]) => {
      const call = deferred<number[]>();
      pending.push(call);
      return call.promise.then(() => inputs);
    },
    { capacity: 40, concurrency: limit, batch: { maxSize: 2, maxWait: 1 } },
  );
  const { stop } = collect(stream.readable);
  const writer = stream.writable.getWriter();
  for (let n = 0; n < 24; n++) void writer.write(n).catch(() => {});
  await until(() => pending.length === 2, "two batch calls");
  pending[0]!.resolve([]); // its inputs' samples open the window
  await settle(1_100);
  // The window closes at its 10th sample, whatever sizes the batches took.
  for (let i = 1; limit.samples.length === 0; i++) {
    await until(() => pending.length > i, "the next batch call");
    pending[i]!.resolve([]);
    await settle();
  }
  assert.equal(limit.samples[0]!.inFlight, 2);
  await stop("done");
});

test("redisWorker() reports the first bad option in the same order as before the split", () => {
  const send = () => new Promise<never>(() => {});
  const good = {
    send,
    input: "in",
    output: "out",
    group: "g",
    consumer: "c",
    fn: (entry: unknown) => entry,
  };
  const cases: [Record<string, unknown>, string][] = [
    [{ input: "", fn: 1 }, "input must be a non-empty string"],
    [{ consumer: 1, blockingSend: 2 }, "consumer must be a non-empty string"],
    [{ blockingSend: 3, send: 1 }, "blockingSend must be a function"],
    [{ send: 2, onError: 1 }, "send must be a function"],
    [{ output: 2, fn: 1 }, "output must be a non-empty string"],
    [{ fn: null, onError: 5 }, 'onError must be "fail" or a function'],
    [{ fn: 1, onError: 5 }, 'onError must be "fail" or a function'],
    [
      { capacity: 0, fn: 1 },
      "fn must be a function or an object with asyncInvoke",
    ],
  ];
  for (const [bad, message] of cases) {
    assert.throws(
      () => redisWorker({ ...good, ...bad } as never),
      (error: Error) =>
        error instanceof TypeError &&
        error.message.startsWith(`Cannot construct redisWorker as ${message}`),
      JSON.stringify(bad),
    );
  }
  assert.throws(() => redisWorker(null as never), {
    name: "TypeError",
    message:
      "Cannot construct redisWorker as options must be an object: current value is null",
  });
});

test("mapAsync() checks its source before its options, with the same message", () => {
  for (const source of [42, null, undefined, {}]) {
    assert.throws(
      () => mapAsync(source as never, (n: number) => n, { capacity: 0 }),
      (error: Error) =>
        error instanceof TypeError &&
        error.message.startsWith(
          "Cannot call mapAsync as source must be an AsyncIterable, an Iterable or a ReadableStream: current value is ",
        ),
    );
  }
  assert.throws(() => mapAsync([1], (n: number) => n, { capacity: 0 }), {
    name: "RangeError",
    message:
      "Cannot call mapAsync as capacity must be a positive integer: current value is 0",
  });
  // A ReadableStream is kind 0: it must not count as "no kind".
  const iterator = mapAsync(new ReadableStream<number>(), (n: number) => n);
  void iterator.return();
});
