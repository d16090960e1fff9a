// Validates the raw user input (the function and the options) in one place,
// and normalises it into a Config that the rest of the code can trust.
import type { BackoffPolicy } from "./_backoff.ts";
import { describe } from "./_describe.ts";
import { validateState } from "./_state.ts";
import { isAbortSignal } from "./_user_code.ts";
import type { CheckpointBarrier } from "./checkpoint_barrier.ts";
import type { ConcurrencyLimit } from "./concurrency_limit.ts";
import type { AsyncIOState, AsyncIOStateEntry } from "./async_io_state.ts";
import type {
  AsyncBatchFunction,
  BatchMapper,
  BatchOptions,
} from "./batch_function.ts";
import type { AsyncFunction, Mapper, ResultFuture } from "./call_context.ts";
import type { ErrorPolicy } from "./error_policy.ts";
import type { OutputOrder, RateLimitOptions } from "./policy_options.ts";
import type { AsyncIOBatchOptions, AsyncIOOptions } from "./types.ts";

export type TimeoutHandler<I, O> = (
  input: I,
  result: ResultFuture<O>,
) => void | Promise<void>;

export interface RetryPolicy<I, O> extends BackoffPolicy {
  readonly maxAttempts: number;
  readonly retryOnError: (error: unknown, input: I) => boolean;
  readonly retryOnResult:
    | ((results: readonly O[], input: I) => boolean)
    | undefined;
}

export interface Config<I, O> {
  /** The function form, or undefined when `asyncFunction` is set. */
  readonly mapper: Mapper<I, O> | undefined;
  /**
   * Flink's object form, or undefined when `mapper` is set: the `this` of
   * `asyncInvoke`, which was read from it once, as its other methods were.
   */
  readonly asyncFunction: AsyncFunction<I, O> | undefined;
  readonly asyncInvoke: AsyncFunction<I, O>["asyncInvoke"] | undefined;
  /** Set with `batch`, as are the batch forms; then the two above are not. */
  readonly batch: BatchOptions | undefined;
  readonly batchMapper: BatchMapper<I, O> | undefined;
  /** The `this` of `asyncInvokeBatch`, read from it once. */
  readonly asyncBatchFunction: AsyncBatchFunction<I, O> | undefined;
  readonly asyncInvokeBatch:
    | AsyncBatchFunction<I, O>["asyncInvokeBatch"]
    | undefined;
  readonly open: (() => void | Promise<void>) | undefined;
  readonly close: (() => void | Promise<void>) | undefined;
  readonly timeoutHandler: TimeoutHandler<I, O> | undefined;
  readonly order: OutputOrder;
  readonly capacity: number;
  /** The fixed limit, or the capacity when `concurrencyLimit` is set. */
  readonly concurrency: number;
  /** An adaptive limit, which the dispatcher binds and feeds. */
  readonly concurrencyLimit: ConcurrencyLimit | undefined;
  readonly timeout: number;
  readonly attemptTimeout: number;
  readonly retry: RetryPolicy<I, O> | undefined;
  readonly onError: ErrorPolicy<I, O>;
  readonly key: ((input: I) => unknown) | undefined;
  readonly rateLimit: RateLimitOptions | undefined;
  readonly signal: AbortSignal | undefined;
  /** The restored entries, copied. */
  readonly restore: readonly AsyncIOStateEntry<I>[];
  readonly onCheckpoint:
    | ((
      state: AsyncIOState<I>,
      barrier: CheckpointBarrier,
    ) => void | Promise<void>)
    | undefined;
}

const ORDERS: readonly OutputOrder[] = ["ordered", "unordered", "key-ordered"];
export const PREFIX = "Cannot construct AsyncIOTransformStream as";

/**
 * An options error of the stream, renamed for a front end that checks its
 * options as the stream does: `prefix` is its own, such as "Cannot call
 * mapAsync as". Any other error is returned as it is.
 */
export function renamedOptionsError(error: unknown, prefix: string): unknown {
  if (!(error instanceof Error) || !error.message.startsWith(PREFIX)) {
    return error;
  }
  const message = prefix + error.message.slice(PREFIX.length);
  return error instanceof RangeError
    ? new RangeError(message)
    : new TypeError(message);
}

