// The exactly-once check on an NDJSON output file.

/** What the output file holds, against the events 0..total-1. */
export interface ExactlyOnceReport {
  lines: number;
  distinct: number;
  missing: number[];
  duplicated: number[];
  /** Whether the ids come in input order (expected with --order ordered). */
  inOrder: boolean;
  ok: boolean;
}

/** Reads the file and checks that each event id 0..total-1 appears once. */
export async function checkExactlyOnce(
  path: string,
  total: number,
): Promise<ExactlyOnceReport> {
  const text = await Deno.readTextFile(path);
  const ids = text.split("\n").filter((line) => line !== "").map((line) =>
    (JSON.parse(line) as { id: number }).id
  );
  const seen = new Map<number, number>();
  for (const id of ids) seen.set(id, (seen.get(id) ?? 0) + 1);
  const missing: number[] = [];
  for (let id = 0; id < total; id++) if (!seen.has(id)) missing.push(id);
  const duplicated = [...seen].filter(([, count]) => count > 1).map(([id]) =>
    id
  );
  const inOrder = ids.every((id, index) => id === index);
  return {
    lines: ids.length,
    distinct: seen.size,
    missing,
    duplicated,
    inOrder,
    ok: ids.length === total && missing.length === 0 &&
      duplicated.length === 0 && seen.size === total,
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
  const order = report.inOrder ? "in input order" : "not in input order";
  return `exactly-once check: ${report.ok ? "OK" : "FAILED"}: ` +
    `${report.lines} lines, ${report.distinct} distinct event ids of ` +
    `${total}, ${missing}, ${duplicated}, ${order}`;
}
