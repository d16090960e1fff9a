// Test helpers that bound waiting: a test that would hang fails instead,
// with a message that says what it waited for.
import assert from "node:assert/strict";
import { settle } from "./_deferred.ts";

/** A promise and whether it has settled yet. */
export interface Tracked {
  promise: Promise<unknown>;
  settled: boolean;
  rejected: boolean;
}

export function track(promise: Promise<unknown>): Tracked {
  const tracked: Tracked = { promise, settled: false, rejected: false };
  promise.then(
    () => void (tracked.settled = true),
    () => void (tracked.settled = tracked.rejected = true),
  );
  return tracked;
}

/** Waits, a millisecond at a time, until `condition` holds. */
export async function until(
  condition: () => boolean,
  what: string,
  ms = 2_000,
): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > ms) {
      throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    }
    await settle(1);
  }
}

/** How a promise settled, or a failure if it did not within `ms`. */
export async function within(
  promise: Promise<unknown>,
  what: string,
  ms = 2_000,
): Promise<{ ok: true; value: unknown } | { ok: false; reason: unknown }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not settle within ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([
      promise.then(
        (value) => ({ ok: true as const, value }),
        (reason) => ({ ok: false as const, reason }),
      ),
      limit,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Asserts that `output` (a stream's end) fails, with `error`, within 2 s. */
export async function assertFailsWith(
  output: Promise<unknown>,
  error: unknown,
): Promise<void> {
  const outcome = await within(output, "the stream's end");
  assert.equal(outcome.ok, false, "the stream did not fail");
  if (!outcome.ok) assert.equal(outcome.reason, error);
}
