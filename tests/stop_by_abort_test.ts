// Issue 12's stop matrix, second path: aborting the writable side, by
// writable.abort() or a writer's abort(). See tests/_stop_scenarios.ts for
// the rules checked.
//
// With the input ended, the writable side's close is in flight when the
// abort comes. Under the Streams spec the abort's promise then settles as
// that close does, and the close must not fulfil (the input did not end
// cleanly): so there abort() rejects, with its own reason.
import {
  type Scenario,
  type StopPath,
  testStopPaths,
} from "./_stop_scenarios.ts";

const expectOf = ({ state }: Scenario) =>
  state === "flushing" ? "rejected with reason" as const : "fulfilled" as const;

const PATHS: StopPath[] = [
  {
    name: "writable.abort(reason)",
    prepare: () => ({
      build: { input: "writer" },
      stop: (s) => {
        // Pending writes stay pending when the writer lets go of the lock.
        s.writer!.releaseLock();
        const reason = new Error("writable.abort()");
        const done = s.stream.writable.abort(reason);
        return { done, reason, when: "synchronously", expect: expectOf(s) };
      },
    }),
  },
  {
    name: "writer.abort(reason)",
    prepare: () => ({
      build: { input: "writer" },
      stop: (s) => {
        const reason = new Error("writer.abort()");
        const done = s.writer!.abort(reason);
        return { done, reason, when: "synchronously", expect: expectOf(s) };
      },
    }),
  },
];

testStopPaths(PATHS);
