// Issue 12's stop matrix, first path: cancelling the readable side, by
// readable.cancel(), a reader's cancel(), `for await` break or throw, or the
// iterator's return(). See tests/_stop_scenarios.ts for the rules checked.
import assert from "node:assert/strict";
import {
  type Scenario,
  type StopPath,
  type Stopped,
  testStopPaths,
} from "./_stop_scenarios.ts";
import { deferred } from "./_deferred.ts";

const NO_CHUNK_BEFORE_OPEN =
  "no chunk reaches the loop body while open() is pending, so the loop " +
  "cannot break; return() covers that state";

/** Stops a `for await` loop that took one chunk by `exit`ing it. */
function loopExitPath(
  name: string,
  exit: "break" | "throw",
  expect: Stopped["expect"],
): StopPath {
  return {
    name,
    skip: (state) => state === "opening" ? NO_CHUNK_BEFORE_OPEN : undefined,
    prepare: () => {
      const exited = deferred<"break" | "throw">();
      let loop!: Promise<void>;
      return {
        build: {
          input: "writer",
          lead: true,
          attach: (s) => void (loop = loopUntilExit(s, exited.promise)),
        },
        stop: () => {
          exited.resolve(exit);
          return { done: loop, when: "when done", expect };
        },
      };
    },
  };
}

/** A `for await` loop that takes one chunk, then waits for `exit`. */
function loopUntilExit(s: Scenario, exit: Promise<"break" | "throw">) {
  return (async () => {
    for await (const chunk of s.stream.readable) {
      s.seen.push(chunk);
      if (await exit === "throw") throw new Error("thrown in the loop body");
      break;
    }
  })();
}

const PATHS: StopPath[] = [
  {
    name: "readable.cancel(reason)",
    prepare: () => ({
      build: { input: "writer" },
      stop: (s) => {
        const reason = new Error("readable.cancel()");
        const done = s.stream.readable.cancel(reason);
        return { done, reason, when: "synchronously", expect: "fulfilled" };
      },
    }),
  },
  {
    name: "reader.cancel(reason)",
    prepare: () => {
      let reader!: ReadableStreamDefaultReader<unknown>;
      return {
        build: {
          input: "writer",
          attach: (s) => {
            reader = s.stream.readable.getReader();
            // A read pending across the stop, as in a consumer's loop.
            reader.read().then(
              (read) => void (read.done || s.seen.push(read.value)),
              () => {},
            );
          },
        },
        stop: () => {
          const reason = new Error("reader.cancel()");
          const done = reader.cancel(reason);
          return { done, reason, when: "synchronously", expect: "fulfilled" };
        },
      };
    },
  },
  loopExitPath("for await … break", "break", "fulfilled"),
  loopExitPath("a throw inside the for await body", "throw", (result) => {
    const { ok, reason } = result as { ok: boolean; reason: Error };
    assert.equal(ok, false, "the loop ended without the throw");
    assert.equal(reason.message, "thrown in the loop body");
  }),
  {
    // While open() is pending no chunk can be read first, so the iterator
    // is a fresh one there; elsewhere it has read a leading watermark.
    name: "iterator return(reason)",
    prepare: ({ state }) => {
      let iterator!: AsyncIterator<unknown>;
      return {
        build: {
          input: "writer",
          lead: state !== "opening",
          attach: (s) => {
            iterator = s.stream.readable[Symbol.asyncIterator]();
            if (state === "opening") return;
            iterator.next().then(
              (next) => void (next.done || s.seen.push(next.value)),
              () => {},
            );
          },
        },
        stop: () => {
          const reason = new Error("iterator return()");
          const done = iterator.return!(reason);
          return { done, reason, when: "synchronously", expect: "fulfilled" };
        },
      };
    },
  },
];

testStopPaths(PATHS);
