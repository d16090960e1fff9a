// The heap each in-flight item costs, in its own process: `capacity` calls
// are started and held pending, the heap is measured after forced
// collections, then the calls are released and the pipeline drains. The
// "user's promises" row holds the same pending promises with no pipeline at
// all: what the caller's own function costs, which every row includes.
//
//   deno run --v8-flags=--expose-gc --import-map=dev_deps.json --allow-all \
//     bench/_inflight_child.ts <pipeline> <capacity>
import { pMapIterable } from "p-map";
import { AsyncIOTransformStream, mapAsync } from "../mod.ts";

const pipeline = Deno.args[0] ?? "mapAsync, ordered";
const capacity = Number(Deno.args[1] ?? 10_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("Run with --v8-flags=--expose-gc");

function heap(): number {
  gc!();
  gc!();
  return Deno.memoryUsage().heapUsed;
}

const resolvers: ((value: number) => void)[] = [];
// Its context is not read: the cheapest call a user can write.
const fn = (x: number) =>
  new Promise<number>((resolve) => resolvers.push(() => resolve(x)));

function* numbers(items: number): Generator<number> {
  for (let i = 0; i < items; i++) yield i;
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 1));
}

/** Starts the pipeline; returns how to drain it once the calls resolve. */
function start(name: string): () => Promise<number> {
  const items = capacity;
  const count = async (iterable: AsyncIterable<unknown>) => {
    let outputs = 0;
    for await (const _ of iterable) outputs++;
    return outputs;
  };
  switch (name) {
    case "user's promises": {
      for (let i = 0; i < items; i++) void fn(i);
      return () => Promise.resolve(items);
    }
    case "mapAsync, ordered":
    case "mapAsync, unordered": {
      const order = name.endsWith("unordered") ? "unordered" : "ordered";
      const running = count(mapAsync(numbers(items), fn, { order, capacity }));
      return () => running;
    }
    case "AsyncIOTransformStream, ordered": {
      const running = count(
        ReadableStream.from(numbers(items)).pipeThrough(
          new AsyncIOTransformStream(fn, { capacity }),
        ),
      );
      return () => running;
    }
    case "p-map pMapIterable": {
      const running = count(
        pMapIterable(numbers(items), fn, {
          concurrency: capacity,
          backpressure: capacity,
        }),
      );
      return () => running;
    }
    default:
      throw new TypeError(`Cannot measure "${name}": unknown pipeline`);
  }
}

const before = heap();
const drain = start(pipeline);
await until(() => resolvers.length === capacity);
const during = heap();
for (const resolve of resolvers) resolve(0);
const outputs = await drain();
if (outputs !== capacity) {
  throw new Error(`${pipeline} emitted ${outputs} of ${capacity}`);
}
console.log(JSON.stringify({
  pipeline,
  capacity,
  bytesPerItem: (during - before) / capacity,
}));
