import { brand, hasMarkerInstance, WATERMARK_BRAND } from "./_marker_brand.ts";

/**
 * An event-time marker, as in Flink: no record with a timestamp at or below
 * `timestamp` is expected after it. Write it into an
 * `AsyncIOTransformStream` between records; it is never given to the async
 * function, takes one capacity slot, and comes out at its position: in order
 * in `"ordered"` mode, and as a barrier that no record crosses in the other
 * modes. The object written is the object that comes out.
 *
 * A watermark is known by a brand on this class's prototype, under the key
 * `Symbol.for("@async-io/async-io.marker.v1")`, which every copy of this
 * library shares: a watermark made by another version of the library in the
 * same program, or in another realm, is a watermark to this one's streams
 * too, and `instanceof Watermark` holds for it. An object that carries the
 * brand is a watermark, whatever its class; a plain `{ timestamp }` is a
 * record. A structured clone (`postMessage` to a worker) drops the class and
 * the brand: write `new Watermark(timestamp)` on the other side.
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
  /** The event time this watermark stands for; the stream reads it once. */
  readonly timestamp: number;

  /**
   * Creates a watermark.
   *
   * @param timestamp The event time it stands for: a number (a stream fails
   * on a watermark whose timestamp is not one, which `restore` would refuse).
   */
  constructor(timestamp: number) {
    this.timestamp = timestamp;
  }

  /**
   * Whether `value` is a watermark of any copy of this library: whether it
   * carries the watermark brand. For a subclass, `instanceof` keeps its usual
   * meaning: instances of that subclass only.
   *
   * @param value What to test.
   * @returns Whether `value` is a watermark.
   * @throws What a `Proxy`'s `get` trap throws when it is `value`: the brand
   * is read as a property.
   *
   * @example Telling watermarks from records
   * ```ts
   * import { Watermark } from "@async-io/async-io";
   * import assert from "node:assert/strict";
   *
   * assert.ok(new Watermark(1) instanceof Watermark);
   * assert.ok(!({ timestamp: 1 } instanceof Watermark));
   * ```
   */
  static [Symbol.hasInstance](value: unknown): value is Watermark {
    return hasMarkerInstance(this, Watermark, value, WATERMARK_BRAND);
  }

  static {
    brand(this.prototype, WATERMARK_BRAND);
  }
}
