// What the built-in limits share: the validation of their options, and the
// bounds min, max and initial, settled once the stream binds its capacity.
import { describe } from "./_describe.ts";
import type {
  ConcurrencyLimit,
  ConcurrencySample,
  LimitBounds,
} from "./concurrency_limit.ts";

/** A RangeError for `what` in `name`'s options, naming the value received. */
export function rangeError(
  name: string,
  what: string,
  value: unknown,
): RangeError {
  return new RangeError(
    `Cannot create the ${name} limit as ${what}: current value is ${
      describe(value)
    }`,
  );
}

/** `rangeError`, or a TypeError for a value that is not a number at all. */
function numberError(
  name: string,
  what: string,
  value: unknown,
): RangeError | TypeError {
  if (typeof value === "number") return rangeError(name, what, value);
  return new TypeError(
    `Cannot create the ${name} limit as ${what}: current value is ${
      describe(value)
    }`,
  );
}

/** The options object itself, `{}` for `undefined`; a TypeError otherwise. */
export function optionsOf<T extends object>(name: string, options: unknown): T {
  if (options === undefined) return {} as T;
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot create the ${name} limit as options must be an object: current value is ${
        describe(options)
      }`,
    );
  }
  return options as T;
}

/** A positive integer, or `undefined` when the field was not given. */
export function optionalInteger(
  name: string,
  field: string,
  value: unknown,
): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw numberError(name, `${field} must be a positive integer`, value);
  }
  return value;
}

/**
 * The field's number if `accepts` it, `fallback` when not given; a
 * RangeError for another number, a TypeError for what is not a number.
 */
export function numberIn(
  name: string,
  field: string,
  value: unknown,
  fallback: number,
  accepts: (n: number) => boolean,
  range: string,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !accepts(value)) {
    throw numberError(name, `${field} must be ${range}`, value);
  }
  return value;
}

/**
 * The bounds shared by the built-ins. `max` is known only once the stream
 * binds its capacity, so the defaults of `min` and `initial`, which must
 * not exceed it, are settled then.
 */
export abstract class BoundedLimit implements ConcurrencyLimit {
  readonly #name: string;
  readonly #initial: number | undefined;
  readonly #defaultMin: number;
  readonly #givenMin: number | undefined;
  readonly #givenMax: number | undefined;
  protected min: number;
  protected max: number;
  /** The estimate, kept fractional as the published algorithms do. */
  protected estimate: number;

  constructor(name: string, bounds: LimitBounds, defaultMin: number) {
    this.#name = name;
    const initial = optionalInteger(name, "initial", bounds.initial);
    const min = optionalInteger(name, "min", bounds.min);
    const max = optionalInteger(name, "max", bounds.max);
    if (min !== undefined && max !== undefined && min > max) {
      throw rangeError(name, `min must not exceed max (${max})`, min);
    }
    if (initial !== undefined) {
      if (min !== undefined && initial < min) {
        throw rangeError(
          name,
          `initial must be at least min (${min})`,
          initial,
        );
      }
      if (max !== undefined && initial > max) {
        throw rangeError(name, `initial must not exceed max (${max})`, initial);
      }
    }
    this.#initial = initial;
    this.#defaultMin = defaultMin;
    this.#givenMin = min;
    this.#givenMax = max;
    this.max = max ?? Infinity;
    this.min = min ?? this.#defaultMinWithin(this.max);
    this.estimate = this.#clamp(initial ?? 20);
  }

  get limit(): number {
    return Math.floor(this.estimate);
  }

  bind(capacity: number): void {
    if (
      typeof capacity !== "number" || !Number.isInteger(capacity) ||
      capacity < 1
    ) {
      const message =
        `Cannot bind the ${this.#name} limit as capacity must be a positive integer: current value is ${
          describe(capacity)
        }`;
      throw typeof capacity === "number"
        ? new RangeError(message)
        : new TypeError(message);
    }
    const given = {
      max: this.#givenMax,
      min: this.#givenMin,
      initial: this.#initial,
    };
    for (const [field, value] of Object.entries(given)) {
      if (value !== undefined && value > capacity) {
        throw new RangeError(
          `Cannot bind the ${this.#name} limit to capacity ${capacity} as ${field} must not exceed it: current value is ${value}`,
        );
      }
    }
    // Bound twice (by two streams), it keeps within the smaller capacity.
    this.max = Math.min(given.max ?? capacity, this.max, capacity);
    this.min = this.#givenMin ?? this.#defaultMinWithin(this.max);
    this.estimate = this.#clamp(this.estimate);
  }

  /**
   * The default min, lowered to a given initial (the limit starts there),
   * and to half of max: at max itself, a small capacity would leave the
   * limit no room to move.
   */
  #defaultMinWithin(max: number): number {
    return Math.min(
      this.#defaultMin,
      this.#initial ?? Infinity,
      Math.max(1, Math.floor(max / 2)),
    );
  }

  abstract update(sample: ConcurrencySample): void;

  protected clamp(value: number): number {
    return this.#clamp(value);
  }

  #clamp(value: number): number {
    return Math.max(this.min, Math.min(this.max, value));
  }
}
