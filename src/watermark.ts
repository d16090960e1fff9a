/**
 * An event-time marker, as in Flink: no record with a timestamp at or below
 * `timestamp` is expected after it. Write it into an
 * `AsyncIOTransformStream` between records; it is never given to the async
 * function, takes one capacity slot, and comes out at its position: in order
 * in `"ordered"` mode, and as a barrier that no record crosses in the other
 * modes.
 *
 * @example Writing a watermark between records
 * ```ts
 * import { AsyncIOTransformStream, Watermark } from "@async-io/async-io";
 * import assert from "node:assert/strict";
 *
 * const stream = new AsyncIOTransformStream<number, number, Watermark>(
 *   async (n) => n * 2,
 * );
 * const outputStream = ReadableStream.from([1, 2, new Watermark(2), 3]).pipeThrough(stream);
 * const output = [];
 * for await (const chunk of outputStream) output.push(chunk);
 * assert.deepEqual(output, [2, 4, new Watermark(2), 6]);
 * ```
 */
export class Watermark {
  /** The event time this watermark stands for. */
  readonly timestamp: number;

  /**
   * Creates a watermark.
   *
   * @param timestamp The event time it stands for.
   */
  constructor(timestamp: number) {
    this.timestamp = timestamp;
  }
}
