// What the tests of the adaptive limits feed them by hand.
import type { ConcurrencyLimit, ConcurrencySample } from "../mod.ts";

/** A window's sample of 100 calls. */
export function sample(
  rtt: number,
  inFlight: number,
  dropped = 0,
  timedOut = 0,
): ConcurrencySample {
  return { rtt, inFlight, calls: 100, dropped, timedOut };
}

/** The limit, bound as a stream of `capacity` binds it. */
export function bound<T extends ConcurrencyLimit>(limit: T, capacity = 100): T {
  limit.bind?.(capacity);
  return limit;
}
