// The demo's command line: parsing, validation and the --help text.
import { parseArgs } from "node:util";
import type { OutputOrder } from "../mod.ts";
import { eventAt, isMissingUser } from "./events.ts";

/**
 * What the demo does with an event whose lookup failed for good: stop the
 * run, write it with `"user": null` and the error, or leave it out.
 */
export type OnErrorMode = "fail" | "settle" | "skip";

/** The demo's settings, validated. */
export interface Flags {
  events: number;
  order: OutputOrder;
  capacity: number;
  timeout: number;
  latency: number;
  jitter: number;
  failureRate: number;
  /** Embedded service: the fraction of users it answers HTTP 404 for. */
  failRate: number;
  onError: OnErrorMode;
  url: string | undefined;
  /** A file path, `"-"` for stdout, or undefined to choose by stdout's kind. */
  out: string | undefined;
  baseline: number;
  checkpointEvery: number;
  crashAt: number | undefined;
  /** Events per request through the batch endpoint; absent: one per request. */
  batch?: number;
  help: boolean;
  /** Calls in flight: a number, "auto" for an adaptive limit, or capacity. */
  concurrency: number | "auto" | undefined;
  /** Embedded service: requests served at once, the rest queue. */
  serviceSlots: number;
}

/** A bad command line; the demo prints it and exits with code 2. */
export class FlagError extends Error {
  override name = "FlagError";
}

export const HELP = `\
deno task demo [flags]

Enriches a stream of events with a user lookup over HTTP, first one call at a
time, then through AsyncIOTransformStream, and prints the speedup. By default
the lookup service runs in-process (Deno.serve on 127.0.0.1, a free port).

Flags:
  --events <n>            events to enrich (default 5000)
  --order <mode>          ordered | unordered | key-ordered (by user id)
                          (default ordered)
  --capacity <n>          most events in flight at once (default 100)
  --timeout <ms>          time budget per event, retries included; an event
                          that runs out is written with "user": null
                          (default 1000)
  --latency <ms>          embedded service: mean latency (default 20)
  --jitter <ms>           embedded service: latency varies by up to this
                          much either way (default 10)
  --failure-rate <r>      embedded service: fraction of requests that fail
                          with HTTP 500, from 0 to below 1; failed calls are
                          retried with backoff (default 0)
  --fail-rate <r>         embedded service: fraction of users it does not
                          know, from 0 to below 1: their lookups fail for
                          good with HTTP 404, and are not retried (default 0)
  --on-error <mode>       an event whose lookup failed for good:
                          fail   stops the run with the error (exit 1)
                          settle writes it with "user": null and "error"
                          skip   leaves it out of the output
                          settle and skip print how many failed
                          (default fail)
  --url <url>             use this service instead of the embedded one:
                          GET <url>/users/<id> must answer JSON; the demo
                          stops if it cannot connect, or if the service
                          gives no answer for 3 s (not with --latency,
                          --jitter, --failure-rate or --fail-rate)
  --out <path>            write the NDJSON output to this file; "-" means
                          stdout (default: stdout, or .out/demo.ndjson when
                          stdout is a terminal)
  --baseline <n>          events for the one-call-at-a-time baseline, whose
                          throughput is extrapolated; 0 skips it (default 100)
  --crash-at <n>          crash when the nth output line is written, restart
                          from the last checkpoint and check that the output
                          has every event exactly once (needs a file output)
  --checkpoint-every <n>  events between checkpoint barriers (default 100)
  --batch <n>             look up to n events per request, through the batch
                          endpoint GET <url>/users?ids=1,2,3 (a JSON array in
                          the order asked); a batch waits at most 5 ms to
                          fill; at most --capacity (default: one per request)
  --concurrency <n|auto>  most calls in flight, at most --capacity; "auto"
                          finds it as the service's latency moves (vegas(),
                          and prints how the limit moved) (default: capacity)
  --service-slots <n>     embedded service: requests served at once; the
                          rest wait in a queue (default: no limit)
  -h, --help              show this help

Progress goes to stderr: a live line on a terminal, a line per second
otherwise. Exit codes: 0 done, 1 the run failed, 2 a bad flag (or a --url
outside the run's --allow-net), 130 interrupted (Ctrl-C).
`;

const EMBEDDED_ONLY = [
  "latency",
  "jitter",
  "failure-rate",
  "fail-rate",
] as const;

function invalid(flag: string, rule: string, value: string): FlagError {
  return new FlagError(
    `Cannot run the demo as --${flag} must be ${rule}: current value is ${
      JSON.stringify(value)
    }`,
  );
}

function integer(
  flag: string,
  value: string | undefined,
  fallback: number,
  min: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) {
    const rule = min === 0 ? "a non-negative integer" : "a positive integer";
    throw invalid(flag, rule, value);
  }
  return n;
}

function milliseconds(
  flag: string,
  value: string | undefined,
  fallback: number,
  positive: boolean,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (
    value.trim() === "" || !Number.isFinite(n) || n < 0 || (positive && n === 0)
  ) {
    const rule = positive
      ? "a positive number of milliseconds"
      : "a non-negative number of milliseconds";
    throw invalid(flag, rule, value);
  }
  return n;
}

