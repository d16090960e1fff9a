// The Redis demo's machinery, shared with the crash tests and the benchmark:
// load input entries, run worker processes and kill, stall and restart them,
// then check the output stream.
import { redisPartition } from "../src/redis.ts";
import { fieldsOf } from "../src/_redis_reply.ts";
import type { RespClient } from "./redis_resp.ts";

type Send = RespClient["send"];

/** What the worker processes run. */
export interface PoolOptions {
  url: string;
  workers: number;
  input: string;
  output: string;
  group: string;
  partitions?: number;
  order: "ordered" | "unordered" | "key-ordered";
  capacity: number;
  delayMs: number;
  jitter?: boolean;
  lookup?: string;
  claimIdleMs?: number;
  leaseMs?: number;
  /** Restart a worker that exited by itself (after a crash or an error). */
  restart?: boolean;
}

interface Slot {
  child: Deno.ChildProcess | undefined;
  exited: Promise<void>;
  stalled: boolean;
}

/** W worker processes, restarted when they die, until stop(). */
export class WorkerPool {
  readonly #options: PoolOptions;
  readonly #slots: Slot[] = [];
  #stopping = false;
  kills = 0;
  stalls = 0;
  restarts = 0;
  /** Exits with an error message (a failed worker prints why). */
  readonly failures: string[] = [];

  constructor(options: PoolOptions) {
    this.#options = options;
  }

  start(): void {
    for (let i = 0; i < this.#options.workers; i++) {
      this.#slots.push({
        child: undefined,
        exited: Promise.resolve(),
        stalled: false,
      });
      this.#spawn(i);
    }
  }

  #spawn(i: number): void {
    const o = this.#options;
    const args = [
      "run",
      "--allow-net=127.0.0.1",
      new URL("./redis_worker.ts", import.meta.url).pathname,
      "--url",
      o.url,
      "--input",
      o.input,
      "--output",
      o.output,
      "--group",
      o.group,
      "--consumer",
      `worker-${i}`,
      "--order",
      o.order,
      "--capacity",
      String(o.capacity),
      "--delay-ms",
      String(o.delayMs),
      "--claim-idle-ms",
      String(o.claimIdleMs ?? 2_000),
      "--lease-ms",
      String(o.leaseMs ?? 2_000),
      ...(o.jitter ? ["--jitter"] : []),
      ...(o.lookup === undefined ? [] : ["--lookup", o.lookup]),
      ...(o.partitions === undefined
        ? []
        : ["--partitions", String(o.partitions)]),
    ];
    const child = new Deno.Command(Deno.execPath(), {
      args,
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const slot = this.#slots[i]!;
    slot.child = child;
    slot.stalled = false;
    slot.exited = (async () => {
      const stderr = await new Response(child.stderr).text();
      const status = await child.status;
      if (slot.child === child) slot.child = undefined;
      if (status.code !== 0 && status.signal === null) {
        this.failures.push(stderr.trim());
      }
      if (!this.#stopping && o.restart !== false && slot.child === undefined) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        if (!this.#stopping && slot.child === undefined) {
          this.restarts++;
          this.#spawn(i);
        }
      }
    })();
  }

  /** SIGKILLs one running worker; it is restarted. */
  kill(i: number): void {
    const child = this.#slots[i]?.child;
    if (child === undefined) return;
    this.kills++;
    child.kill("SIGKILL");
  }

  /** SIGSTOPs one worker for `ms`, then SIGCONTs it. */
  async stall(i: number, ms: number): Promise<void> {
    const slot = this.#slots[i];
    const child = slot?.child;
    if (slot === undefined || child === undefined || slot.stalled) return;
    slot.stalled = true;
    this.stalls++;
    child.kill("SIGSTOP");
    await new Promise((resolve) => setTimeout(resolve, ms));
    slot.stalled = false;
    try {
      child.kill("SIGCONT");
    } catch { /* killed meanwhile */ }
  }

  /** Stops every worker with SIGTERM and waits for them to exit. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const slot of this.#slots) {
      try {
        slot.child?.kill("SIGCONT");
        slot.child?.kill("SIGTERM");
      } catch { /* already gone */ }
    }
    const timer = setTimeout(() => {
      for (const slot of this.#slots) {
        try {
          slot.child?.kill("SIGKILL");
        } catch { /* already gone */ }
      }
    }, 10_000);
    await Promise.all(this.#slots.map((slot) => slot.exited));
    clearTimeout(timer);
  }
}

