// The snapshot format: plain data that survives JSON and structuredClone.
import { describe } from "./_describe.ts";
import type { AsyncIOStateEntry } from "./async_io_state.ts";

export const STATE_VERSION = 1;

const PREFIX = "Cannot construct AsyncIOTransformStream as";

function malformed(what: string, value: unknown): TypeError {
  return new TypeError(
    `${PREFIX} ${what}: current value is ${describe(value)}`,
  );
}

/**
 * Checks a state handed to `options.restore` and copies its entries, so a
 * later change to the caller's object cannot reach the stream. Throws a
 * TypeError that says what is wrong.
 */
export function validateState<I>(state: unknown): AsyncIOStateEntry<I>[] {
  if (state === null || typeof state !== "object") {
    throw malformed("restore must be a state from snapshot()", state);
  }
  const { version, entries } = state as {
    version?: unknown;
    entries?: unknown;
  };
  if (version !== STATE_VERSION) {
    throw malformed(
      `restore.version must be ${STATE_VERSION}, the only format this version reads`,
      version,
    );
  }
  if (!Array.isArray(entries)) {
    throw malformed("restore.entries must be an array", entries);
  }
  const copies: AsyncIOStateEntry<I>[] = [];
  // An index loop, not forEach: forEach skips the holes of a sparse array.
  for (let index = 0; index < entries.length; index++) {
    copies.push(validateEntry<I>(entries[index], `restore.entries[${index}]`));
  }
  return copies;
}

function validateEntry<I>(entry: unknown, at: string): AsyncIOStateEntry<I> {
  if (entry === null || typeof entry !== "object") {
    throw malformed(`${at} must be an object`, entry);
  }
  const { kind } = entry as { kind?: unknown };
  if (kind === "record") {
    if (!("input" in entry)) {
      throw malformed(`${at}.input must be present`, undefined);
    }
    return recordEntry((entry as { input: I }).input);
  }
  if (kind === "watermark") {
    const { timestamp } = entry as { timestamp?: unknown };
    if (typeof timestamp !== "number") {
      throw malformed(`${at}.timestamp must be a number`, timestamp);
    }
    return watermarkEntry(timestamp);
  }
  throw malformed(`${at}.kind must be "record" or "watermark"`, kind);
}

export function recordEntry<I>(input: I): AsyncIOStateEntry<I> {
  return { kind: "record", input };
}

export function watermarkEntry<I>(timestamp: number): AsyncIOStateEntry<I> {
  return { kind: "watermark", timestamp };
}
