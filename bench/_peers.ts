// The pipelines under comparison. Each one maps `items` numbers through `fn`
// with `capacity` calls at once and resolves with how many outputs it saw,
// so a run that drops or duplicates items is caught.
import { Readable } from "node:stream";
import { pMapIterable } from "p-map";
import { count, lastValueFrom, mergeMap, range } from "rxjs";
import { AsyncIOTransformStream, mapAsync } from "../mod.ts";
import type { AsyncIOOptions, CallContext } from "../mod.ts";

/** The mapped function: resolves to its input, at once or after a delay. */
export type Fn = (input: number, context?: CallContext) => Promise<number>;

export interface RunOptions {
  items: number;
  capacity: number;
  fn: Fn;
  /** Our `timeout` option; the peers have none. */
  timeout?: number;
  /** The calls in flight, when below `capacity` (see {@linkcode hasConcurrency}). */
  concurrency?: number;
}

/**
 * Whether our stream has a `concurrency` option (calls in flight, apart from
 * `capacity`): it then rejects 0 with a RangeError, and ignores it otherwise.
 */
export const hasConcurrency: boolean = (() => {
  try {
    new AsyncIOTransformStream((x: number) => x, {
      concurrency: 0,
    } as AsyncIOOptions<number, number>);
    return false;
  } catch (error) {
    return error instanceof RangeError;
  }
})();

export type Pipeline = (options: RunOptions) => Promise<number>;

/** A web source that fills its queue in batches, so it costs little per item. */
function webSource(items: number): ReadableStream<number> {
  let next = 0;
  return new ReadableStream<number>({
    pull(controller) {
      while (next < items && (controller.desiredSize ?? 0) > 0) {
        controller.enqueue(next++);
      }
      if (next === items) controller.close();
    },
  }, { highWaterMark: 16 });
}

async function drainWeb(stream: ReadableStream<unknown>): Promise<number> {
  let outputs = 0;
  await stream.pipeTo(
    new WritableStream({
      write() {
        outputs++;
      },
    }),
  );
  return outputs;
}

function* numbers(items: number): Generator<number> {
  for (let i = 0; i < items; i++) yield i;
}

export const floor: Pipeline = ({ items }) =>
  drainWeb(webSource(items).pipeThrough(new TransformStream<number, number>()));

/** The stream machinery with a user `transform` callback: the floor for any transform. */
export const userCallbackFloor: Pipeline = ({ items }) =>
  drainWeb(
    webSource(items).pipeThrough(
      new TransformStream<number, number>({
        transform(chunk, controller) {
          controller.enqueue(chunk);
        },
      }),
    ),
  );

/** The least a concurrent map can do: call, then enqueue, with no bound or order. */
export const minimalMap: Pipeline = ({ items, fn }) =>
  drainWeb(
    webSource(items).pipeThrough(
      new TransformStream<number, number>({
        transform(chunk, controller) {
          fn(chunk).then((output) => controller.enqueue(output));
        },
      }),
    ),
  );

/**
 * The least an ordered, bounded stream can do on a writable and a readable
 * side of its own, as ours is built (no TransformStream): one call and one
 * `.then` per item, a ring of `capacity` slots, and a write that waits while
 * `capacity` inputs are pending. It has no signal, stop, timeout, snapshot
 * or stats, and it ignores the readable side's backpressure: a reference
 * for what the stream machinery and a promise per item cost, not a peer.
 */
export const minimalStreamMap: Pipeline = ({ items, capacity, fn }) => {
  const outputs: number[] = new Array(capacity);
  const done: boolean[] = new Array(capacity).fill(false);
  let head = 0;
  let tail = 0;
  let room: (() => void) | undefined;
  let drained: (() => void) | undefined;
  let readable!: ReadableStreamDefaultController<number>;
  const emit = () => {
    while (head < tail && done[head % capacity]) {
      const slot = head++ % capacity;
      done[slot] = false;
      readable.enqueue(outputs[slot]!);
    }
    if (room !== undefined) {
      const resolve = room;
      room = undefined;
      resolve();
    }
    if (drained !== undefined && head === tail) drained();
  };
  const sides = {
    readable: new ReadableStream<number>({
      start: (controller) => void (readable = controller),
    }),
    writable: new WritableStream<number>({
      write(input) {
        const slot = tail++ % capacity;
        fn(input).then((output) => {
          outputs[slot] = output;
          done[slot] = true;
          emit();
        });
        if (tail - head < capacity) return;
        return new Promise<void>((resolve) => room = resolve);
      },
      close() {
        if (head === tail) return readable.close();
        return new Promise<void>((resolve) =>
          drained = () => {
            readable.close();
            resolve();
          }
        );
      },
    }),
  };
  return drainWeb(webSource(items).pipeThrough(sides));
};

