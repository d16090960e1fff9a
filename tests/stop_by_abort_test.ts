// Issue 12's stop matrix, second path: aborting the writable side, by
// writable.abort() or a writer's abort(). See tests/_stop_scenarios.ts for
// the rules checked.
import { test } from "node:test";
import {
  caseName,
  cells,
  checkStop,
  type StopPath,
} from "./_stop_scenarios.ts";

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
        return { done, reason, when: "synchronously", expect: "fulfilled" };
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
        return { done, reason, when: "synchronously", expect: "fulfilled" };
      },
    }),
  },
];

for (const path of PATHS) {
  for (const cell of cells()) {
    test(caseName(path, cell), () => checkStop(path, cell));
  }
}
