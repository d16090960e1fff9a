// Issue 12's stop matrix, third path: the signal of a pipe. Either the
// one-signal pattern, the same signal on `src.pipeThrough(stream, { signal })`
// and on `stream.readable.pipeTo(dest, { signal })`, or the readable end's
// pipe alone. See tests/_stop_scenarios.ts for the rules checked.
//
// `src.pipeTo(stream.writable, { signal })` alone, with a write blocked at
// capacity, is not tested as a stop: under the Streams spec the pipe waits
// for that write before it aborts, so no stream can see the signal. The
// one-signal pattern covers that state ("a write blocked at capacity").
import { test } from "node:test";
import {
  caseName,
  cells,
  checkStop,
  type Scenario,
  type StopPath,
} from "./_stop_scenarios.ts";

function pipeToDest(s: Scenario, signal: AbortSignal): Promise<void> {
  const dest = new WritableStream({
    write: (chunk) => void s.seen.push(chunk),
  });
  return s.stream.readable.pipeTo(dest, { signal });
}

const PATHS: StopPath[] = [
  {
    name: "the signal of both pipes (the one-signal pattern)",
    prepare: () => {
      const controller = new AbortController();
      let piped!: Promise<void>;
      return {
        build: {
          input: "source",
          pipeSignal: controller.signal,
          attach: (s) => void (piped = pipeToDest(s, controller.signal)),
        },
        stop: () => {
          const reason = new Error("both pipes' signal");
          controller.abort(reason);
          return {
            done: piped,
            reason,
            when: "within a few turns",
            expect: "rejected with reason",
          };
        },
      };
    },
  },
  {
    name: "the signal of the readable end's pipe",
    prepare: () => {
      const controller = new AbortController();
      let piped!: Promise<void>;
      return {
        build: {
          input: "writer",
          attach: (s) => void (piped = pipeToDest(s, controller.signal)),
        },
        stop: () => {
          const reason = new Error("the readable pipe's signal");
          controller.abort(reason);
          return {
            done: piped,
            reason,
            when: "within a few turns",
            expect: "rejected with reason",
          };
        },
      };
    },
  },
];

for (const path of PATHS) {
  for (const cell of cells()) {
    test(caseName(path, cell), () => checkStop(path, cell));
  }
}
