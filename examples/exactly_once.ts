// An exactly-once enrichment pipeline, the way Flink builds one:
//
// - the SOURCE has offsets and writes a CheckpointBarrier every few records,
//   remembering its offset for that checkpoint;
// - the STREAM takes its snapshot at the barrier (options.onCheckpoint) and
//   forwards the barrier at once, ahead of the results still pending;
// - the SINK buffers outputs and commits them when the barrier reaches it.
//   That commit completes the checkpoint.
//
// After a crash, all three restart from the last completed checkpoint: the
// source from its offset, the stream from its snapshot (the inputs that were
// in flight), and the sink from what it committed. Nothing is lost and
// nothing is written twice.
//
//   deno run examples/exactly_once.ts
import {
  type AsyncIOState,
  AsyncIOTransformStream,
  CheckpointBarrier,
} from "../mod.ts";

const ORDERS = Array.from({ length: 30 }, (_, id) => ({ id, amount: id * 3 }));
const CHECKPOINT_EVERY = 5;

/** What survives a crash: a completed checkpoint and the committed output. */
interface Checkpoint {
  sourceOffset: number;
  streamState: AsyncIOState<Order> | undefined;
  committedCount: number;
}
type Order = (typeof ORDERS)[number];
type Enriched = Order & { currency: string };

/** The external lookup: slow, out of order, and it honours the signal. */
async function lookupCurrency(
  order: Order,
  signal: AbortSignal,
): Promise<Enriched> {
  await new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, 5 + (order.id * 7) % 20);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
  return { ...order, currency: order.id % 2 ? "EUR" : "USD" };
}

function source(from: number, offsets: Map<number, number>) {
  let offset = from;
  let barrier: CheckpointBarrier | undefined;
  return new ReadableStream<Order | CheckpointBarrier>({
    pull(controller) {
      if (barrier !== undefined) {
        controller.enqueue(barrier);
        barrier = undefined;
      } else if (offset === ORDERS.length) {
        controller.close();
      } else {
        controller.enqueue(ORDERS[offset++]!);
        if (offset % CHECKPOINT_EVERY === 0) {
          const id = offset / CHECKPOINT_EVERY;
          offsets.set(id, offset);
          barrier = new CheckpointBarrier(id);
        }
      }
    },
  }, { highWaterMark: 0 });
}

async function run(
  from: Checkpoint,
  committed: Enriched[],
  crashAfterOutputs = Infinity,
): Promise<Checkpoint | "done"> {
  const offsets = new Map<number, number>();
  const states = new Map<number, AsyncIOState<Order>>();
  const enrich = new AsyncIOTransformStream<Order, Enriched, CheckpointBarrier>(
    (order, { signal }) => lookupCurrency(order, signal),
    {
      order: "unordered",
      capacity: 8,
      ...(from.streamState ? { restore: from.streamState } : {}),
      // A real job writes this to durable storage.
      onCheckpoint: (state, barrier) =>
        void states.set(barrier.id, JSON.parse(JSON.stringify(state))),
    },
  );
  let completed = from;
  let buffered: Enriched[] = [];
  let received = 0;
  const sink = new WritableStream<Enriched | CheckpointBarrier>({
    write(chunk) {
      if (chunk instanceof CheckpointBarrier) {
        committed.push(...buffered); // a transactional commit
        buffered = [];
        completed = {
          sourceOffset: offsets.get(chunk.id)!,
          streamState: states.get(chunk.id)!,
          committedCount: committed.length,
        };
        console.log(
          `  checkpoint ${chunk.id}: source at ${completed.sourceOffset}, ` +
            `${
              completed.streamState!.entries.length
            } in flight, ${committed.length} committed`,
        );
        return;
      }
      buffered.push(chunk);
      if (++received === crashAfterOutputs) throw new Error("the machine died");
    },
    close() {
      committed.push(...buffered);
    },
  });
  try {
    await source(from.sourceOffset, offsets).pipeThrough(enrich).pipeTo(sink);
    return "done";
  } catch (error) {
    console.log(`  crashed: ${(error as Error).message}`);
    committed.length = completed.committedCount; // uncommitted writes are lost
    return completed;
  }
}

const committed: Enriched[] = [];
let checkpoint: Checkpoint = {
  sourceOffset: 0,
  streamState: undefined,
  committedCount: 0,
};
for (const [attempt, crashAfter] of [[1, 17], [2, 6], [3, Infinity]] as const) {
  console.log(`run ${attempt}, from source offset ${checkpoint.sourceOffset}:`);
  const outcome = await run(checkpoint, committed, crashAfter);
  if (outcome === "done") break;
  checkpoint = outcome;
}

const ids = committed.map((order) => order.id).sort((a, b) => a - b);
const exactlyOnce = ids.length === ORDERS.length &&
  ids.every((id, i) => id === i);
console.log(
  `${committed.length} orders committed for ${ORDERS.length} read; ` +
    (exactlyOnce ? "every order exactly once" : "NOT exactly once"),
);
if (!exactlyOnce) throw new Error("exactly-once violated");
