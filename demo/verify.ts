// The exactly-once check on an NDJSON output file.

/** What the output file holds, against the events 0..total-1. */
export interface ExactlyOnceReport {
  lines: number;
  distinct: number;
  missing: number[];
  duplicated: number[];
  /** Ids that should have been left out (`--on-error skip`) but are there. */
  unexpected: number[];
  /** Events left out on purpose, as their lookup failed for good. */
  skipped: number;
  /** Lines written for a failed lookup (`--on-error settle`). */
  failed: number;
  /** Whether the ids come in input order (expected with --order ordered). */
  inOrder: boolean;
  ok: boolean;
}

interface Line {
  id: number;
  user: unknown;
  error?: string;
}

/**
 * Reads the file and checks that each event id 0..total-1 appears once,
 * except the ids for which `skipped` says the event was left out on purpose:
 * those must not appear at all.
 */
export async function checkExactlyOnce(
  path: string,
  total: number,
  skipped: (id: number) => boolean = () => false,
): Promise<ExactlyOnceReport> {
  const text = await Deno.readTextFile(path);
  const lines = text.split("\n").filter((line) => line !== "").map((line) =>
    JSON.parse(line) as Line
  );
  const ids = lines.map((line) => line.id);
  const seen = new Map<number, number>();
  for (const id of ids) seen.set(id, (seen.get(id) ?? 0) + 1);
  const missing: number[] = [];
  const unexpected: number[] = [];
  const expected: number[] = [];
  for (let id = 0; id < total; id++) {
    if (!skipped(id)) {
      expected.push(id);
      if (!seen.has(id)) missing.push(id);
    } else if (seen.has(id)) unexpected.push(id);
  }
  const duplicated = [...seen].filter(([, count]) => count > 1).map(([id]) =>
    id
  );
  const inOrder = ids.every((id, index) => id === expected[index]);
  const failed =
    lines.filter((line) =>
      line.user === null && line.error !== undefined && line.error !== "timeout"
    ).length;
  return {
    lines: ids.length,
    distinct: seen.size,
    missing,
    duplicated,
    unexpected,
    skipped: total - expected.length,
    failed,
    inOrder,
    ok: ids.length === expected.length && missing.length === 0 &&
      duplicated.length === 0 && unexpected.length === 0 &&
      seen.size === expected.length,
  };
}

function some(ids: number[]): string {
  return ids.length <= 5
    ? ids.join(", ")
    : `${ids.slice(0, 5).join(", ")}, ... (${ids.length})`;
}

/** One line for people. */
export function describeReport(
  report: ExactlyOnceReport,
  total: number,
): string {
  const missing = report.missing.length === 0
    ? "none missing"
    : `missing ${some(report.missing)}`;
  const duplicated = report.duplicated.length === 0
    ? "none duplicated"
    : `duplicated ${some(report.duplicated)}`;
  const skipped = report.skipped === 0 ? "" : `, ${report.skipped} skipped ` +
    `as their lookup failed (${
      report.unexpected.length === 0
        ? "none written"
        : `but written: ${some(report.unexpected)}`
    })`;
  const failed = report.failed === 0
    ? ""
    : `, ${report.failed} written as failed lookups`;
  const order = report.inOrder ? "in input order" : "not in input order";
  return `exactly-once check: ${report.ok ? "OK" : "FAILED"}: ` +
    `${report.lines} lines, ${report.distinct} distinct event ids of ` +
    `${total}, ${missing}, ${duplicated}${skipped}${failed}, ${order}`;
}
