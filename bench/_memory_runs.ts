// The memory runs of `deno task bench:compare`, each in a process of its own:
// its heap holds nothing else, and the memory child must exit by itself, which
// it cannot while any timer or listener of ours is left behind.
import type { InFlightMemory, MemoryRun } from "./_results.ts";

const benchDir = new URL(".", import.meta.url);

/**
 * One memory run of ours in its own process (`_memory_child.ts`), which must
 * exit by itself once the stream ends: the report, and how long after it the
 * child exited.
 */
export async function memoryRun(
  items: number,
  order: string,
): Promise<MemoryRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--v8-flags=--expose-gc",
      // Deno reads /proc/self only with every permission; the child needs no other.
      "--allow-all",
      new URL("_memory_child.ts", benchDir).pathname,
      String(items),
      order,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let text = "";
  let reportedAt = NaN;
  const decoder = new TextDecoder();
  const reading = (async () => {
    for await (const chunk of child.stdout) {
      text += decoder.decode(chunk, { stream: true });
      if (Number.isNaN(reportedAt) && text.includes("\n")) {
        reportedAt = performance.now();
      }
    }
  })();
  // A child that outlives its report by this much has something left behind.
  const limitMs = 10_000;
  let timedOut = false;
  const killer = setTimeout(() => {
    timedOut = true;
    child.kill();
  }, 120_000 + limitMs);
  const status = await child.status;
  clearTimeout(killer);
  await reading;
  const exitMs = performance.now() - reportedAt;
  const report = JSON.parse(text.split("\n")[0]!);
  return {
    ...report,
    exitCode: status.code,
    exitAfterReportMs: exitMs,
    exitedPromptly: !timedOut && status.success && exitMs < limitMs,
  };
}

/** The heap per in-flight call of one pipeline, from its own process. */
export async function inFlightRun(
  pipeline: string,
  capacity: number,
): Promise<InFlightMemory> {
  const { stdout, success } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--v8-flags=--expose-gc",
      // The child imports p-map, a dev dependency.
      `--import-map=${new URL("../dev_deps.json", benchDir).pathname}`,
      `--lock=${new URL("../dev_deps.lock", benchDir).pathname}`,
      "--allow-all",
      new URL("_inflight_child.ts", benchDir).pathname,
      pipeline,
      String(capacity),
    ],
    stderr: "inherit",
  }).output();
  if (!success) {
    throw new Error(`The in-flight memory run of ${pipeline} failed`);
  }
  return JSON.parse(new TextDecoder().decode(stdout));
}