function rangeError(what: string, value: unknown): RangeError {
  return new RangeError(
    `${PREFIX} ${what}: current value is ${describe(value)}`,
  );
}

function typeError(what: string, value: unknown): TypeError {
  return new TypeError(
    `${PREFIX} ${what}: current value is ${describe(value)}`,
  );
}

/**
 * The error for a numeric option: a TypeError for a value that is not a
 * number at all (a wrong shape), a RangeError for a number out of range.
 */
function numberError(what: string, value: unknown): RangeError | TypeError {
  return typeof value === "number"
    ? rangeError(what, value)
    : typeError(what, value);
}

function positiveInteger(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw numberError(`${name} must be a positive integer`, value);
  }
  return value;
}

/**
 * A fixed number of calls in flight, from the options or `setConcurrency`:
 * `prefix` says which, as in "Cannot set the concurrency as".
 */
export function fixedConcurrency(
  prefix: string,
  value: unknown,
  capacity: number,
): number {
  const subject = prefix === PREFIX ? "concurrency" : "it";
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    const message =
      `${prefix} ${subject} must be a positive integer: current value is ${
        describe(value)
      }`;
    throw typeof value === "number"
      ? new RangeError(message)
      : new TypeError(message);
  }
  if (value > capacity) {
    throw new RangeError(
      `${prefix} ${subject} must be at most capacity (${capacity}): current value is ${value}`,
    );
  }
  return value;
}

/** An adaptive limit, or undefined for a number (or nothing). */
function concurrencyLimitOf(value: unknown): ConcurrencyLimit | undefined {
  if (value === undefined || typeof value === "number") return undefined;
  if (
    value === null || typeof value !== "object" ||
    typeof (value as Partial<ConcurrencyLimit>).update !== "function" ||
    !("limit" in value)
  ) {
    throw typeError(
      "concurrency must be a positive integer or a ConcurrencyLimit",
      value,
    );
  }
  const bind = (value as Partial<ConcurrencyLimit>).bind;
  if (bind !== undefined && typeof bind !== "function") {
    throw typeError("concurrency.bind must be a function", bind);
  }
  return value as ConcurrencyLimit;
}

/** A duration in ms: a non-negative number, Infinity included. */
function duration(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || Number.isNaN(value) || value < 0) {
    throw numberError(`${name} must be a non-negative number`, value);
  }
  return value;
}

function optionalFunction<F>(name: string, value: unknown): F | undefined {
  if (value !== undefined && typeof value !== "function") {
    throw typeError(`${name} must be a function`, value);
  }
  return value as F | undefined;
}

/**
 * The object form's `asyncInvoke` (or with `batch`, `asyncInvokeBatch`),
 * read once; undefined when `fn` is not an object.
 */
function invokeMethodOf(fn: unknown, batched: boolean): unknown {
  if (fn === null || typeof fn !== "object") return undefined;
  return batched
    ? (fn as { asyncInvokeBatch?: unknown }).asyncInvokeBatch
    : (fn as { asyncInvoke?: unknown }).asyncInvoke;
}

function batchOf(batch: unknown, capacity: number): BatchOptions | undefined {
  if (batch === undefined) return undefined;
  if (batch === null || typeof batch !== "object") {
    throw typeError("batch must be an object", batch);
  }
  const { maxSize, maxWait } = batch as Partial<BatchOptions>;
  positiveInteger("batch.maxSize", maxSize);
  if (maxSize! > capacity) {
    throw rangeError(
      `batch.maxSize must be at most capacity (${capacity})`,
      maxSize,
    );
  }
  if (maxWait === undefined) {
    throw typeError("batch.maxWait must be a non-negative number", maxWait);
  }
  return { maxSize: maxSize!, maxWait: duration("batch.maxWait", maxWait, 0) };
}

