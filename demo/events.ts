// The demo's data: the input events, the users they refer to, the outputs.

/** One input event: a user did something at some time. */
export interface DemoEvent {
  /** The event's position in the input, from 0: its identity. */
  id: number;
  userId: number;
  action: string;
  ts: number;
}

/** A user as the lookup service returns it. */
export interface User {
  id: number;
  name: string;
  plan: string;
}

/**
 * An event with its user; `user` is null, and `error` says why, when the
 * lookup ran out of time or failed for good (`--on-error settle`).
 */
export interface EnrichedEvent extends DemoEvent {
  user: User | null;
  error?: string;
}

/** How many distinct users the events refer to. */
export const USER_COUNT = 1000;

const ACTIONS = ["view", "click", "add_to_cart", "purchase"] as const;
const PLANS = ["free", "pro", "team"] as const;
const START = Date.UTC(2025, 0, 1);

/** The event at position `id`; the same every run, so restarts can replay it. */
export function eventAt(id: number): DemoEvent {
  return {
    id,
    userId: (id * 7919) % USER_COUNT,
    action: ACTIONS[id % ACTIONS.length]!,
    ts: START + id * 250,
  };
}

/** The user the embedded service holds for `id`. */
export function userOf(id: number): User {
  return { id, name: `user-${id}`, plan: PLANS[id % PLANS.length]! };
}

/**
 * Whether the embedded service, told to fail a fraction `rate` of the users
 * (`--fail-rate`), answers "not found" for `userId`. A hash of the id, not a
 * coin toss: retries, restarts and the exactly-once check all agree on it.
 */
export function isMissingUser(userId: number, rate: number): boolean {
  if (rate <= 0) return false;
  // Knuth's multiplicative hash spreads the ids evenly over [0, 1).
  return (Math.imul(userId + 1, 0x9e3779b1) >>> 0) / 2 ** 32 < rate;
}

/** The events from position `from` up to `total`, as a stream. */
export function eventSource(
  from: number,
  total: number,
): ReadableStream<DemoEvent> {
  let next = from;
  return new ReadableStream<DemoEvent>({
    pull(controller) {
      if (next < total) controller.enqueue(eventAt(next++));
      else controller.close();
    },
  }, { highWaterMark: 0 });
}
