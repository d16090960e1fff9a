/**
 * A checkpoint marker, as in Flink. When an `AsyncIOTransformStream` reads
 * one, it takes its snapshot at that position, hands it to
 * `options.onCheckpoint`, and forwards the barrier downstream at once, ahead
 * of the results still pending (those inputs are in the snapshot). It takes
 * no capacity slot and is never given to the async function.
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
}
