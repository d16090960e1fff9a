// An adversarial review of mapAsync()'s input and output paths as changed on
// 2026-11-30 (e7d0439, 4f48d39: the ready()/offer() read loop; 4cdcea9: the
// shared frozen context; 9ebc84a: the ResultBuffer behind snapshot() and
// stats). Each test states what it shows; every one here, marked DEFECT,
// failed on the code it was written against (9ebc84a) and passes after the
// fixes that followed (eaacd28, and the two commits after it). The review's one
// passing guard, that no stop leaves a timer alive, spawns a child runtime,
// so it lives in map_async_no_leak_test.ts, which browsers skip.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mapAsync, type MapAsyncIterator } from "../mod.ts";
import { controlledFn, deferred, settle } from "./_deferred.ts";
import { within } from "./_within.ts";

/** Reads the iteration to its end; rejects with what next() rejects with. */
async function drain<T>(iterator: MapAsyncIterator<T, unknown>): Promise<T[]> {
  const values: T[] = [];
  for (let r = await iterator.next(); !r.done; r = await iterator.next()) {
    values.push(r.value);
  }
  return values;
}

const recordInputs = (iterator: MapAsyncIterator<unknown, unknown>) =>
  iterator.snapshot().entries.flatMap((entry) =>
    entry.kind === "record" ? [entry.input] : []
  );

function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

/** A sync iterator whose second result's `value` getter throws `error`. */
function throwingValueSource(error: Error): Iterable<number> {
  let reads = 0;
  return {
    [Symbol.iterator]: () => ({
      next: (): IteratorResult<number> =>
        ++reads === 1 ? { done: false, value: 1 } : {
          done: false,
          get value(): number {
            throw error;
          },
        },
    }),
  };
}

// DEFECT 1. The read loops (#fill, #fillAsync) read `result.value` and hand
// it to engine.offer() outside their try: offer() classifies the chunk with
// `instanceof CheckpointBarrier`, which throws for a revoked Proxy, and a
// result's `value` getter may throw. The throw escapes the loop: from the
// first loop (run by #pump) it is an unhandled rejection, from a loop that a
// waiter scheduled it is an uncaught error thrown from a microtask (which
// ends the process under Deno and Node), and in both cases the iteration
// never ends: next() stays pending for ever. The stream path fails with a
// TypeError for the same input, and `for await` rethrows a throwing `value`.
// Minimal: `await mapAsync([1, revokedProxy], (n) => n).next()` twice: the
// second next() never settles.
test("mapAsync() fails, and does not hang, when the source yields a revoked Proxy", async () => {
  for (const capacity of [10, 1]) {
    // capacity 1: the Proxy is read by a loop that a waiter scheduled, after
    // the first call completed; capacity 10: by the first loop.
    const { fn, calls, callsReach } = controlledFn<unknown, unknown>();
    const mapped = mapAsync([1, revokedProxy(), 3], fn, { capacity });
    const all = drain(mapped);
    await callsReach(1);
    calls[0]!.resolve(1);
    const outcome = await within(all, `the iteration (capacity ${capacity})`);
    assert.equal(
      outcome.ok,
      false,
      `capacity ${capacity}: ended without error`,
    );
    assert.ok(
      !outcome.ok && outcome.reason instanceof TypeError,
      `capacity ${capacity}: ${!outcome.ok && outcome.reason}`,
    );
    assert.equal(calls.length, 1, "called fn past the Proxy");
  }
});

// DEFECT 1, the same escape through a result whose `value` getter throws,
// from a sync and from an async source.
test("mapAsync() fails with the error of a source result whose value getter throws", async () => {
  for (const kind of ["sync", "async"] as const) {
    const error = new Error(`value getter of the ${kind} source`);
    const sync = throwingValueSource(error);
    const source: Iterable<number> | AsyncIterable<number> = kind === "sync"
      ? sync
      : {
        [Symbol.asyncIterator]: () => {
          const iterator = sync[Symbol.iterator]();
          return { next: () => Promise.resolve(iterator.next()) };
        },
      };
    const mapped = mapAsync(source, (n: number) => Promise.resolve(n));
    const outcome = await within(drain(mapped), `the ${kind} iteration`);
    assert.deepEqual(outcome, { ok: false, reason: error }, kind);
  }
});

