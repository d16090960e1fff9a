// A browser stand-in for `node:assert/strict`: the strict-mode subset the
// behavioural tests use. `equal` and `deepEqual` are the strict versions.

/** The error every failed assertion throws, as in Node. */
export class AssertionError extends Error {
  override name = "AssertionError";
  readonly actual: unknown;
  readonly expected: unknown;
  readonly operator: string;
  readonly code = "ERR_ASSERTION";
  constructor(
    options: {
      message?: string | Error | undefined;
      actual?: unknown;
      expected?: unknown;
      operator?: string;
    },
  ) {
    super(
      options.message instanceof Error
        ? options.message.message
        : options.message,
    );
    this.actual = options.actual;
    this.expected = options.expected;
    this.operator = options.operator ?? "fail";
  }
}

type Message = string | Error | undefined;
type Expected =
  | RegExp
  | ((error: unknown) => boolean)
  | (abstract new (...args: never[]) => unknown)
  | Record<string, unknown>;

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") {
    return `[Function ${value.name || "anonymous"}]`;
  }
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (typeof value !== "object" || value === null) return String(value);
  try {
    const name = Object.getPrototypeOf(value)?.constructor?.name;
    const json = JSON.stringify(
      value,
      (_, v) => typeof v === "bigint" ? `${v}n` : v,
    );
    return name && name !== "Object" && name !== "Array"
      ? `${name} ${json}`
      : json;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function fail(
  message: Message,
  fallback: string,
  actual?: unknown,
  expected?: unknown,
  operator?: string,
): never {
  if (message instanceof Error) throw message;
  throw new AssertionError({
    message: message ?? fallback,
    actual,
    expected,
    operator: operator ?? "fail",
  });
}

function isDeepStrictEqual(
  a: unknown,
  b: unknown,
  seen = new Map<object, object>(),
): boolean {
  if (Object.is(a, b)) return true;
  if (
    typeof a !== "object" || typeof b !== "object" || a === null || b === null
  ) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const tag = Object.prototype.toString.call(a);
  if (tag !== Object.prototype.toString.call(b)) return false;
  if (seen.get(a) === b) return true;
  seen.set(a, b);
  if (a instanceof Date && !Object.is(a.getTime(), (b as Date).getTime())) {
    return false;
  }
  if (a instanceof RegExp && String(a) !== String(b)) return false;
  if (a instanceof Error) {
    const e = b as Error;
    if (a.name !== e.name || a.message !== e.message) return false;
  }
  if (a instanceof Number || a instanceof String || a instanceof Boolean) {
    if (!Object.is(a.valueOf(), (b as typeof a).valueOf())) return false;
  }
  if (ArrayBuffer.isView(a)) {
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array((b as ArrayBufferView).buffer);
    if (x.length !== (b as ArrayBufferView).byteLength) return false;
    const offset = (b as ArrayBufferView).byteOffset;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[offset + i]) return false;
  }
  if (a instanceof Map) {
    const m = b as Map<unknown, unknown>;
    if (a.size !== m.size) return false;
    for (const [key, value] of a) {
      if (!m.has(key) || !isDeepStrictEqual(value, m.get(key), seen)) {
        return false;
      }
    }
  }
  if (a instanceof Set) {
    const s = b as Set<unknown>;
    if (a.size !== s.size) return false;
    outer: for (const value of a) {
      if (s.has(value)) continue;
      for (const other of s) {
        if (isDeepStrictEqual(value, other, seen)) continue outer;
      }
      return false;
    }
  }
  const keysA = ownKeys(a);
  const keysB = ownKeys(b);
  if (keysA.length !== keysB.length) return false;
  for (const key of keysA) {
    if (!Object.prototype.propertyIsEnumerable.call(b, key)) return false;
    const x = (a as Record<PropertyKey, unknown>)[key];
    const y = (b as Record<PropertyKey, unknown>)[key];
    if (!isDeepStrictEqual(x, y, seen)) return false;
  }
  return true;
}

function ownKeys(value: object): PropertyKey[] {
  return Reflect.ownKeys(value).filter((key) =>
    Object.prototype.propertyIsEnumerable.call(value, key)
  );
}

function matches(
  error: unknown,
  expected: Expected | undefined,
  message: Message,
): void {
  if (expected === undefined) return;
  if (expected instanceof RegExp) {
    if (!expected.test(String(error))) {
      fail(
        message,
        `The error ${show(error)} does not match ${expected}`,
        error,
        expected,
        "throws",
      );
    }
    return;
  }
  if (typeof expected === "function") {
    if (expected.prototype !== undefined && error instanceof expected) return;
    if (expected.prototype instanceof Error || expected === Error) {
      fail(
        message,
        `The error ${show(error)} is not an instance of ${expected.name}`,
        error,
        expected,
        "throws",
      );
    }
    if ((expected as (error: unknown) => boolean).call({}, error) === true) {
      return;
    }
    fail(
      message,
      `The validation function rejected ${show(error)}`,
      error,
      expected,
      "throws",
    );
  }
  for (const [key, want] of Object.entries(expected)) {
    const got = (error as Record<string, unknown> | null)?.[key];
    const ok = want instanceof RegExp && typeof got === "string"
      ? want.test(got)
      : isDeepStrictEqual(got, want);
    if (!ok) {
      fail(
        message,
        `The error's "${key}" is ${show(got)}, expected ${show(want)}`,
        error,
        expected,
        "throws",
      );
    }
  }
}

