// The options that shape when calls run and how results leave: order,
// retries, the rate limit.

/**
 * How results leave the stream.
 *
 * - `"ordered"`: in input order.
 * - `"unordered"`: as soon as each call completes.
 * - `"key-ordered"`: one call in flight per key (`options.key`); each key's
 *   outputs stay in input order, and different keys overtake each other.
 *
 * @example
 * ```ts
 * import type { OutputOrder } from "@async-io/async-io";
 *
 * const order: OutputOrder = "unordered";
 * ```
 */
export type OutputOrder = "ordered" | "unordered" | "key-ordered";

/**
 * Retries with exponential backoff. The delay before attempt n+1 is
 * `min(delay * multiplier ** (n - 1), maxDelay)`, of which the fraction
 * `jitter` is randomised. It is always a finite number: a product that
 * overflows counts as `Number.MAX_VALUE` (or `maxDelay`, if smaller), and a
 * zero `delay` stays zero.
 *
 * @typeParam I The type of the inputs.
 * @typeParam O The type of the outputs.
 *
 * @example Three calls at most, 100 ms then 200 ms apart
 * ```ts
 * import type { RetryOptions } from "@async-io/async-io";
 *
 * const retry: RetryOptions<string, string> = {
 *   maxAttempts: 3,
 *   delay: 100,
 *   multiplier: 2,
 *   retryOnResult: (results) => results.length === 0,
 * };
 * ```
 */
export interface RetryOptions<I, O> {
  /**
   * The most calls per element, the first one included (Flink's
   * `maxAttempts` of N means N + 1 calls; here it means N).
   */
  maxAttempts: number;
  /**
   * The delay before the second attempt, in milliseconds: finite, unless
   * `maxDelay` caps it.
   *
   * @default {0}
   */
  delay?: number;
  /**
   * The factor by which each further delay grows.
   *
   * @default {1}
   */
  multiplier?: number;
  /**
   * The longest delay, in milliseconds.
   *
   * @default {Infinity}
   */
  maxDelay?: number;
  /**
   * The fraction of each delay, in [0, 1], that is randomised: a delay `d`
   * becomes a uniform draw from `[d * (1 - jitter), d]`.
   *
   * @default {0}
   */
  jitter?: number;
  /**
   * Whether a failed attempt is retried. By default every error is retried
   * except the stream's own cancel reason and total-timeout error.
   */
  retryOnError?: (error: unknown, input: I) => boolean;
  /**
   * Whether a completed attempt is retried, for example on an empty result.
   * By default no result is retried.
   */
  retryOnResult?: (results: readonly O[], input: I) => boolean;
}

/**
 * No more than `limit` calls, retries included, start in any window of
 * `interval` milliseconds.
 *
 * @example Ten calls per second
 * ```ts
 * import type { RateLimitOptions } from "@async-io/async-io";
 *
 * const rateLimit: RateLimitOptions = { limit: 10, interval: 1_000 };
 * ```
 */
export interface RateLimitOptions {
  /** The most calls that start in one window. */
  limit: number;
  /** The window, in milliseconds. */
  interval: number;
}
