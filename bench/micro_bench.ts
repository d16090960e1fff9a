// `deno task bench`: micro-benchmarks of the hot paths. The internal modules
// are reached directly; the last group goes through the public API.
import { DeadlineQueue } from "../src/_deadline_queue.ts";
import { newCounters } from "../src/_counters.ts";
import { Element } from "../src/_element.ts";
import type { ElementHost } from "../src/_element_host.ts";
import { SignalSource } from "../src/_attempt.ts";
import { Fifo } from "../src/_fifo.ts";
import { configOf } from "../src/_config.ts";
import { Engine } from "../src/_engine.ts";
import type { Output } from "../src/_output.ts";
import { OrderedQueue } from "../src/_ordered_queue.ts";
import { ElementList } from "../src/_queue.ts";
import { UnorderedQueue } from "../src/_unordered_queue.ts";
import { AsyncIOTransformStream } from "../mod.ts";

const BATCH = 100;

/** A host that completes nothing by itself, for driving elements by hand. */
function host(
  timeout: number | undefined,
  completed: (element: Element<number, number>) => void = () => {},
): ElementHost<number, number> {
  const config = configOf<number, number, never>(
    (x: number) => x,
    timeout === undefined ? {} : { timeout },
  );
  const counters = newCounters();
  // Not a literal return, so that hooks this version lacks are not an error.
  const host = {
    config,
    counters,
    deadlines: timeout === undefined
      ? undefined
      : new DeadlineQueue<Element<number, number>>(timeout),
    attemptDeadlines: undefined,
    signals: new SignalSource(timeout === undefined),
    requestStart: (element: Element<number, number>) => element.start(),
    callEnded: () => {},
    completed,
    failed: (_element: Element<number, number>, error: unknown) => {
      throw error;
    },
    limit: undefined,
    sampled: () => {},
    // The plain path, as the engine picks it for this config.
    plain: true,
  };
  return host;
}

const idle = host(undefined);
const elements = Array.from(
  { length: BATCH },
  (_, i) => new Element<number, number>(idle, i),
);

Deno.bench("ElementList: append then remove 100", { group: "queue" }, () => {
  const list = new ElementList<number, number>();
  for (const element of elements) list.append(element);
  for (const element of elements) list.remove(element);
});

// Elements reach DONE through the real state machine (a synchronous
// function), and the host hands them to the queue under test.
function queueBench(
  queue: OrderedQueue<number, number> | UnorderedQueue<number, number>,
  reverse: boolean,
) {
  const completing = host(undefined, (element) => queue.completed(element));
  const batch = Array.from(
    { length: BATCH },
    (_, i) => new Element<number, number>(completing, i),
  );
  for (const element of batch) queue.push(element);
  if (reverse) batch.reverse();
  for (const element of batch) element.start();
}

Deno.bench(
  "OrderedQueue: push 100, complete in order",
  { group: "queue", baseline: true },
  () => queueBench(new OrderedQueue<number, number>(() => true), false),
);

Deno.bench(
  "OrderedQueue: push 100, complete in reverse",
  { group: "queue" },
  () => queueBench(new OrderedQueue<number, number>(() => true), true),
);

Deno.bench(
  "UnorderedQueue: push 100, complete 100",
  { group: "queue" },
  () => queueBench(new UnorderedQueue<number, number>(() => true), false),
);

Deno.bench("DeadlineQueue: add then remove 100", { group: "queue" }, () => {
  const deadlines = new DeadlineQueue<Element<number, number>>(60_000);
  for (const element of elements) deadlines.add(element);
  for (const element of elements) deadlines.remove(element);
  deadlines.dispose();
});

Deno.bench("Fifo: push then shift 100", { group: "queue" }, () => {
  const fifo = new Fifo<number>();
  for (let i = 0; i < BATCH; i++) fifo.push(i);
  for (let i = 0; i < BATCH; i++) fifo.shift();
});