function retryPolicyOf<I, O>(
  retry: AsyncIOOptions<I, O, unknown>["retry"],
): RetryPolicy<I, O> | undefined {
  if (retry === undefined) return undefined;
  if (retry === null || typeof retry !== "object") {
    throw typeError("retry must be an object", retry);
  }
  // Each member read once, inherited ones included, as configOf reads.
  const {
    maxAttempts: maxAttemptsOption,
    delay: delayOption,
    multiplier: multiplierOption,
    maxDelay: maxDelayOption,
    jitter: jitterOption,
    retryOnError,
    retryOnResult,
  } = retry;
  const maxAttempts = positiveInteger("retry.maxAttempts", maxAttemptsOption);
  const delay = duration("retry.delay", delayOption, 0);
  // Only undefined means "the default": null is a wrong value, as it is
  // for every other option.
  const multiplier = multiplierOption === undefined ? 1 : multiplierOption;
  if (
    typeof multiplier !== "number" || !(multiplier >= 1) ||
    multiplier === Infinity
  ) {
    throw numberError(
      "retry.multiplier must be a finite number of at least 1",
      multiplier,
    );
  }
  const maxDelay = duration("retry.maxDelay", maxDelayOption, Infinity);
  // An endless backoff never retries, and holds the stream open for ever.
  if (delay === Infinity && maxDelay === Infinity) {
    throw rangeError(
      "retry.delay must be finite unless retry.maxDelay caps it",
      delay,
    );
  }
  const jitter = jitterOption === undefined ? 0 : jitterOption;
  if (typeof jitter !== "number" || !(jitter >= 0 && jitter <= 1)) {
    throw numberError("retry.jitter must be a number from 0 to 1", jitter);
  }
  return {
    maxAttempts,
    delay,
    multiplier,
    maxDelay,
    jitter,
    retryOnError: optionalFunction("retry.retryOnError", retryOnError) ??
      // The stream's own cancel and timeout never reach this: they end the
      // attempt before it can settle, so every error that does is retried.
      (() => true),
    retryOnResult: optionalFunction("retry.retryOnResult", retryOnResult),
  };
}

function rateLimitOf(rateLimit: unknown): RateLimitOptions | undefined {
  if (rateLimit === undefined) return undefined;
  if (rateLimit === null || typeof rateLimit !== "object") {
    throw typeError("rateLimit must be an object", rateLimit);
  }
  const { limit, interval } = rateLimit as Partial<RateLimitOptions>;
  positiveInteger("rateLimit.limit", limit);
  if (
    typeof interval !== "number" || !(interval > 0) || interval === Infinity
  ) {
    throw numberError(
      "rateLimit.interval must be a positive finite number",
      interval,
    );
  }
  return { limit: limit!, interval };
}

/**
 * Validates the constructor's arguments; throws the first problem found.
 * Every option, top level or nested, is read once with a plain get (so an
 * inherited one counts, and a getter runs once), and checked from that read.
 */
