// The snapshot format: plain data that survives JSON and structuredClone.
import { describe } from "./_describe.ts";
import type { AsyncIOState, AsyncIOStateEntry } from "./types.ts";

export const STATE_VERSION = 1;

const PREFIX = "Cannot construct AsyncIOTransformStream as";

function malformed(what: string, value: unknown): TypeError {
  return new TypeError(
    `${PREFIX} ${what}: current value is ${describe(value)}`,
  );
}

/** Checks a state handed to `options.restore`; throws a TypeError saying what is wrong. */
export function validateState<I>(state: unknown): AsyncIOState<I> {
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
  entries.forEach((entry: unknown, index) => {
    const at = `restore.entries[${index}]`;
    if (entry === null || typeof entry !== "object") {
      throw malformed(`${at} must be an object`, entry);
    }
    const { kind } = entry as { kind?: unknown };
    if (kind === "record") {
      if (!("input" in entry)) {
        throw malformed(`${at}.input must be present`, undefined);
      }
    } else if (kind === "watermark") {
      const { timestamp } = entry as { timestamp?: unknown };
      if (typeof timestamp !== "number") {
        throw malformed(`${at}.timestamp must be a number`, timestamp);
      }
    } else {
      throw malformed(`${at}.kind must be "record" or "watermark"`, kind);
    }
  });
  return state as AsyncIOState<I>;
}

export function recordEntry<I>(input: I): AsyncIOStateEntry<I> {
  return { kind: "record", input };
}

export function watermarkEntry<I>(timestamp: number): AsyncIOStateEntry<I> {
  return { kind: "watermark", timestamp };
}
