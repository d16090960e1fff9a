// `deno task bench:ab [REV] [--rounds N]`: the stream's overhead at REV (by
// default the first parent of HEAD) against the working tree, in one process
// and in interleaved rounds, each as a ratio to the pass-through
// TransformStream floor measured in the same round. REV is checked out into
// a temporary git worktree, which is removed at the end.
import { median } from "./_stats.ts";

type Make = () => TransformStream<number, number>;
interface StreamModule {
  AsyncIOTransformStream: new (
    fn: (input: number, context: { signal: AbortSignal }) => unknown,
    options?: Record<string, unknown>,
  ) => TransformStream<number, number>;
}

const args = [...Deno.args];
const roundsAt = args.indexOf("--rounds");
const rounds = roundsAt === -1 ? 9 : Number(args.splice(roundsAt, 2)[1]);
const rev = args[0] ?? "HEAD~1";
const ITEMS = 100_000;

async function git(...gitArgs: string[]): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command("git", {
    args: gitArgs,
  }).output();
  const text = new TextDecoder().decode(code === 0 ? stdout : stderr);
  if (code !== 0) throw new Error(`git ${gitArgs.join(" ")}: ${text}`);
  return text.trim();
}

function source(): ReadableStream<number> {
  let next = 0;
  return new ReadableStream<number>({
    pull(controller) {
      if (next < ITEMS) controller.enqueue(next++);
      else controller.close();
    },
  }, { highWaterMark: 0 });
}

async function itemsPerSecond(make: Make): Promise<number> {
  const start = performance.now();
  await source().pipeThrough(make()).pipeTo(new WritableStream());
  return ITEMS / ((performance.now() - start) / 1000);
}

// deno-lint-ignore require-await
const immediate = async (x: number) => x;
// deno-lint-ignore require-await
const readsSignal = async (x: number, { signal }: { signal: AbortSignal }) =>
  signal.aborted ? -1 : x;

function cases(label: string, mod: StreamModule): Record<string, Make> {
  const S = mod.AsyncIOTransformStream;
  return {
    [`${label} ordered`]: () => new S(immediate, { capacity: 100 }),
    [`${label} unordered`]: () =>
      new S(immediate, { capacity: 100, order: "unordered" }),
    [`${label} timeout`]: () =>
      new S(immediate, { capacity: 100, timeout: 60_000 }),
    [`${label} reads signal`]: () => new S(readsSignal, { capacity: 100 }),
  };
}

const top = await git("rev-parse", "--show-toplevel");
const commit = await git("rev-parse", "--short", rev);
const dir = await Deno.makeTempDir({ prefix: "async-io-ab-" });
await git("worktree", "add", "--detach", dir, commit);
try {
  const before = await import(`file://${dir}/mod.ts`) as StreamModule;
  const after = await import(`file://${top}/mod.ts`) as StreamModule;
  const all: Record<string, Make> = {
    floor: () => new TransformStream<number, number>(),
    ...cases(commit, before),
    ...cases("now", after),
  };
  const ratios: Record<string, number[]> = {};
  for (let round = 0; round <= rounds; round++) {
    const floor = await itemsPerSecond(all.floor!);
    for (const [name, make] of Object.entries(all)) {
      if (name === "floor") continue;
      const rate = await itemsPerSecond(make);
      if (round > 0) (ratios[name] ??= []).push(rate / floor); // 0 warms up
    }
  }
  console.log(
    `overhead against the pass-through floor, ${ITEMS} items, median of ${rounds} rounds`,
  );
  for (const [name, values] of Object.entries(ratios)) {
    console.log(`${name.padEnd(24)} ${median(values).toFixed(2)}×`);
  }
} finally {
  await git("worktree", "remove", "--force", dir);
}
