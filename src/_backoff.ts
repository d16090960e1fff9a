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
 * `jitter` is drawn at random.
 */
export function retryDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(
    policy.delay * policy.multiplier ** (attempt - 1),
    policy.maxDelay,
  );
  return policy.jitter === 0 ? base : base * (1 - policy.jitter * random());
}
