// Progress on stderr: one live line on a terminal, a plain line per second
// otherwise, so CI logs stay readable and stdout stays clean NDJSON.
import type { AsyncIOStats } from "../mod.ts";

const encoder = new TextEncoder();

/** Writes text to stderr at once, so it interleaves sanely with other output. */
export function say(text: string): void {
  Deno.stderr.writeSync(encoder.encode(text));
}

/** Formats a duration in seconds for people. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** Formats a rate with a thousands separator. */
export function perSecond(count: number, ms: number): string {
  return `${Math.round(count / (ms / 1000)).toLocaleString("en-US")} events/s`;
}

// Whether the cursor sits at the end of a live line that has no newline yet.
let lineOpen = false;

/** Ends a live progress line, so that what follows starts on a line of its own. */
export function endLiveLine(): void {
  if (!lineOpen) return;
  lineOpen = false;
  say("\n");
}

/** A running progress display; `stop()` prints the final state. */
export interface Progress {
  stop(): void;
}

/** Where the numbers come from. */
export interface ProgressSource {
  label: string;
  total: number;
  /** Events done before this run started (a restart resumes mid-way). */
  done?: number;
  stats(): AsyncIOStats;
  /** Show the events whose lookup failed for good (--on-error settle|skip). */
  showFailed?: boolean;
}

function line(source: ProgressSource, started: number, final: boolean) {
  const stats = source.stats();
  const elapsed = performance.now() - started;
  const done = (source.done ?? 0) + stats.emitted;
  const rate = stats.emitted / Math.max(elapsed / 1000, 1e-3);
  const percent = Math.floor((done / source.total) * 100);
  const left = source.total - done;
  const time = final
    ? `took ${seconds(elapsed)}`
    : `ETA ${rate > 0 ? seconds((left / rate) * 1000) : "?"}`;
  return `${source.label} ${done}/${source.total} (${percent}%) | ` +
    `${Math.round(rate)}/s | in flight ${stats.inFlight} | ` +
    `timeouts ${stats.timedOut} | retries ${stats.retries} | ` +
    `${source.showFailed ? `failed ${stats.failed} | ` : ""}${time}`;
}

function columns(): number {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return 80;
  }
}

/**
 * Starts showing progress: redrawn every 100 ms on a terminal (cut to its
 * width, so the line never wraps), printed once a second otherwise.
 */
export function showProgress(
  source: ProgressSource,
  tty = Deno.stderr.isTerminal(),
): Progress {
  const started = performance.now();
  const redraw = (final: boolean) => {
    say(`\r\x1b[2K${line(source, started, final).slice(0, columns() - 1)}`);
    lineOpen = true;
  };
  const timer = tty
    ? setInterval(() => redraw(false), 100)
    : setInterval(() => say(`${line(source, started, false)}\n`), 1000);
  return {
    stop() {
      clearInterval(timer);
      if (tty) {
        redraw(true);
        endLiveLine();
      } else {
        say(`${line(source, started, true)}\n`);
      }
    },
  };
}