/** Adds `count` entries `{ seq, key }`, keys cycling through `keys`. */
export async function loadInputs(
  send: Send,
  options: { input: string; count: number; keys: number; partitions?: number },
): Promise<void> {
  const batch = 1_000;
  for (let start = 0; start < options.count; start += batch) {
    const sends: Promise<unknown>[] = [];
    for (let seq = start; seq < Math.min(options.count, start + batch); seq++) {
      const key = String(seq % options.keys);
      const stream = options.partitions === undefined
        ? options.input
        : redisPartition(options.input, key, options.partitions);
      sends.push(send(["XADD", stream, "*", "seq", String(seq), "key", key]));
    }
    await Promise.all(sends);
  }
}

/** The streams that hold the input. */
export function inputStreams(input: string, partitions?: number): string[] {
  return partitions === undefined
    ? [input]
    : Array.from({ length: partitions }, (_, i) => `${input}:${i}`);
}

/** Entries pending (read, not acknowledged) over all input streams. */
export async function pendingCount(
  send: Send,
  streams: string[],
  group: string,
): Promise<number> {
  let pending = 0;
  for (const stream of streams) {
    try {
      const reply = await send(["XPENDING", stream, group]) as unknown[];
      pending += Number(reply[0]);
    } catch {
      // No group yet: nothing pending.
    }
  }
  return pending;
}

/** Polls until the output has `count` entries and nothing is pending. */
export async function waitForOutputs(
  send: Send,
  options: {
    output: string;
    count: number;
    streams: string[];
    group: string;
    timeoutMs: number;
    onProgress?: (outputs: number) => void;
  },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline) {
    const outputs = Number(await send(["XLEN", options.output]));
    options.onProgress?.(outputs);
    if (
      outputs >= options.count &&
      await pendingCount(send, options.streams, options.group) === 0
    ) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `The output stream ${options.output} did not reach ${options.count} entries with nothing pending in ${options.timeoutMs} ms`,
  );
}

/** What the output stream holds, compared with the `count` inputs. */
export interface Verdict {
  outputs: number;
  duplicates: number;
  missing: number;
  extra: number;
  /** Outputs of a key that came after an output of a later input of it. */
  orderViolations: number;
  /** Server times (ms) of the first and last output. */
  firstMs: number;
  lastMs: number;
}

/** Reads the whole output stream and checks it. */
export async function verifyOutputs(
  send: Send,
  output: string,
  count: number,
): Promise<Verdict> {
  const seen = new Uint8Array(count);
  const lastSeqOfKey = new Map<string, number>();
  const verdict: Verdict = {
    outputs: 0,
    duplicates: 0,
    missing: 0,
    extra: 0,
    orderViolations: 0,
    firstMs: 0,
    lastMs: 0,
  };
  let start = "-";
  while (true) {
    const page = await send(["XRANGE", output, start, "+", "COUNT", "5000"]);
    const entries = page as [string, string[]][];
    if (entries.length === 0) break;
    for (const [id, raw] of entries) {
      const fields = fieldsOf(raw) ?? {};
      const seq = Number(fields.seq);
      const ms = Number(id.split("-")[0]);
      if (verdict.outputs === 0) verdict.firstMs = ms;
      verdict.lastMs = ms;
      verdict.outputs++;
      if (!Number.isInteger(seq) || seq < 0 || seq >= count) {
        verdict.extra++;
        continue;
      }
      if (seen[seq]) verdict.duplicates++;
      seen[seq] = 1;
      const key = fields.key ?? "";
      const last = lastSeqOfKey.get(key);
      if (last !== undefined && last > seq) verdict.orderViolations++;
      lastSeqOfKey.set(key, seq);
    }
    start = `(${entries.at(-1)![0]}`;
  }
  for (let seq = 0; seq < count; seq++) if (!seen[seq]) verdict.missing++;
  return verdict;
}

/** Throughput from the output stream's own timestamps: no start-up time. */
export function throughput(verdict: Verdict): number {
  const ms = Math.max(1, verdict.lastMs - verdict.firstMs);
  return (verdict.outputs / ms) * 1_000;
}

/**
 * Kills and stalls random workers every `everyMs` until `done()`: every
 * third step SIGSTOPs one for about `stallMs` (then SIGCONT), the others
 * SIGKILL one, which the pool restarts.
 */
export async function chaos(
  pool: WorkerPool,
  options: {
    workers: number;
    everyMs: number;
    stallMs: number;
    done: () => boolean;
  },
): Promise<void> {
  const stalling: Promise<void>[] = [];
  let step = 0;
  while (!options.done()) {
    await new Promise((resolve) => setTimeout(resolve, options.everyMs));
    if (options.done()) break;
    const victim = Math.floor(Math.random() * options.workers);
    if (step++ % 3 === 2) {
      stalling.push(
        pool.stall(victim, options.stallMs * (0.5 + Math.random())),
      );
    } else {
      pool.kill(victim);
    }
  }
  await Promise.all(stalling);
}
