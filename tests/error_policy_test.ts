import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AsyncFunction,
  AsyncIOTransformStream,
  CheckpointBarrier,
  type ErrorHandler,
  type OutputOrder,
  type Settled,
} from "../mod.ts";
import { collect, controlledFn, deferred, settle } from "./_deferred.ts";
import { readAll } from "./_read_all.ts";

const ORDERS: OutputOrder[] = ["ordered", "unordered", "key-ordered"];
const INPUTS = [1, 2, 3, 4, 5];
const BAD = 3;
const boom = new Error("boom");

/** Input BAD fails; the others give `n * 10` (and, in the object form, `-n`). */
const forms = {
  function: (n: number) =>
    new Promise<number>((resolve, reject) =>
      setTimeout(() => n === BAD ? reject(boom) : resolve(n * 10), 6 - n)
    ),
  object: {
    asyncInvoke(n, result) {
      setTimeout(() => {
        if (n === BAD) result.completeExceptionally(boom);
        else result.complete([n * 10, -n]);
      }, 6 - n);
    },
  } satisfies AsyncFunction<number, number>,
};

const byInput = <T>(records: T[], input: (record: T) => number) =>
  [...records].sort((a, b) => input(a) - input(b));

for (const order of ORDERS) {
  const options = { order, key: (n: number) => n % 2 };
  for (const [form, fn] of Object.entries(forms)) {
    test(`onError: "fail" errors the stream with the input's error (${order}, ${form} form)`, async () => {
      const stream = new AsyncIOTransformStream(fn, options);
      await assert.rejects(
        readAll(ReadableStream.from(INPUTS).pipeThrough(stream)),
        (error) => error === boom,
      );
      assert.equal(stream.stats.failed, 1);
    });

    test(`onError: "settle" gives one record per input, each output wrapped (${order}, ${form} form)`, async () => {
      const stream = new AsyncIOTransformStream(fn, {
        ...options,
        onError: "settle",
      });
      const records: Settled<number, number>[] = await readAll(
        ReadableStream.from(INPUTS).pipeThrough(stream),
      );
      const expected = INPUTS.flatMap((input): Settled<number, number>[] =>
        input === BAD
          ? [{ status: "rejected" as const, input, reason: boom }]
          : (form === "function" ? [input * 10] : [input * 10, -input]).map(
            (value) => ({ status: "fulfilled" as const, input, value }),
          )
      );
      if (order === "ordered") assert.deepEqual(records, expected);
      else {
        const key = (record: Settled<number, number>) =>
          record.input * 100 +
          (record.status === "fulfilled" ? record.value : 0);
        assert.deepEqual(byInput(records, key), byInput(expected, key));
      }
      assert.equal(stream.stats.emitted, INPUTS.length);
      assert.equal(stream.stats.failed, 1);
      assert.deepEqual(stream.snapshot().entries, []);
    });

    test(`onError: a handler's outputs replace the failed input's (${order}, ${form} form)`, async () => {
      const seen: [unknown, number][] = [];
      const stream = new AsyncIOTransformStream(fn, {
        ...options,
        onError: (error, input) => {
          seen.push([error, input]);
          return [input * -100];
        },
      });
      const outputs = await readAll(
        ReadableStream.from(INPUTS).pipeThrough(stream),
      );
      const expected = INPUTS.flatMap((input) =>
        input === BAD
          ? [-300]
          : form === "function"
          ? [input * 10]
          : [input * 10, -input]
      );
      if (order === "ordered") assert.deepEqual(outputs, expected);
      else {
        assert.deepEqual(
          [...outputs].sort((a, b) => a - b),
          [...expected].sort((a, b) => a - b),
        );
      }
      assert.deepEqual(seen, [[boom, BAD]]);
    });

    test(`onError: a handler that returns nothing drops the input (${order}, ${form} form)`, async () => {
      const stream = new AsyncIOTransformStream(fn, {
        ...options,
        onError: () => {},
      });
      const outputs = await readAll(
        ReadableStream.from(INPUTS).pipeThrough(stream),
      );
      assert.equal(
        outputs.length,
        form === "function" ? INPUTS.length - 1 : 2 * (INPUTS.length - 1),
      );
      assert.ok(!outputs.includes(BAD * 10));
      assert.equal(stream.stats.emitted, INPUTS.length, "it counts as emitted");
    });
  }
}

test("onError: the policy sees an input only after its retries are spent", async () => {
  let calls = 0;
  const errors: unknown[] = [];
  const stream = new AsyncIOTransformStream(
    (n: number) => {
      if (n === BAD) calls++;
      return n === BAD ? Promise.reject(boom) : n;
    },
    {
      retry: { maxAttempts: 3 },
      onError: (error) => void errors.push(error),
    },
  );
  const outputs = await readAll(
    ReadableStream.from(INPUTS).pipeThrough(stream),
  );
  assert.deepEqual(outputs, [1, 2, 4, 5]);
  assert.equal(calls, 3);
  assert.deepEqual(errors, [boom]);
  assert.equal(stream.stats.failedAttempts, 3);
  assert.equal(stream.stats.failed, 1);
});

test("onError: a timeout without a fallback reaches the policy as a TimeoutError", async () => {
  const errors: unknown[] = [];
  const stream = new AsyncIOTransformStream(
    (n: number, { signal }) =>
      n === BAD
        ? new Promise<number>((_, reject) =>
          signal.addEventListener("abort", () => reject(signal.reason))
        )
        : n,
    { timeout: 20, onError: (error) => void errors.push(error) },
  );
  const outputs = await readAll(
    ReadableStream.from(INPUTS).pipeThrough(stream),
  );
  assert.deepEqual(outputs, [1, 2, 4, 5]);
  assert.equal(errors.length, 1);
  assert.equal((errors[0] as DOMException).name, "TimeoutError");
});

