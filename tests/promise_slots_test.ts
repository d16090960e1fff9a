// Plain calls' promises are followed through reused pairs of handlers: a pair
// must never serve a second call while its first call's promise is pending.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mapAsync } from "../mod.ts";
import { PromiseSlots } from "../src/_promise_slots.ts";
import { controlledFn, deferred, settle } from "./_deferred.ts";
import { until } from "./_within.ts";

function recorder() {
  const seen: string[] = [];
  const target = (name: string) => ({
    resolve: (value: unknown) => void seen.push(`${name} ${value}`),
    reject: (error: unknown) => void seen.push(`${name} !${error}`),
  });
  return { seen, target };
}

test("PromiseSlots reuses a pair of handlers only once its promise settled", async () => {
  const slots = new PromiseSlots<number>();
  const { seen, target } = recorder();
  const pending = deferred<number>();
  slots.follow(pending.promise, target("a"));
  slots.follow(Promise.resolve(2), target("b"));
  await settle();
  slots.follow(Promise.reject(3), target("c")); // b's pair, free again
  await settle();
  pending.resolve(1);
  await settle();
  slots.follow(Promise.resolve(4), target("d"));
  slots.follow(Promise.resolve(5), target("e"));
  await settle();
  assert.deepEqual(seen, ["b 2", "c !3", "a 1", "d 4", "e 5"]);
});

test("PromiseSlots drops a pair whose then() threw, and follows the next promise", async () => {
  const slots = new PromiseSlots<number>();
  const { seen, target } = recorder();
  class Hostile<T> extends Promise<T> {
    static override get [Symbol.species](): PromiseConstructor {
      throw new Error("species");
    }
  }
  const hostile = Hostile.resolve(1) as Promise<number>;
  assert.equal(hostile.then, Promise.prototype.then); // the slot path
  assert.throws(() => slots.follow(hostile, target("a")), /species/);
  slots.follow(Promise.resolve(2), target("b"));
  await settle();
  assert.deepEqual(seen, ["b 2"]);
});

test("PromiseSlots follows a promise whose then was replaced through its own handlers, not a slot", async () => {
  const slots = new PromiseSlots<number>();
  const { seen, target } = recorder();
  const twice = Promise.resolve(1);
  // A replaced `then` may call back twice: a slot would serve another call.
  const then = Promise.prototype.then;
  twice.then = ((onFulfilled: (value: number) => void) => {
    then.call(twice, onFulfilled);
    return then.call(twice, onFulfilled);
  }) as typeof twice.then;
  slots.follow(twice, target("a"));
  const next = deferred<number>();
  slots.follow(next.promise, target("b"));
  await settle();
  next.resolve(2);
  await settle();
  assert.deepEqual(seen, ["a 1", "a 1", "b 2"]);
});

test("mapAsync() drops the late result of a timed-out call while later calls reuse the handlers of those that settled", async () => {
  const { fn, calls, callsReach } = controlledFn<number, number>();
  const iterator = mapAsync([1, 2, 3, 4, 5, 6, 7], fn, {
    order: "unordered",
    timeout: 30,
    capacity: 4,
    onTimeout: (n, result) => result.complete([-n]),
  });
  const outputs: number[] = [];
  const reading = (async () => {
    for await (const output of iterator) outputs.push(output);
  })();
  await callsReach(4);
  for (const n of [2, 3, 4]) calls[n - 1]!.resolve(n * 10);
  // 5 to 7 start on the handlers that 2 to 4 gave back, while 1 runs.
  await callsReach(7);
  for (const n of [5, 6, 7]) calls[n - 1]!.resolve(n * 10);
  await until(() => iterator.stats.timedOut === 1, "the first timeout");
  calls[0]!.resolve(10); // too late: must reach no other input
  await reading;
  assert.deepEqual(outputs, [20, 30, 40, 50, 60, 70, -1]);
  assert.equal(iterator.stats.timedOut, 1);
  assert.equal(iterator.stats.inFlight, 0);
});

test("mapAsync() gives each result to its own input when calls settle out of order many times over", async () => {
  const inputs = Array.from({ length: 200 }, (_, i) => i);
  const mapped = mapAsync(
    inputs,
    async (n: number) => {
      // Later inputs of each group of 7 settle first.
      for (let hop = 0; hop < 7 - (n % 7); hop++) await null;
      if (n === 150) throw new Error("150");
      return n * 2;
    },
    { capacity: 16, onError: "settle" },
  );
  const outputs: unknown[] = [];
  for await (const record of mapped) {
    outputs.push(
      record.status === "fulfilled" ? record.value : `!${record.input}`,
    );
  }
  assert.deepEqual(
    outputs,
    inputs.map((n) => n === 150 ? "!150" : n * 2),
  );
});
