// Test helpers: calls that the test resolves by hand, in any order it likes.
import type { CallContext } from "../mod.ts";

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** One recorded call of a {@linkcode controlledFn}. */
export interface Call<I, O> extends Deferred<O> {
  input: I;
  context: CallContext;
}

/**
 * A function-form `fn` whose calls stay pending until the test settles them
 * through `calls`. `started` resolves on each new call.
 */
export function controlledFn<I, O>() {
  const calls: Call<I, O>[] = [];
  let onCall: (() => void) | undefined;
  const fn = (input: I, context: CallContext): Promise<O> => {
    const call = { ...deferred<O>(), input, context };
    calls.push(call);
    onCall?.();
    return call.promise;
  };
  /** Resolves once `count` calls have been made in total. */
  const callsReach = async (count: number): Promise<void> => {
    while (calls.length < count) {
      const next = deferred();
      onCall = next.resolve;
      await next.promise;
    }
  };
  return { fn, calls, callsReach };
}

/** Lets pending promise reactions and one macrotask run. */
export function settle(ms = 0): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Reads everything from a readable into an array, as chunks arrive.
 * `stop(reason)` cancels the readable through the pipe, as a consumer would.
 */
export function collect<T>(readable: ReadableStream<T>) {
  const chunks: T[] = [];
  const controller = new AbortController();
  const done = readable.pipeTo(
    new WritableStream({ write: (chunk) => void chunks.push(chunk) }),
    { signal: controller.signal },
  );
  const stop = async (reason: unknown = "stopped") => {
    controller.abort(reason);
    await done.catch(() => {});
  };
  return { chunks, done, stop };
}
