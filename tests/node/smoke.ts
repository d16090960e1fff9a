// Node smoke test of the npm build: scripts/node_smoke.ts installs the packed
// package, type-checks this file against its `.d.ts` files with tsc, and runs
// the output with plain `node`. Node-free on purpose: it uses only web APIs,
// so no @types/node is needed, and any failed check exits non-zero.
import {
  AsyncIOTransformStream,
  type CallContext,
  Watermark,
} from "@async-io/async-io";

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(`Smoke test failed: ${message}`);
}

function same(actual: unknown, expected: unknown, what: string): void {
  const [a, b] = [JSON.stringify(actual), JSON.stringify(expected)];
  check(a === b, `${what}: got ${a}, expected ${b}`);
}

/** Calls that stay pending until the test settles them, in any order. */
function manualCalls() {
  const pending = new Map<number, (output: string) => void>();
  const fn = (input: number, _context: CallContext) =>
    new Promise<string>((resolve) => pending.set(input, resolve));
  return { fn, pending };
}

function sourceOf<T>(chunks: T[]): ReadableStream<T> {
  return new ReadableStream<T>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 1));
}

/** Pipes 1..5 through the stream; completes the calls from last to first. */
async function reversedCompletions(order: "ordered" | "unordered") {
  const { fn, pending } = manualCalls();
  const stream = new AsyncIOTransformStream(fn, { order, capacity: 5 });
  check(stream instanceof TransformStream, "it is a TransformStream");
  const outputs: string[] = [];
  const done = sourceOf([1, 2, 3, 4, 5])
    .pipeThrough(stream)
    .pipeTo(new WritableStream({ write: (chunk) => void outputs.push(chunk) }));
  await waitFor(() => pending.size === 5);
  for (const input of [5, 4, 3, 2, 1]) {
    const emitted = outputs.length;
    pending.get(input)!(`out ${input}`);
    // Unordered emits each result as it completes; ordered holds them back.
    if (order === "unordered") await waitFor(() => outputs.length > emitted);
  }
  await done;
  return outputs;
}

same(
  await reversedCompletions("ordered"),
  ["out 1", "out 2", "out 3", "out 4", "out 5"],
  "ordered results come out in input order",
);
same(
  await reversedCompletions("unordered"),
  ["out 5", "out 4", "out 3", "out 2", "out 1"],
  "unordered results come out as the calls complete",
);

const aborted: string[] = [];
const withTimeout = new AsyncIOTransformStream<number, string, Watermark>(
  (n, { signal }) =>
    n === 2
      ? new Promise<string>((_, reject) => {
        signal.addEventListener("abort", () => {
          aborted.push((signal.reason as DOMException).name);
          reject(signal.reason);
        });
      })
      : `value ${n}`,
  {
    timeout: 50,
    onTimeout: (n, result) => result.complete([`fallback ${n}`]),
  },
);
const chunks: (string | Watermark)[] = [];
await sourceOf<number | Watermark>([1, 2, new Watermark(7), 3])
  .pipeThrough(withTimeout)
  .pipeTo(new WritableStream({ write: (chunk) => void chunks.push(chunk) }));
same(aborted, ["TimeoutError"], "the timed-out call's signal aborts");
same(
  chunks.map((chunk) =>
    chunk instanceof Watermark ? `watermark ${chunk.timestamp}` : chunk
  ),
  ["value 1", "fallback 2", "watermark 7", "value 3"],
  "timeout fallbacks and watermarks keep their place",
);
same(withTimeout.stats.timedOut, 1, "stats count the timeout");

console.log("Node smoke test passed: ordered, unordered, timeout, watermark");