// One pass of a call through the state machine: QUEUED → RUNNING → DONE,
// with a function that returns its output at once.
const plain = host(undefined);
const timed: {
  -readonly [K in keyof ElementHost<number, number>]: ElementHost<
    number,
    number
  >[K];
} = host(60_000);

Deno.bench(
  "Element: 100 × start → settle → completed",
  { group: "element", baseline: true },
  () => {
    for (let i = 0; i < BATCH; i++) new Element(plain, i).start();
  },
);

Deno.bench(
  "Element: 100 × start → settle → completed, with a timeout",
  { group: "element" },
  () => {
    // A fresh deadline queue each time, disposed so no timer outlives the bench.
    const deadlines = new DeadlineQueue<Element<number, number>>(60_000);
    timed.deadlines = deadlines;
    for (let i = 0; i < BATCH; i++) new Element(timed, i).start();
    deadlines.dispose();
  },
);

// The public API, end to end: 1,000 items through a stream.
const ITEMS = 1_000;

function source(): ReadableStream<number> {
  let next = 0;
  return new ReadableStream<number>({
    pull(controller) {
      while (next < ITEMS && (controller.desiredSize ?? 0) > 0) {
        controller.enqueue(next++);
      }
      if (next === ITEMS) controller.close();
    },
  }, { highWaterMark: 16 });
}

const sink = () => new WritableStream<number>();
// Async on purpose: the calls return promises, as users' functions do.
// deno-lint-ignore require-await
const immediate = async (x: number) => x;

Deno.bench(
  "pass-through TransformStream (floor)",
  { group: "stream", baseline: true },
  async () => {
    await source().pipeThrough(new TransformStream()).pipeTo(sink());
  },
);

for (const order of ["ordered", "unordered"] as const) {
  for (const capacity of [1, 100]) {
    Deno.bench(
      `${order}, capacity ${capacity}`,
      { group: "stream" },
      async () => {
        await source().pipeThrough(
          new AsyncIOTransformStream(immediate, { order, capacity }),
        ).pipeTo(sink());
      },
    );
  }
  Deno.bench(
    `${order}, capacity 100, timeout`,
    { group: "stream" },
    async () => {
      await source().pipeThrough(
        new AsyncIOTransformStream(immediate, {
          order,
          capacity: 100,
          timeout: 60_000,
        }),
      ).pipeTo(sink());
    },
  );
}

// The engine alone, fed by a loop: 1,000 inputs with at most 100 pending,
// against the least that a call and its `.then` cost. The difference is the
// engine's bookkeeping per input (README, "Performance").
const counting = (): Output<number> & { count: number } => ({
  count: 0,
  backpressure: false,
  holdsBack: false,
  enqueue() {
    this.count++;
  },
  close() {},
  error(reason) {
    throw reason;
  },
});

Deno.bench(
  "1,000 calls, at most 100 pending: a call and its .then, nothing else",
  { group: "engine", baseline: true },
  async () => {
    let pending = 0;
    let done = 0;
    let room: (() => void) | undefined;
    const ended = () => {
      done++;
      pending--;
      const wake = room;
      room = undefined;
      wake?.();
    };
    for (let i = 0; i < ITEMS; i++) {
      pending++;
      immediate(i).then(ended);
      if (pending === 100) await new Promise<void>((r) => room = r);
    }
    while (done < ITEMS) await new Promise<void>((r) => room = r);
  },
);

for (const order of ["ordered", "unordered"] as const) {
  Deno.bench(
    `1,000 inputs through the engine, ${order}, capacity 100`,
    { group: "engine" },
    async () => {
      const output = counting();
      const engine = new Engine<number, number, never>(
        configOf<number, number, never>(immediate, { order, capacity: 100 }),
        output,
      );
      await engine.start();
      for (let i = 0; i < ITEMS; i++) {
        const room = engine.write(i);
        if (room !== undefined) await room;
      }
      await engine.end();
      if (output.count !== ITEMS) throw new Error("an output was lost");
    },
  );
}
