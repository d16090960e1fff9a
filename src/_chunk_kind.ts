// What a chunk written to the engine is: a record, or a marker that passes
// through. `instanceof` runs a Proxy's getPrototypeOf trap, which is user
// code and may throw (a revoked Proxy does): the engine fails then, as it
// does for a throw from any user code.
import { CheckpointBarrier } from "./checkpoint_barrier.ts";
import { Watermark } from "./watermark.ts";

export const RECORD = 0;
export const WATERMARK = 1;
export const BARRIER = 2;
/** Classifying it threw. */
export const FAILED = 3;
export type Kind = 0 | 1 | 2 | 3;

/** What `chunk` is; throws what a Proxy's trap throws. */
export function kindOf(chunk: unknown): Kind {
  if (typeof chunk !== "object" || chunk === null) return RECORD;
  if (chunk instanceof CheckpointBarrier) return BARRIER;
  return chunk instanceof Watermark ? WATERMARK : RECORD;
}
