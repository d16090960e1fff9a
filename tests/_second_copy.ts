// A second copy of the library's markers, as when a dependency graph resolves
// two versions of it: every module of src/ loaded again under another path,
// so that nothing (a class, a module's symbol) is shared with ../mod.ts.
import type { CheckpointBarrier } from "../src/checkpoint_barrier.ts";
import type { Watermark } from "../src/watermark.ts";

export interface SecondCopy {
  Watermark: typeof Watermark;
  CheckpointBarrier: typeof CheckpointBarrier;
}

/**
 * Deno keys a module by the path it was imported from, symlinks unresolved:
 * src/ reached through tests/fixtures/second_copy_src loads anew. Bun
 * resolves the symlink back to src/, so there src/ is copied to a temporary
 * directory instead.
 */
export async function secondCopy(): Promise<SecondCopy> {
  if (!("Bun" in globalThis)) {
    return await load(new URL("./fixtures/second_copy_src/", import.meta.url));
  }
  const { cp, mkdtemp, rm } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const { fileURLToPath, pathToFileURL } = await import("node:url");
  const dir = await mkdtemp(`${tmpdir()}/async-io-second-copy-`);
  try {
    const src = fileURLToPath(new URL("../src/", import.meta.url));
    await cp(src, dir, { recursive: true });
    // Once loaded, a module needs its file no more.
    return await load(new URL(`${pathToFileURL(dir).href}/`));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function load(dir: URL): Promise<SecondCopy> {
  // Computed specifiers: `deno check` must not check src/ a second time.
  const [watermark, barrier] = await Promise.all([
    import(new URL("watermark.ts", dir).href),
    import(new URL("checkpoint_barrier.ts", dir).href),
  ]);
  return {
    Watermark: watermark.Watermark,
    CheckpointBarrier: barrier.CheckpointBarrier,
  };
}
