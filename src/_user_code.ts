// Guards around values that user code hands back: a thenable may throw from
// `then` or call back twice, an iterable's iterator may throw, an error's
// `name` may be a throwing getter. None of that may reach the engine raw.
import { describe } from "./_describe.ts";

/** Where a followed result goes. */
export interface ResultTarget<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** A `TimeoutError`, such as `AbortSignal.timeout()` and ours abort with. */
export function isTimeout(error: unknown): boolean {
  if (error === null || typeof error !== "object") return false;
  try {
    return (error as { name?: unknown }).name === "TimeoutError";
  } catch {
    return false; // a throwing `name` getter
  }
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  if (value === null) return false;
  if (typeof value !== "object" && typeof value !== "function") return false;
  try {
    return value instanceof Promise ||
      typeof (value as { then?: unknown }).then === "function";
  } catch {
    // A throwing `then` getter, or a revoked Proxy, whose prototype cannot
    // be read: Promise.resolve rejects with what it throws.
    return true;
  }
}

/**
 * Whether `value` passes as an `options.signal`: `instanceof`, which a Proxy
 * of a signal passes too, and which throws for a revoked Proxy (not one).
 */
export function isAbortSignal(value: unknown): value is AbortSignal {
  try {
    return value instanceof AbortSignal;
  } catch {
    return false;
  }
}

/** A `String` wrapper's value, by the brand check of `String.prototype.valueOf`. */
function stringObjectValue(value: unknown): string | undefined {
  if (value === null || typeof value !== "object") return undefined;
  try {
    return String.prototype.valueOf.call(value);
  } catch {
    return undefined; // no [[StringData]], whatever its toStringTag claims
  }
}

/**
 * An iterable's values, copied: the caller may change its array later, and
 * its getters may throw. Throws what they or its iterator throw, or a
 * TypeError for something that is not iterable.
 */
export function toArray(results: unknown): unknown[] {
  // A string is iterable, but emitting it a character at a time is never
  // what was meant: `complete("ab")` forgot the brackets of `["ab"]`. A
  // `new String("ab")` is the same mistake.
  const wrapped = stringObjectValue(results);
  if (typeof results === "string" || wrapped !== undefined) {
    throw new TypeError(
      `Cannot complete the element as results must be an iterable of outputs, not a string (wrap one output as [value]): current value is ${
        wrapped === undefined
          ? describe(results)
          : `new String(${describe(wrapped)})`
      }`,
    );
  }
  if (
    results === null || results === undefined ||
    typeof (results as { [Symbol.iterator]?: unknown })[Symbol.iterator] !==
      "function"
  ) {
    throw new TypeError(
      `Cannot complete the element as results must be iterable: current value is ${
        describe(results)
      }`,
    );
  }
  return Array.from(results as Iterable<unknown>);
}

/**
 * Wires what user code returned to `target`. A thenable that is not a native
 * promise is adopted by `Promise.resolve`, so a `then` that throws or calls
 * back twice cannot reach the engine unguarded. Without `single`, only a
 * rejection counts: the object form completes through its future.
 */
export function followResult<T>(
  returned: unknown,
  target: ResultTarget<T>,
  single: boolean,
): void {
  if (!isThenable(returned)) {
    if (single) target.resolve(returned as T);
    return;
  }
  try {
    const promise = returned instanceof Promise
      ? returned
      : Promise.resolve(returned);
    promise.then(
      single ? (value) => target.resolve(value as T) : undefined,
      (error) => target.reject(error),
    );
  } catch (error) {
    // A native promise whose own `then` was replaced by one that throws, or
    // a revoked Proxy, whose `instanceof` throws.
    target.reject(error);
  }
}

/**
 * What user code returned, as a promise of our own. `Promise.resolve` hands
 * a native promise back as it is, so a `then` of its own, or a throwing
 * `constructor` getter, would run or throw on our stack; resolving a new
 * promise with it reads `then` once and calls it from a job, where a throw
 * rejects.
 */
export function adopt(returned: unknown): Promise<unknown> {
  return new Promise((resolve) => resolve(returned));
}