function rate(flag: string, value: string | undefined): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (value.trim() === "" || !(n >= 0 && n < 1)) {
    throw invalid(flag, "a number from 0 to below 1", value);
  }
  return n;
}

function onError(value: string | undefined): OnErrorMode {
  if (value === undefined) return "fail";
  if (value === "fail" || value === "settle" || value === "skip") return value;
  throw invalid("on-error", "fail, settle or skip", value);
}

function order(value: string | undefined): OutputOrder {
  if (value === undefined) return "ordered";
  if (value === "ordered" || value === "unordered" || value === "key-ordered") {
    return value;
  }
  throw invalid("order", "ordered, unordered or key-ordered", value);
}

function concurrency(
  value: string | undefined,
  capacity: number,
): number | "auto" | undefined {
  if (value === undefined || value === "auto") return value;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw invalid("concurrency", 'a positive integer or "auto"', value);
  }
  if (n > capacity) {
    throw invalid("concurrency", `at most --capacity (${capacity})`, value);
  }
  return n;
}

function serviceUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid("url", "an absolute http or https URL", value);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw invalid("url", "an absolute http or https URL", value);
  }
  return value.replace(/\/+$/, "");
}

/**
 * Parses and validates the demo's arguments.
 *
 * @throws {FlagError} On an unknown flag, a stray argument or a bad value.
 */
export function parseFlags(args: readonly string[]): Flags {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        events: { type: "string" },
        order: { type: "string" },
        capacity: { type: "string" },
        timeout: { type: "string" },
        latency: { type: "string" },
        jitter: { type: "string" },
        "failure-rate": { type: "string" },
        "fail-rate": { type: "string" },
        "on-error": { type: "string" },
        url: { type: "string" },
        out: { type: "string" },
        baseline: { type: "string" },
        "crash-at": { type: "string" },
        "checkpoint-every": { type: "string" },
        batch: { type: "string" },
        help: { type: "boolean", short: "h" },
        concurrency: { type: "string" },
        "service-slots": { type: "string" },
      },
    }));
  } catch (error) {
    throw new FlagError(`Cannot run the demo: ${(error as Error).message}`);
  }
  const text = (name: string) => values[name] as string | undefined;
  const events = integer("events", text("events"), 5000, 1);
  const crashText = text("crash-at");
  const crashAt = crashText === undefined
    ? undefined
    : integer("crash-at", crashText, 0, 1);
  if (crashAt !== undefined && crashAt > events) {
    throw invalid("crash-at", `at most --events (${events})`, crashText!);
  }
  const out = text("out");
  if (crashAt !== undefined && out === "-") {
    throw invalid("out", "a file when --crash-at is given", out);
  }
  if (out === "") throw invalid("out", 'a file path or "-"', out);
  if (text("url") !== undefined) {
    // They shape the embedded service only: with --url they would do nothing.
    for (const flag of EMBEDDED_ONLY) {
      const value = text(flag);
      if (value !== undefined) {
        throw invalid(
          flag,
          "left out when --url is given, as it only shapes the embedded service",
          value,
        );
      }
    }
  }
  const capacity = integer("capacity", text("capacity"), 100, 1);
  const batchText = text("batch");
  const batch = batchText === undefined
    ? undefined
    : integer("batch", batchText, 0, 1);
  if (batch !== undefined && batch > capacity) {
    throw invalid("batch", `at most --capacity (${capacity})`, batchText!);
  }
  const flags: Flags = {
    events,
    order: order(text("order")),
    capacity,
    timeout: milliseconds("timeout", text("timeout"), 1000, true),
    latency: milliseconds("latency", text("latency"), 20, false),
    jitter: milliseconds("jitter", text("jitter"), 10, false),
    failureRate: rate("failure-rate", text("failure-rate")),
    failRate: rate("fail-rate", text("fail-rate")),
    onError: onError(text("on-error")),
    url: serviceUrl(text("url")),
    out,
    baseline: Math.min(integer("baseline", text("baseline"), 100, 0), events),
    checkpointEvery: integer(
      "checkpoint-every",
      text("checkpoint-every"),
      100,
      1,
    ),
    crashAt,
    ...(batch === undefined ? {} : { batch }),
    help: values.help === true,
    concurrency: concurrency(
      text("concurrency"),
      integer("capacity", text("capacity"), 100, 1),
    ),
    serviceSlots: integer(
      "service-slots",
      text("service-slots"),
      Infinity,
      1,
    ),
  };
  // Under skip, the embedded service's unknown users write no line, so the
  // output is shorter than --events and a crash past its end never comes.
  if (crashAt !== undefined && flags.onError === "skip" && flags.failRate > 0) {
    let lines = 0;
    for (let id = 0; id < events; id++) {
      if (!isMissingUser(eventAt(id).userId, flags.failRate)) lines++;
    }
    if (crashAt > lines) {
      throw invalid(
        "crash-at",
        `at most the ${lines} lines that --on-error skip writes (the users ` +
          `of ${events - lines} events are unknown at --fail-rate ` +
          `${flags.failRate})`,
        crashText!,
      );
    }
  }
  return flags;
}
