// One memory run, in its own process: `items` inputs through our stream at
// capacity 100 with a timeout and an abort signal, then a report on stdout.
// It never calls Deno.exit: the parent checks that it exits by itself, which
// it cannot while any timer or listener of ours is left behind.
import { AsyncIOTransformStream } from "../mod.ts";

const items = Number(Deno.args[0] ?? 1_000_000);
const order = Deno.args[1] === "unordered" ? "unordered" : "ordered";
const gc = (globalThis as { gc?: () => void }).gc;

function collect(): number {
  gc?.();
  gc?.();
  return Deno.memoryUsage().heapUsed;
}

/** The process's peak resident set so far, from the kernel (Linux). */
function peakRss(): number {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const kib = /VmHWM:\s+(\d+)/.exec(status)?.[1];
    if (kib !== undefined) return Number(kib) * 1024;
  } catch {
    // Not Linux: fall back on the samples.
  }
  return rssPeak;
}

// The signal counts its listeners, so one left behind is seen.
const controller = new AbortController();
let listeners = 0;
const signal = controller.signal;
const add = signal.addEventListener.bind(signal);
const remove = signal.removeEventListener.bind(signal);
signal.addEventListener = (...args: Parameters<typeof add>) => {
  listeners++;
  add(...args);
};
signal.removeEventListener = (...args: Parameters<typeof remove>) => {
  listeners--;
  remove(...args);
};

const heapBefore = collect();
let heapPeak = heapBefore;
let rssPeak = Deno.memoryUsage().rss;
let next = 0;
let outputs = 0;
const started = performance.now();
await new ReadableStream<number>({
  pull(controller) {
    while (next < items && (controller.desiredSize ?? 0) > 0) {
      controller.enqueue(next++);
    }
    if (next === items) controller.close();
  },
}, { highWaterMark: 16 })
  .pipeThrough(
    // deno-lint-ignore require-await -- an async function, as users write them
    new AsyncIOTransformStream<number, number>(async (x) => x, {
      order,
      capacity: 100,
      timeout: 30_000,
      signal,
    }),
  )
  .pipeTo(
    new WritableStream({
      write() {
        if (++outputs % 10_000 === 0) {
          const usage = Deno.memoryUsage();
          heapPeak = Math.max(heapPeak, usage.heapUsed);
          rssPeak = Math.max(rssPeak, usage.rss);
        }
      },
    }),
  );
const seconds = (performance.now() - started) / 1000;
const heapAfter = collect();
console.log(JSON.stringify({
  items,
  order,
  outputs,
  itemsPerSecond: items / seconds,
  heapBefore,
  heapAfter,
  heapPeak,
  rssPeak: peakRss(),
  listenersLeft: listeners,
}));