export function configOf<I, O, M>(
  fn:
    | Mapper<I, O>
    | AsyncFunction<I, O>
    | BatchMapper<I, O>
    | AsyncBatchFunction<I, O>,
  options:
    | AsyncIOOptions<I, O, M, "fail" | "settle">
    | AsyncIOBatchOptions<I, O, M, "fail" | "settle">
    | undefined,
): Config<I, O> {
  if (options === undefined) options = {};
  else if (options === null || typeof options !== "object") {
    throw typeError("options must be an object", options);
  }
  const {
    order: orderOption,
    capacity: capacityOption,
    concurrency: concurrencyOption,
    batch: batchOption,
    timeout: timeoutOption,
    attemptTimeout: attemptTimeoutOption,
    key: keyOption,
    onTimeout: onTimeoutOption,
    onError: onErrorOption,
    signal,
    retry,
    rateLimit,
    restore,
    onCheckpoint,
  } = options as
    & AsyncIOOptions<I, O, M, "fail" | "settle">
    & Partial<AsyncIOBatchOptions<I, O, M, "fail" | "settle">>;
  const batched = batchOption !== undefined;
  const isFunction = typeof fn === "function";
  // The object form's methods are read once, here, as a TransformStream
  // reads its transformer's, and called on `fn`: swapping one later changes
  // nothing, and deleting one cannot fail the stream half-way.
  const invoke = isFunction ? undefined : invokeMethodOf(fn, batched);
  if (!isFunction && !batched && typeof invoke !== "function") {
    throw typeError(
      "fn must be a function or an object with an asyncInvoke method",
      fn,
    );
  }
  if (!isFunction && batched && typeof invoke !== "function") {
    throw typeError(
      "fn must be a function or an object with an asyncInvokeBatch method when batch is set",
      fn,
    );
  }
  const order = orderOption === undefined ? "ordered" : orderOption;
  if (!ORDERS.includes(order)) {
    throw typeError(
      'order must be "ordered", "unordered" or "key-ordered"',
      order,
    );
  }
  const capacity = positiveInteger(
    "capacity",
    capacityOption === undefined ? 100 : capacityOption,
  );
  const concurrencyLimit = concurrencyLimitOf(concurrencyOption);
  const concurrency = concurrencyLimit === undefined
    ? fixedConcurrency(PREFIX, concurrencyOption ?? capacity, capacity)
    : capacity;
  const batch = batched ? batchOf(batchOption, capacity) : undefined;
  const timeout = duration("timeout", timeoutOption, Infinity);
  const attemptTimeout = duration(
    "attemptTimeout",
    attemptTimeoutOption,
    Infinity,
  );
  const key = optionalFunction<(input: I) => unknown>("key", keyOption);
  if (order === "key-ordered" && key === undefined) {
    throw typeError('key must be a function when order is "key-ordered"', key);
  }
  const onTimeout = optionalFunction<TimeoutHandler<I, O>>(
    "onTimeout",
    onTimeoutOption,
  );
  let timeoutHandler = onTimeout;
  let open: Config<I, O>["open"];
  let close: Config<I, O>["close"];
  if (!isFunction) {
    const object = fn as AsyncFunction<I, O> | AsyncBatchFunction<I, O>;
    const ownTimeout = optionalFunction<TimeoutHandler<I, O>>(
      "fn.timeout",
      object.timeout,
    );
    if (ownTimeout !== undefined && onTimeout !== undefined) {
      throw typeError(
        "onTimeout must be undefined when fn has its own timeout method",
        onTimeout,
      );
    }
    if (ownTimeout !== undefined) {
      timeoutHandler = (i, r) => ownTimeout.call(object, i, r);
    }
    const ownOpen = optionalFunction<() => void | Promise<void>>(
      "fn.open",
      object.open,
    );
    if (ownOpen !== undefined) open = () => ownOpen.call(object);
    const ownClose = optionalFunction<() => void | Promise<void>>(
      "fn.close",
      object.close,
    );
    if (ownClose !== undefined) close = () => ownClose.call(object);
  }
  // It runs only when the total timeout runs out (an attemptTimeout leads
  // to a retry or a failure): with none, it would silently never run.
  if (onTimeout !== undefined && timeout === Infinity) {
    throw typeError(
      "onTimeout must be undefined when there is no timeout",
      onTimeout,
    );
  }
  const onError = onErrorOption === undefined ? "fail" : onErrorOption;
  if (
    onError !== "fail" && onError !== "settle" && typeof onError !== "function"
  ) {
    throw typeError('onError must be "fail", "settle" or a function', onError);
  }
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw typeError("signal must be an AbortSignal", signal);
  }
  return {
    mapper: isFunction && !batched ? fn as Mapper<I, O> : undefined,
    asyncFunction: isFunction || batched
      ? undefined
      : fn as AsyncFunction<I, O>,
    asyncInvoke: isFunction || batched
      ? undefined
      : invoke as AsyncFunction<I, O>["asyncInvoke"],
    batch,
    batchMapper: isFunction && batched ? fn as BatchMapper<I, O> : undefined,
    asyncBatchFunction: !isFunction && batched
      ? fn as AsyncBatchFunction<I, O>
      : undefined,
    asyncInvokeBatch: !isFunction && batched
      ? invoke as AsyncBatchFunction<I, O>["asyncInvokeBatch"]
      : undefined,
    open,
    close,
    timeoutHandler,
    order,
    capacity,
    concurrency,
    concurrencyLimit,
    timeout,
    attemptTimeout,
    retry: retryPolicyOf<I, O>(retry),
    onError,
    key,
    rateLimit: rateLimitOf(rateLimit),
    signal,
    restore: restore === undefined ? [] : validateState<I>(restore),
    onCheckpoint: optionalFunction("onCheckpoint", onCheckpoint),
  };
}
