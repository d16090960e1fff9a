// What the engine's front ends implement: where its chunks go, and how the
// input side is told that it may go on.
import { recordEntry, watermarkEntry } from "./_state.ts";
import type { AsyncIOStateEntry } from "./async_io_state.ts";
import type { Watermark } from "./watermark.ts";

/** Where the engine's chunks go: a readable side, or an iterator's buffer. */
export interface Output<T> {
  /**
   * Whether downstream is full: no input is accepted, as a TransformStream
   * calls no `transform` while its readable side is full, and, with
   * `holdsBack`, no result is emitted (an input's outputs leave together, so
   * the last one to go may overfill it) until `pulled()`. While the engine runs, it turns false
   * only just before a call to `pulled()`, which emits what waited.
   */
  readonly backpressure: boolean;
  /**
   * Whether results wait in the engine, unemitted, while `backpressure` is
   * set. A readable side's queue is visible to its reader, and must not
   * overfill its high-water mark. An iterator's buffer is not: what waits
   * there is counted as not handed out either way, and holding it back in
   * the engine instead cost mapAsync a pull and an emission per item.
   */
  readonly holdsBack: boolean;
  /**
   * May throw (a strategy's `size()`): the engine then fails with it. `from`
   * is the element whose output or watermark the chunk is; a barrier has
   * none. An output that holds chunks before it hands them out needs it to
   * keep their inputs in snapshots until then. Returns whether the chunk
   * went out: false when a stop from inside the strategy's `size()` left it
   * nowhere. A stop after it was handed on (a sink that receives it within
   * the enqueue and stops the stream) does not take it back. Nothing
   * (`undefined`) means it went out.
   */
  enqueue(chunk: T, from?: EmittedElement): boolean | void;
  /** Every result was emitted and `close()` succeeded. */
  close(): void;
  /** The stream stopped or failed with `reason`: error every side. */
  error(reason: unknown): void;
  /**
   * After `error()`, once the stop has aborted every call: what an output
   * does then runs no earlier than any call's abort.
   */
  aborted?(): void;
}

/** An element whose outputs leave the engine, as an {@linkcode Output} sees it. */
export interface EmittedElement {
  /** For a watermark, its timestamp, read once when it was accepted. */
  readonly input: unknown;
  /** Set for a watermark, which has no input. */
  readonly marker: Watermark | undefined;
}

/**
 * The inputs of chunks that no consumer took, and those chunks (markers
 * aside): `at(i)` is the element of the i-th chunk, oldest first, undefined
 * for a barrier. One element's outputs sit next to each other.
 */
export function unreadCounts(
  size: number,
  at: (index: number) => EmittedElement | undefined,
): { inputs: number; outputs: number } {
  let inputs = 0;
  let outputs = 0;
  let previous: EmittedElement | undefined;
  for (let i = 0; i < size; i++) {
    const from = at(i);
    if (from === undefined || from.marker !== undefined) continue;
    outputs++;
    if (from !== previous) inputs++;
    previous = from;
  }
  return { inputs, outputs };
}

/** The state entries of those inputs, in the order they left the engine. */
export function unreadEntries<I>(
  size: number,
  at: (index: number) => EmittedElement | undefined,
): AsyncIOStateEntry<I>[] {
  const entries: AsyncIOStateEntry<I>[] = [];
  let previous: EmittedElement | undefined;
  for (let i = 0; i < size; i++) {
    const from = at(i);
    if (from === undefined || from === previous) continue;
    previous = from;
    entries.push(
      from.marker === undefined
        ? recordEntry(from.input as I)
        // Read when it was accepted: never the user's object again.
        : watermarkEntry(from.input as number),
    );
  }
  return entries;
}

/**
 * Told when what the input side waits for has come, or when the engine
 * stops. `write()` makes one per wait from a promise; a feeder that calls
 * `offer()` keeps one of its own, so that waiting allocates nothing.
 */
export interface Waiter {
  resolve(): void;
  reject(reason: unknown): void;
}