test("onError: a timeout with an onTimeout fallback never reaches the policy", async () => {
  let handled = 0;
  const stream = new AsyncIOTransformStream(
    (n: number) => n === BAD ? new Promise<number>(() => {}) : n,
    {
      timeout: 20,
      onTimeout: (n, result) => result.complete([-n]),
      onError: () => void handled++,
    },
  );
  const outputs = await readAll(
    ReadableStream.from(INPUTS).pipeThrough(stream),
  );
  assert.deepEqual(outputs, [1, 2, -3, 4, 5]);
  assert.equal(handled, 0);
});

test("onError: a handler that throws or rejects fails the stream with that error", async () => {
  const thrown = new Error("handler bug");
  for (
    const onError of [
      () => {
        throw thrown;
      },
      () => Promise.reject(thrown),
    ] as ErrorHandler<number, number>[]
  ) {
    const stream = new AsyncIOTransformStream(
      (n: number) => n === BAD ? Promise.reject(boom) : n,
      { onError },
    );
    await assert.rejects(
      readAll(ReadableStream.from(INPUTS).pipeThrough(stream)),
      (error) => error === thrown,
    );
    // The failed input stays, with any accepted after it.
    const held = stream.snapshot().entries.map((entry) =>
      entry.kind === "record" && entry.input
    );
    assert.deepEqual(held, [3, 4, 5].slice(0, held.length));
    assert.ok(held.length >= 1);
  }
});

test("onError: an async handler holds the input's place in ordered output", async () => {
  const recovery = deferred<number[]>();
  const stream = new AsyncIOTransformStream(
    (n: number) => n === BAD ? Promise.reject(boom) : n,
    { onError: () => recovery.promise },
  );
  const { chunks, done } = collect(
    ReadableStream.from(INPUTS).pipeThrough(stream),
  );
  await settle(10);
  assert.deepEqual(chunks, [1, 2]);
  assert.deepEqual(
    stream.snapshot().entries.map((e) => e.kind === "record" && e.input),
    [3, 4, 5],
  );
  recovery.resolve([33]);
  await done;
  assert.deepEqual(chunks, [1, 2, 33, 4, 5]);
});

test("onError: a stop aborts a pending handler's signal and drops its late result", async () => {
  const recovery = deferred<number[]>();
  let handlerSignal: AbortSignal | undefined;
  const stream = new AsyncIOTransformStream(
    (n: number) => Promise.reject(n),
    {
      onError: (_, __, { signal }) => {
        handlerSignal = signal;
        return recovery.promise;
      },
    },
  );
  const reader = stream.readable.getReader();
  const writer = stream.writable.getWriter();
  await writer.write(1);
  await settle();
  assert.ok(handlerSignal !== undefined && !handlerSignal.aborted);
  await reader.cancel("stop");
  assert.equal(handlerSignal.aborted, true);
  assert.equal(handlerSignal.reason, "stop");
  recovery.resolve([10]);
  await settle();
  assert.equal(stream.stats.emitted, 0);
  assert.deepEqual(stream.snapshot().entries, [{ kind: "record", input: 1 }]);
});

test("onError: a stop is never routed to the policy", async () => {
  const { fn, callsReach } = controlledFn<number, number>();
  let handled = 0;
  const stream = new AsyncIOTransformStream(fn, {
    onError: () => void handled++,
  });
  const reader = stream.readable.getReader();
  const writer = stream.writable.getWriter();
  for (const n of [1, 2]) await writer.write(n);
  await callsReach(2);
  await reader.cancel(new Error("consumer gone"));
  await settle();
  assert.equal(handled, 0);
  assert.equal(stream.stats.failed, 0);
});

test("onError: a checkpoint after a recovered input does not replay it", async () => {
  const states: unknown[] = [];
  const stream = new AsyncIOTransformStream<number, number, CheckpointBarrier>(
    (n: number) => n === BAD ? Promise.reject(boom) : n,
    {
      onError: (_, input) => [-input],
      onCheckpoint: (state) => void states.push(state),
    },
  );
  const outputs = await readAll(
    ReadableStream.from<number | CheckpointBarrier>([
      ...INPUTS,
      new CheckpointBarrier(1),
    ]).pipeThrough(stream),
  );
  assert.deepEqual(outputs.filter((chunk) => typeof chunk === "number"), [
    1,
    2,
    -3,
    4,
    5,
  ]);
  // Restoring the checkpoint taken after the recovery replays nothing.
  assert.deepEqual(states, [{ version: 1, entries: [] }]);
});

test("onError: a restored input that fails again is recovered like any other", async () => {
  const stream = new AsyncIOTransformStream(
    (n: number) => n === BAD ? Promise.reject(boom) : n,
    {
      onError: (_, input) => [-input],
      restore: {
        version: 1,
        entries: [{ kind: "record", input: 2 }, { kind: "record", input: 3 }],
      },
    },
  );
  const outputs = await readAll(ReadableStream.from([4]).pipeThrough(stream));
  assert.deepEqual(outputs, [2, -3, 4]);
});

test("onError: an invalid policy is a TypeError at construction", () => {
  assert.throws(
    () => new AsyncIOTransformStream((n: number) => n, { onError: 5 as never }),
    {
      name: "TypeError",
      message:
        'Cannot construct AsyncIOTransformStream as onError must be "fail", "settle" or a function: current value is 5',
    },
  );
});
