// The user's fn and policies speak in outputs (RedisFields); the engine
// under redisWorker speaks in one RedisCommit per entry, so that all of an
// entry's outputs reach the sink together. These wrappers translate.
import { describe } from "./_describe.ts";
import { type RedisCommit, requireFewFields } from "./_redis_commit.ts";
import { definedOnly } from "./_redis_options.ts";
import {
  messageOf,
  type RedisFields,
  type RedisStreamEntry,
} from "./_redis_reply.ts";
import type {
  AsyncFunctionMethods,
  RedisWorkerOptions,
} from "./_redis_worker_options.ts";
import type { AsyncFunction, Mapper, ResultFuture } from "./call_context.ts";
import type { RetryOptions } from "./policy_options.ts";
import type { AsyncIOOptions } from "./types.ts";

/** The members of `retry`, as {@linkcode readRetry} read them. */
export type RetryRead = {
  [K in keyof RetryOptions<RedisStreamEntry, RedisFields>]-?:
    | RetryOptions<RedisStreamEntry, RedisFields>[K]
    | undefined;
};

/** The options whose callbacks see outputs, as read from the options. */
type OutputPolicies =
  & {
    [K in "onTimeout" | "onError"]: RedisWorkerOptions[K] | undefined;
  }
  & { retry: RetryRead | undefined };

/**
 * Each member of `retry` read once, inherited ones included (a rest pattern
 * would copy only the own enumerable ones), for the stream; `retry` is an
 * object or undefined.
 */
export function readRetry(
  retry: RedisWorkerOptions["retry"],
): RetryRead | undefined {
  if (retry === undefined) return undefined;
  const {
    maxAttempts,
    delay,
    multiplier,
    maxDelay,
    jitter,
    retryOnError,
    retryOnResult,
  } = retry;
  return {
    maxAttempts,
    delay,
    multiplier,
    maxDelay,
    jitter,
    retryOnError,
    retryOnResult,
  };
}

/** Outputs as the sink takes them; a bad shape throws a TypeError. */
function outputsOf(entry: RedisStreamEntry, outputs: unknown): RedisFields[] {
  // One output where an iterable of them is due (an onError handler's or
  // complete()'s return) must not fail as "outputs is not iterable"; a
  // string is iterable, but its characters are never what was meant.
  if (
    typeof outputs === "string" || outputs instanceof String ||
    typeof (outputs as { [Symbol.iterator]?: unknown } | null | undefined)
        ?.[Symbol.iterator] !== "function"
  ) {
    throw new TypeError(
      `Cannot commit entry ${entry.id} of stream ${entry.stream} as outputs must be an iterable of outputs (wrap one output as [output]): current value is ${
        describe(outputs)
      }`,
    );
  }
  const list: RedisFields[] = [];
  for (const output of outputs as Iterable<unknown>) {
    if (typeof output !== "object" || output === null) {
      throw new TypeError(
        `Cannot commit entry ${entry.id} of stream ${entry.stream} as an output must be an object of string fields: current value is ${
          describe(output)
        }`,
      );
    }
    const values = Object.values(output);
    if (values.length === 0 || values.some((v) => typeof v !== "string")) {
      throw new TypeError(
        `Cannot commit entry ${entry.id} of stream ${entry.stream} as an output must have one field at least, each a string: current value is ${
          JSON.stringify(output)
        }`,
      );
    }
    requireFewFields(entry, values.length);
    list.push(output as RedisFields);
  }
  return list;
}

function deadLetterOf(entry: RedisStreamEntry, error: unknown): RedisCommit {
  return {
    stream: entry.stream,
    id: entry.id,
    outputs: [],
    deadLetter: {
      stream: entry.stream,
      id: entry.id,
      error: messageOf(error),
      fields: JSON.stringify(entry.fields),
    },
  };
}

function commitOf(entry: RedisStreamEntry, outputs: unknown): RedisCommit {
  return {
    stream: entry.stream,
    id: entry.id,
    outputs: outputsOf(entry, outputs),
  };
}

/**
 * Turns `fn` into one that completes each entry with a single RedisCommit,
 * so all of an entry's outputs reach the sink together. Malformed outputs
 * fail the attempt, as a throw would. `fn` has passed requireWorkerCallbacks,
 * which read an object's `methods`: those are called, on `fn`.
 */
export function wrapFunction(
  fn:
    | Mapper<RedisStreamEntry, RedisFields>
    | AsyncFunction<RedisStreamEntry, RedisFields>,
  methods: AsyncFunctionMethods | undefined,
):
  | Mapper<RedisStreamEntry, RedisCommit>
  | AsyncFunction<RedisStreamEntry, RedisCommit> {
  if (typeof fn === "function") {
    return async (entry, context) =>
      commitOf(entry, [await fn(entry, context)]);
  }
  const { asyncInvoke, timeout, open, close } = methods!;
  const wrapped: AsyncFunction<RedisStreamEntry, RedisCommit> = {
    asyncInvoke: (entry, result) =>
      asyncInvoke.call(fn, entry, outputsFutureOf(entry, result)),
  };
  if (open !== undefined) wrapped.open = () => open.call(fn);
  if (close !== undefined) wrapped.close = () => close.call(fn);
  if (timeout !== undefined) {
    wrapped.timeout = (entry, result) =>
      timeout.call(fn, entry, outputsFutureOf(entry, result));
  }
  return wrapped;
}

/** A ResultFuture of outputs over one of the entry's single commit. */
function outputsFutureOf(
  entry: RedisStreamEntry,
  result: ResultFuture<RedisCommit>,
): ResultFuture<RedisFields> {
  return {
    get signal() {
      return result.signal;
    },
    get attempt() {
      return result.attempt;
    },
    complete(outputs) {
      let commit: RedisCommit;
      try {
        commit = commitOf(entry, outputs);
      } catch (error) {
        result.completeExceptionally(error);
        return;
      }
      result.complete([commit]);
    },
    completeExceptionally: (error) => result.completeExceptionally(error),
  };
}

/** The options whose callbacks see outputs, translated to RedisCommits. */
export function wrapPolicies(
  options: OutputPolicies,
  deadLetter: string | undefined,
): Partial<AsyncIOOptions<RedisStreamEntry, RedisCommit>> {
  const policies: Partial<AsyncIOOptions<RedisStreamEntry, RedisCommit>> = {};
  const { onTimeout, retry, onError } = options;
  if (onTimeout !== undefined) {
    policies.onTimeout = (entry, result) =>
      onTimeout(entry, outputsFutureOf(entry, result));
  }
  if (typeof onError === "function") {
    policies.onError = async (error, entry, context) => {
      const outputs = await onError(error, entry, context);
      // Nothing: the entry is dropped on purpose, so it is committed empty.
      return [commitOf(entry, outputs ?? [])];
    };
  } else if (onError === undefined && deadLetter !== undefined) {
    policies.onError = (error, entry) => [deadLetterOf(entry, error)];
  }
  if (retry !== undefined) {
    // `retry` is readRetry()'s plain copy, so a rest pattern takes every
    // member; the stream checks the values.
    const { retryOnResult, ...members } = retry;
    policies.retry = {
      ...definedOnly(members) as Omit<
        RetryOptions<RedisStreamEntry, RedisCommit>,
        "retryOnResult"
      >,
      ...(retryOnResult === undefined ? {} : {
        // Not a function: passed on as it is, for the stream to reject.
        retryOnResult: typeof retryOnResult !== "function"
          ? retryOnResult
          : (results, entry) =>
            retryOnResult(results.flatMap((r) => r.outputs), entry),
      }),
    };
  }
  return policies;
}