const NOTHING = Symbol("nothing");

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return NOTHING;
}

async function rejection(
  promiseOrFn: Promise<unknown> | (() => Promise<unknown>),
): Promise<unknown> {
  try {
    await (typeof promiseOrFn === "function" ? promiseOrFn() : promiseOrFn);
  } catch (error) {
    return error;
  }
  return NOTHING;
}

function splitExpected(
  expected: Expected | Message,
  message: Message,
): [Expected | undefined, Message] {
  return typeof expected === "string"
    ? [undefined, expected]
    : [expected as Expected | undefined, message];
}

export function ok(value: unknown, message?: Message): asserts value {
  if (!value) {
    fail(
      message,
      `The expression evaluated to a falsy value: ${show(value)}`,
      value,
      true,
      "==",
    );
  }
}

function failAssertion(message?: Message): never {
  return fail(message, "Failed");
}
export { failAssertion as fail };

export function equal(
  actual: unknown,
  expected: unknown,
  message?: Message,
): void {
  if (!Object.is(actual, expected)) {
    fail(
      message,
      `Expected ${show(actual)} to be ${show(expected)}`,
      actual,
      expected,
      "strictEqual",
    );
  }
}

export function notEqual(
  actual: unknown,
  expected: unknown,
  message?: Message,
): void {
  if (Object.is(actual, expected)) {
    fail(
      message,
      `Expected ${show(actual)} not to be ${show(expected)}`,
      actual,
      expected,
      "notStrictEqual",
    );
  }
}

export function deepEqual(
  actual: unknown,
  expected: unknown,
  message?: Message,
): void {
  if (!isDeepStrictEqual(actual, expected)) {
    const text = `Expected values to be deep-equal:\n${show(actual)}\n${
      show(expected)
    }`;
    fail(message, text, actual, expected, "deepStrictEqual");
  }
}

export function notDeepEqual(
  actual: unknown,
  expected: unknown,
  message?: Message,
): void {
  if (isDeepStrictEqual(actual, expected)) {
    fail(
      message,
      `Expected values not to be deep-equal: ${show(actual)}`,
      actual,
      expected,
      "notDeepStrictEqual",
    );
  }
}

export function match(value: string, pattern: RegExp, message?: Message): void {
  if (typeof value !== "string" || !pattern.test(value)) {
    fail(
      message,
      `The input ${show(value)} does not match ${pattern}`,
      value,
      pattern,
      "match",
    );
  }
}

export function doesNotMatch(
  value: string,
  pattern: RegExp,
  message?: Message,
): void {
  if (typeof value !== "string" || pattern.test(value)) {
    fail(
      message,
      `The input ${show(value)} matches ${pattern}`,
      value,
      pattern,
      "doesNotMatch",
    );
  }
}

export function throws(
  fn: () => unknown,
  expected?: Expected | Message,
  message?: Message,
): void {
  const error = caught(fn);
  const [want, text] = splitExpected(expected, message);
  if (error === NOTHING) {
    fail(text, "Missing expected exception", undefined, want, "throws");
  }
  matches(error, want, text);
}

export function doesNotThrow(fn: () => unknown, message?: Message): void {
  const error = caught(fn);
  if (error !== NOTHING) {
    fail(
      message,
      `Got unwanted exception: ${show(error)}`,
      error,
      undefined,
      "doesNotThrow",
    );
  }
}

export async function rejects(
  promiseOrFn: Promise<unknown> | (() => Promise<unknown>),
  expected?: Expected | Message,
  message?: Message,
): Promise<void> {
  const error = await rejection(promiseOrFn);
  const [want, text] = splitExpected(expected, message);
  if (error === NOTHING) {
    fail(text, "Missing expected rejection", undefined, want, "rejects");
  }
  matches(error, want, text);
}

export async function doesNotReject(
  promiseOrFn: Promise<unknown> | (() => Promise<unknown>),
  message?: Message,
): Promise<void> {
  const error = await rejection(promiseOrFn);
  if (error !== NOTHING) {
    fail(
      message,
      `Got unwanted rejection: ${show(error)}`,
      error,
      undefined,
      "doesNotReject",
    );
  }
}

export function ifError(value: unknown): void {
  if (value !== null && value !== undefined) throw value;
}

export {
  deepEqual as deepStrictEqual,
  equal as strictEqual,
  isDeepStrictEqual,
  notDeepEqual as notDeepStrictEqual,
  notEqual as notStrictEqual,
};

const methods = {
  AssertionError,
  ok,
  fail: failAssertion,
  equal,
  strictEqual: equal,
  notEqual,
  notStrictEqual: notEqual,
  deepEqual,
  deepStrictEqual: deepEqual,
  notDeepEqual,
  notDeepStrictEqual: notDeepEqual,
  match,
  doesNotMatch,
  throws,
  doesNotThrow,
  rejects,
  doesNotReject,
  ifError,
};

/** `assert(value)`, with the other assertions as its methods. */
const assert: typeof ok & typeof methods & {
  strict: typeof ok & typeof methods;
} = Object.assign(
  (value: unknown, message?: Message): asserts value => ok(value, message),
  methods,
  { strict: undefined as never },
);
assert.strict = assert;
export { assert as strict };
export default assert;