export const sequential: Pipeline = ({ items, fn }) =>
  drainWeb(
    webSource(items).pipeThrough(
      new TransformStream<number, number>({
        async transform(chunk, controller) {
          controller.enqueue(await fn(chunk));
        },
      }),
    ),
  );

function ours(order: "ordered" | "unordered"): Pipeline {
  return ({ items, capacity, fn, timeout, concurrency }) =>
    drainWeb(
      webSource(items).pipeThrough(
        new AsyncIOTransformStream<number, number>(fn, {
          order,
          capacity,
          ...(timeout === undefined ? {} : { timeout }),
          ...(concurrency === undefined ? {} : { concurrency }),
        } as AsyncIOOptions<number, number>),
      ),
    );
}

export const oursOrdered: Pipeline = ours("ordered");
export const oursUnordered: Pipeline = ours("unordered");

/** Ours on an iterable, from the same generator as pMapIterable's. */
function oursIterable(order: "ordered" | "unordered"): Pipeline {
  return async ({ items, capacity, fn, timeout, concurrency }) => {
    let outputs = 0;
    const mapped = mapAsync<number, number>(numbers(items), fn, {
      order,
      capacity,
      ...(timeout === undefined ? {} : { timeout }),
      ...(concurrency === undefined ? {} : { concurrency }),
    });
    for await (const _ of mapped) outputs++;
    return outputs;
  };
}

/**
 * The least a bounded, ordered async iterator over an iterable can do per
 * item: one call, one `.then`, a ring of `capacity` slots, one promise per
 * `next()`. It has no signal, stop, timeout or snapshot: a reference for
 * what the machinery itself costs, not a peer.
 */
export const minimalIterableMap: Pipeline = async ({ items, capacity, fn }) => {
  const source = numbers(items);
  const results: IteratorResult<number>[] = new Array(capacity);
  let head = 0;
  let tail = 0;
  let waiting: ((result: IteratorResult<number>) => void) | undefined;
  const fill = () => {
    while (tail - head < capacity) {
      const next = source.next();
      if (next.done) return;
      const slot = tail++ % capacity;
      fn(next.value).then((value) => {
        results[slot] = { done: false, value };
        if (waiting !== undefined && slot === head % capacity) {
          const resolve = waiting;
          waiting = undefined;
          resolve(take());
        }
      });
    }
  };
  const take = () => {
    const slot = head++ % capacity;
    const result = results[slot]!;
    results[slot] = undefined!;
    fill();
    return result;
  };
  const iterator: AsyncIterableIterator<number> = {
    next() {
      if (head === tail) fill();
      if (head === tail) {
        return Promise.resolve({ done: true, value: undefined });
      }
      if (results[head % capacity] !== undefined) {
        return Promise.resolve(take());
      }
      return new Promise((resolve) => waiting = resolve);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  let outputs = 0;
  for await (const _ of iterator) outputs++;
  return outputs;
};

export const mapAsyncOrdered: Pipeline = oursIterable("ordered");
export const mapAsyncUnordered: Pipeline = oursIterable("unordered");

export const readableMap: Pipeline = async ({ items, capacity, fn }) => {
  let outputs = 0;
  const mapped = Readable.from(numbers(items)).map((x: number) => fn(x), {
    concurrency: capacity,
  });
  for await (const _ of mapped) outputs++;
  return outputs;
};

/**
 * `Readable.map` bounded as our `capacity` is: with `highWaterMark: 0` it
 * holds at most `concurrency` unemitted results (by default it holds up to
 * 2 × concurrency − 1), so both pipelines keep the same inputs at most.
 */
export const readableMapBounded: Pipeline = async ({ items, capacity, fn }) => {
  let outputs = 0;
  // Node documents the option; its types, which Deno bundles, lag behind.
  const options = { concurrency: capacity, highWaterMark: 0 };
  const mapped = Readable.from(numbers(items)).map(
    (x: number) => fn(x),
    options,
  );
  for await (const _ of mapped) outputs++;
  return outputs;
};

function pMap(preserveOrder: boolean): Pipeline {
  return async ({ items, capacity, fn }) => {
    let outputs = 0;
    const mapped = pMapIterable(numbers(items), (x) => fn(x), {
      concurrency: capacity,
      backpressure: capacity,
      preserveOrder,
    });
    for await (const _ of mapped) outputs++;
    return outputs;
  };
}

export const pMapOrdered: Pipeline = pMap(true);
export const pMapUnordered: Pipeline = pMap(false);

export const rxMergeMap: Pipeline = ({ items, capacity, fn }) =>
  lastValueFrom(
    range(0, items).pipe(mergeMap((x) => fn(x), capacity), count()),
  );
