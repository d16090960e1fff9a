// Issue 12's stop matrix, fourth path: `options.signal` aborts. The stream
// errors with the signal's reason. See tests/_stop_scenarios.ts for the
// rules checked.
import { type StopPath, testStopPaths } from "./_stop_scenarios.ts";

const PATH: StopPath = {
  name: "options.signal",
  prepare: () => {
    const controller = new AbortController();
    let closed!: Promise<void>;
    return {
      build: {
        input: "writer",
        signal: controller.signal,
        attach: (s) => void (closed = s.stream.readable.getReader().closed),
      },
      stop: () => {
        const reason = new Error("options.signal");
        controller.abort(reason);
        return {
          done: closed,
          reason,
          when: "synchronously",
          expect: "rejected with reason",
        };
      },
    };
  },
};

testStopPaths([PATH]);
