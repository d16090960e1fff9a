// What a chunk written to the engine is: a record, or a marker that passes
// through. A marker is known by its brand (see _marker_brand.ts), so one from
// any copy of this library is a marker. Reading the brand runs a Proxy's
// `get` trap, which is user code and may throw (a revoked Proxy does): the
// engine fails then, as it does for a throw from any user code.
import { BARRIER_BRAND, brandOf, WATERMARK_BRAND } from "./_marker_brand.ts";

export const RECORD = 0;
export const WATERMARK = 1;
export const BARRIER = 2;
/** Classifying it threw. */
export const FAILED = 3;
export type Kind = 0 | 1 | 2 | 3;

/** What `chunk` is; throws what a Proxy's trap throws. */
export function kindOf(chunk: unknown): Kind {
  if (typeof chunk !== "object" || chunk === null) return RECORD;
  const brand = brandOf(chunk);
  if (brand === undefined) return RECORD;
  if (brand === WATERMARK_BRAND) return WATERMARK;
  return brand === BARRIER_BRAND ? BARRIER : RECORD;
}
