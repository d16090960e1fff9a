// What an input that failed for good turns into: the error policies.
import type { CallContext } from "./call_context.ts";

/**
 * What an input that failed for good yields under `onError: "settle"`: one
 * record per input, in the stream's order. In the object form each output
 * of a fulfilled input is wrapped on its own.
 *
 * @typeParam I The type of the inputs.
 * @typeParam O The type of the outputs.
 *
 * @example
 * ```ts
 * import type { Settled } from "@async-io/async-io";
 *
 * const results: Settled<string, number>[] = [
 *   { status: "fulfilled", input: "a", value: 1 },
 *   { status: "rejected", input: "b", reason: new Error("404") },
 * ];
 * ```
 */
export type Settled<I, O> =
  | { readonly status: "fulfilled"; readonly input: I; readonly value: O }
  | {
    readonly status: "rejected";
    readonly input: I;
    readonly reason: unknown;
  };

/**
 * Recovers an input that failed for good: its outputs replace the failed
 * input's. Returning nothing drops the input on purpose; throwing (or
 * rejecting) fails the stream with that error, and returning a string (a
 * primitive or a `String` object) fails it with a `TypeError`. The context's signal aborts
 * if the stream stops meanwhile, and `attempt` is the number of attempts
 * made.
 *
 * @typeParam I The type of the inputs.
 * @typeParam O The type of the outputs.
 *
 * @example A fallback value, or a dead letter
 * ```ts
 * import type { ErrorHandler } from "@async-io/async-io";
 *
 * const deadLetters: unknown[] = [];
 * const onError: ErrorHandler<string, string> = (error, input) => {
 *   if (error instanceof TypeError) return [`${input}: unknown`];
 *   deadLetters.push({ input, error }); // and the input is dropped
 *   return undefined;
 * };
 * ```
 */
export type ErrorHandler<I, O> = (
  error: unknown,
  input: I,
  context: CallContext,
) => Iterable<O> | void | PromiseLike<Iterable<O> | void>;

/**
 * What happens to an input that failed for good, after its retries (or on a
 * timeout without a fallback): `"fail"` errors the stream, `"settle"` wraps
 * every input's result in a {@linkcode Settled} record, and an
 * {@linkcode ErrorHandler} recovers or drops it.
 *
 * @typeParam I The type of the inputs.
 * @typeParam O The type of the outputs.
 *
 * @example
 * ```ts
 * import type { ErrorPolicy } from "@async-io/async-io";
 *
 * const skip: ErrorPolicy<string, string> = () => {};
 * ```
 */
export type ErrorPolicy<I, O> = "fail" | "settle" | ErrorHandler<I, O>;

/**
 * The chunks an async I/O stream emits for an error policy `E`: the outputs,
 * or {@linkcode Settled} records under `"settle"`.
 *
 * @typeParam I The type of the inputs.
 * @typeParam O The type of the outputs.
 * @typeParam E The error policy.
 *
 * @example
 * ```ts
 * import type { Emitted } from "@async-io/async-io";
 *
 * const plain: Emitted<string, number, "fail"> = 1;
 * const settled: Emitted<string, number, "settle"> = {
 *   status: "fulfilled",
 *   input: "a",
 *   value: 1,
 * };
 * ```
 */
export type Emitted<I, O, E> = [E] extends ["settle"] ? Settled<I, O> : O;