// DEFECT 2. An input that a pending read of an async source delivers after
// the iteration stopped (return(), or a failed call) is read from the
// source, never handed out, and missing from every later snapshot():
// #fillAsync drops it (`if (this.#sourceDone) return`), and the engine would
// not keep it either (#admit ignores input once ended). The README promises
// that snapshot() holds every input read from the source and not yet handed
// out, and that after return() or a failure the inputs not handed out stay in
// it; an async generator's pending next() does yield that value before its
// queued return() runs, so resuming from the snapshot loses it. (A sync
// source whose next() calls return() and then returns a value loses it the
// same way.) A full fix also needs the caller to know when that read has
// landed: return() does not wait for it.
// Minimal: an async source whose third next() stays pending; return(); the
// pending next() resolves with 3; snapshot() holds [1, 2].
test("mapAsync() snapshot() holds an input that a pending async read delivers after return() or a failure", async () => {
  for (const stop of ["return", "failure"] as const) {
    const late = deferred<IteratorResult<number>>();
    let reads = 0;
    const source: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({
        next: () =>
          ++reads <= 2
            ? Promise.resolve({ done: false, value: reads })
            : late.promise,
        return: () => Promise.resolve({ done: true, value: undefined }),
      }),
    };
    const { fn, calls, callsReach } = controlledFn<number, number>();
    const mapped = mapAsync(source, fn, { capacity: 4 });
    const first = mapped.next();
    await callsReach(2);
    await settle();
    assert.equal(reads, 3, "the third read is pending");
    if (stop === "return") {
      await mapped.return();
    } else {
      calls[0]!.reject(new Error("lookup failed"));
    }
    await first.catch(() => {});
    late.resolve({ done: false, value: 3 });
    await settle();
    assert.deepEqual(recordInputs(mapped), [1, 2, 3], stop);
  }
});

// DEFECT 3. A stop that happens while a synchronous generator source runs
// (its body calls return() or throw(), aborts options.signal, or completes
// a call exceptionally) never returns the generator: #releaseSource calls
// its return() at once, which throws "already running" for a generator in
// its own next(); the throw is swallowed, #sourceDone is set, and nothing
// calls return() once next() has come back. The generator stays suspended
// at its yield, so its `finally` (closing a file, a cursor) never runs, where
// the README promises that return() and a failure call the source's
// return(). The test for return() from inside next() (258b49b) uses a plain
// iterator, whose return() works while next() runs. An async generator is
// not affected: its return() queues behind the running next().
// Minimal: function* g() { try { yield 1; void mapped.return(); yield 2 }
// finally { cleaned = true } }; cleaned stays false.
test("mapAsync() returns a generator source whose own next() stops the iteration", async () => {
  for (const stop of ["return", "throw", "signal"] as const) {
    let cleaned = false;
    const controller = new AbortController();
    const error = new Error("stopped from inside the source");
    const stopNow = () => {
      if (stop === "return") void mapped.return();
      else if (stop === "throw") mapped.throw(error).catch(() => {});
      else controller.abort(error);
    };
    const source = function* () {
      try {
        yield 1;
        stopNow();
        yield 2;
        yield 3;
      } finally {
        cleaned = true;
      }
    };
    const { fn } = controlledFn<number, number>();
    const mapped = mapAsync(source(), fn, {
      capacity: 10,
      signal: controller.signal,
    });
    await mapped.next().catch(() => {});
    await settle();
    assert.equal(cleaned, true, `${stop}: the generator's finally never ran`);
  }
});

// DEFECT 4 (older than today's changes, in the same read loops). A source
// whose next() returns a primitive (5, "x", true) is read as if it had
// returned { done: false, value: undefined }: `result.done` and
// `result.value` of a primitive are undefined, so mapAsync() calls fn with
// undefined for ever, where `for of` and `for await` throw "Iterator result 5
// is not an object" (a null or undefined result does fail, as reading
// `done` throws). Minimal: a sync iterator whose next() returns 5.
test("mapAsync() fails with a TypeError when the source's next() returns a primitive", async () => {
  for (const kind of ["sync", "async"] as const) {
    const next = () => 5 as unknown as IteratorResult<number>;
    const source: Iterable<number> | AsyncIterable<number> = kind === "sync"
      ? { [Symbol.iterator]: () => ({ next }) }
      : {
        [Symbol.asyncIterator]: () => ({
          next: () => Promise.resolve(next()),
        }),
      };
    const inputs: unknown[] = [];
    const mapped = mapAsync(source, (n: number) => {
      inputs.push(n);
      return n;
    });
    await assert.rejects(mapped.next(), TypeError, kind);
    await mapped.return();
    assert.deepEqual(inputs, [], `${kind}: called fn with what it made up`);
  }
});
