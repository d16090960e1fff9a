import { BARRIER_BRAND, brand, hasMarkerInstance } from "./_marker_brand.ts";

/**
 * A checkpoint marker, as in Flink. When an `AsyncIOTransformStream` reads
 * one, it takes its snapshot at that position, hands it to
 * `options.onCheckpoint`, and forwards the barrier downstream at once, ahead
 * of the results still pending (those inputs are in the snapshot). It takes
 * no capacity slot and is never given to the async function. The object
 * written is the object that comes out.
 *
 * A barrier is known by a brand on this class's prototype, under the key
 * `Symbol.for("@async-io/async-io.marker.v1")`, which every copy of this
 * library shares: a barrier made by another version of the library in the
 * same program, or in another realm, is a barrier to this one's streams too,
 * and `instanceof CheckpointBarrier` holds for it. An object that carries the
 * brand is a barrier, whatever its class; a plain `{ id }` is a record.
 *
 * @example Recording a checkpoint
 * ```ts
 * import {
 *   type AsyncIOState,
 *   AsyncIOTransformStream,
 *   CheckpointBarrier,
 * } from "@async-io/async-io";
 *
 * const checkpoints = new Map<number, AsyncIOState<number>>();
 * const stream = new AsyncIOTransformStream<number, number, CheckpointBarrier>(
 *   async (n) => n * 2,
 *   { onCheckpoint: (state, barrier) => void checkpoints.set(barrier.id, state) },
 * );
 * await ReadableStream.from([1, new CheckpointBarrier(1), 2])
 *   .pipeThrough(stream)
 *   .pipeTo(new WritableStream());
 * ```
 */
export class CheckpointBarrier {
  /** The checkpoint's identifier. */
  readonly id: number;

  /**
   * Creates a barrier.
   *
   * @param id The checkpoint's identifier.
   */
  constructor(id: number) {
    this.id = id;
  }

  /**
   * Whether `value` is a checkpoint barrier of any copy of this library:
   * whether it carries the barrier brand. For a subclass, `instanceof` keeps
   * its usual meaning: instances of that subclass only.
   *
   * @param value What to test.
   * @returns Whether `value` is a checkpoint barrier.
   * @throws What a `Proxy`'s `get` trap throws when it is `value`: the brand
   * is read as a property.
   *
   * @example Telling barriers from records
   * ```ts
   * import { CheckpointBarrier } from "@async-io/async-io";
   * import assert from "node:assert/strict";
   *
   * assert.ok(new CheckpointBarrier(1) instanceof CheckpointBarrier);
   * assert.ok(!({ id: 1 } instanceof CheckpointBarrier));
   * ```
   */
  static [Symbol.hasInstance](value: unknown): value is CheckpointBarrier {
    return hasMarkerInstance(this, CheckpointBarrier, value, BARRIER_BRAND);
  }

  static {
    brand(this.prototype, BARRIER_BRAND);
  }
}
