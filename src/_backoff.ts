// The delay before a retry. It depends only on the attempt number and the
// policy, so no state is shared between elements.

/** The numbers that shape the delays between attempts. */
export interface BackoffPolicy {
  readonly delay: number;
  readonly multiplier: number;
  readonly maxDelay: number;
  readonly jitter: number;
}

/**
 * The delay in ms before attempt `attempt + 1`:
 * `min(delay * multiplier ** (attempt - 1), maxDelay)`, of which the fraction
 * `jitter` is drawn at random. Always a finite number from 0 to `maxDelay`:
 * a product that overflows counts as the largest finite number, and a zero
 * `delay` stays zero whatever the multiplier.
 */
export function retryDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const cap = Math.min(policy.maxDelay, Number.MAX_VALUE);
  const grown = policy.delay * policy.multiplier ** (attempt - 1);
  // `!(grown <= cap)` also catches NaN, the 0 × Infinity of a zero delay.
  const base = policy.delay === 0 ? 0 : !(grown <= cap) ? cap : grown;
  if (policy.jitter === 0) return base;
  const jittered = base * (1 - policy.jitter * random());
  return jittered >= 0 && jittered <= base ? jittered : base;
}
