// Issue 12's stop matrix, third path: the signal of a pipe. Either the
// one-signal pattern, the same signal on `src.pipeThrough(stream, { signal })`
// and on `stream.readable.pipeTo(dest, { signal })`, or the readable end's
// pipe alone. See tests/_stop_scenarios.ts for the rules checked.
//
// `src.pipeTo(stream.writable, { signal })` alone, with a write blocked at
// capacity, is not tested as a stop: under the Streams spec the pipe waits
// for that write before it aborts, so no stream can see the signal. The
// one-signal pattern covers that state ("a write blocked at capacity").
import {
  type BuildOptions,
  type Scenario,
  type StopPath,
  testStopPaths,
} from "./_stop_scenarios.ts";

function pipeToDest(s: Scenario, signal: AbortSignal): Promise<void> {
  const dest = new WritableStream({
    write: (chunk) => void s.seen.push(chunk),
  });
  return s.stream.readable.pipeTo(dest, { signal });
}

/** Stops by aborting the signal of the readable end's pipe, with `build`. */
function pipeSignalPath(
  name: string,
  reasonMessage: string,
  build: (signal: AbortSignal) => Omit<BuildOptions, "attach">,
): StopPath {
  return {
    name,
    prepare: () => {
      const controller = new AbortController();
      let piped!: Promise<void>;
      return {
        build: {
          ...build(controller.signal),
          attach: (s) => void (piped = pipeToDest(s, controller.signal)),
        },
        stop: () => {
          const reason = new Error(reasonMessage);
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
  };
}

const PATHS: StopPath[] = [
  pipeSignalPath(
    "the signal of both pipes (the one-signal pattern)",
    "both pipes' signal",
    (signal) => ({ input: "source", pipeSignal: signal }),
  ),
  pipeSignalPath(
    "the signal of the readable end's pipe",
    "the readable pipe's signal",
    () => ({ input: "writer" }),
  ),
];

testStopPaths(PATHS);
