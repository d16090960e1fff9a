// Validation shared by the Redis entry point's functions.
import { describe } from "./_describe.ts";
import { MAX_TIMER_DELAY } from "./_timer.ts";

/** The message of a value that is not what `name` must be. */
function mustBe(where: string, name: string, what: string, value: unknown) {
  return `Cannot ${where} as ${name} must be ${what}: current value is ${
    describe(value)
  }`;
}

export function requireFunction(where: string, name: string, value: unknown) {
  if (typeof value !== "function") {
    throw new TypeError(mustBe(where, name, "a function", value));
  }
}

export function requireName(
  where: string,
  name: string,
  value: unknown,
): string {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(mustBe(where, name, "a non-empty string", value));
  }
  return value;
}

export function positiveInteger(
  where: string,
  name: string,
  value: unknown,
  fallback: number,
): number {
  return integerFrom(1, "a positive integer", where, name, value, fallback);
}

export function milliseconds(
  where: string,
  name: string,
  value: unknown,
  fallback: number,
): number {
  const what = "a non-negative integer of milliseconds";
  return integerFrom(0, what, where, name, value, fallback);
}

/** A duration of at least `min` milliseconds, or `fallback` if undefined. */
export function millisecondsAtLeast(
  min: number,
  where: string,
  name: string,
  value: unknown,
  fallback: number,
): number {
  const what = `an integer of at least ${min} milliseconds`;
  return integerFrom(min, what, where, name, value, fallback);
}

/** `value`, an integer of at least `min`, or `fallback` if undefined. */
function integerFrom(
  min: number,
  what: string,
  where: string,
  name: string,
  value: unknown,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    // A value that is not a number at all has the wrong shape.
    throw typeof value === "number"
      ? new RangeError(mustBe(where, name, what, value))
      : new TypeError(mustBe(where, name, what, value));
  }
  // Past 2^53 a number is sent as "1e+300", which Redis refuses.
  if (value > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(
      mustBe(where, name, `at most ${Number.MAX_SAFE_INTEGER}`, value),
    );
  }
  return value;
}

/**
 * `ms`, or setTimeout's longest delay (2^31-1 ms) if longer: a longer one
 * fires at once. For periods, where firing sooner is harmless.
 */
export function timerMs(ms: number): number {
  return Math.min(ms, MAX_TIMER_DELAY);
}

/**
 * Waits until `promise` settles, `ms` at most, and never rejects: best-effort
 * work after a stop, which a stalled Redis must not hold.
 */
export async function settledWithin(
  promise: Promise<unknown>,
  ms: number,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    promise.catch(() => {}),
    new Promise((resolve) => timer = setTimeout(resolve, ms)),
  ]);
  clearTimeout(timer);
}

/**
 * `promise`, or `undefined` as soon as `signal` aborts. A command cannot be
 * taken back once sent, so a late reply is dropped by the caller.
 */
export function unlessAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal,
): Promise<T | undefined> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const abort = () => {
      signal.removeEventListener("abort", abort);
      resolve(undefined);
    };
    signal.addEventListener("abort", abort);
    promise.then(
      (value) => {
        signal.removeEventListener("abort", abort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", abort);
        if (signal.aborted) resolve(undefined);
        else reject(error);
      },
    );
  });
}

/** Whether an error reply carries the Redis error code `code`. */
export function isRedisError(error: unknown, code: string): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return new RegExp(`\\b${code}\\b`).test(message);
}

/** The options given, without those left undefined. */
export function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}
