// Tests that must move time along without waiting for it replace
// `performance.now()`, which is the only clock the library reads.

/**
 * Runs `body` with `performance.now()` replaced by `clock(realNow)`, and puts
 * the real one back afterwards, whatever `body` does.
 */
export async function withClock(
  clock: (realNow: () => number) => number,
  body: () => Promise<void>,
): Promise<void> {
  // Bun has `now` on the object itself, Deno and browsers on its prototype.
  const own = Object.getOwnPropertyDescriptor(performance, "now");
  const realNow = performance.now.bind(performance);
  performance.now = () => clock(realNow);
  try {
    await body();
  } finally {
    if (own === undefined) delete (performance as { now?: unknown }).now;
    else Object.defineProperty(performance, "now", own);
  }
}
