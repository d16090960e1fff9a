// The snapshot format that `snapshot()` returns and `restore` takes.

/**
 * One entry of an {@linkcode AsyncIOState}: an input that was accepted but
 * not emitted, or a watermark among them.
 *
 * @typeParam I The type of the inputs.
 *
 * @example
 * ```ts
 * import type { AsyncIOStateEntry } from "@async-io/async-io";
 *
 * const entries: AsyncIOStateEntry<string>[] = [
 *   { kind: "record", input: "a" },
 *   { kind: "watermark", timestamp: 10 },
 * ];
 * ```
 */
export type AsyncIOStateEntry<I> =
  | { readonly kind: "record"; readonly input: I }
  | { readonly kind: "watermark"; readonly timestamp: number };

/**
 * The inputs that a stream had accepted but not yet emitted, in input order,
 * as plain data. The inputs of results that no reader got (those that
 * `mapAsync`'s iterator holds for `next()`, or that a stream's readable side
 * dropped unread as it errored) come first, in the order they were emitted.
 * The entries hold the inputs themselves, not copies. It round-trips through
 * `structuredClone` whenever the inputs do, and through `JSON.stringify`
 * when the watermarks' timestamps are finite too (JSON writes `Infinity` and
 * `NaN` as `null`, which `restore` refuses).
 *
 * @typeParam I The type of the inputs.
 *
 * @example Persisting and restoring a snapshot
 * ```ts
 * import { AsyncIOTransformStream, type AsyncIOState } from "@async-io/async-io";
 *
 * const saved = JSON.stringify(new AsyncIOTransformStream((n: number) => n).snapshot());
 * const state = JSON.parse(saved) as AsyncIOState<number>;
 * const resumed = new AsyncIOTransformStream((n: number) => n, { restore: state });
 * ```
 */
export interface AsyncIOState<I> {
  /** The format version; this library writes and reads version 1. */
  readonly version: 1;
  /** The pending inputs and watermarks, in input order. */
  readonly entries: readonly AsyncIOStateEntry<I>[];
}
