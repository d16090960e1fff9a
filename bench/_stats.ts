// Small helpers shared by the comparison and its report.

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? sorted[middle]!
    : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Formats items/s compactly: 1234567 → "1.23 M". */
export function rate(itemsPerSecond: number): string {
  if (itemsPerSecond >= 1e6) return `${(itemsPerSecond / 1e6).toFixed(2)} M`;
  if (itemsPerSecond >= 1e3) return `${(itemsPerSecond / 1e3).toFixed(1)} k`;
  return itemsPerSecond.toFixed(0);
}

/** Formats bytes in MiB: 1572864 → "1.5 MiB". */
export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

export function percent(ratio: number, digits = 0): string {
  return `${(ratio * 100).toFixed(digits)}%`;
}

export function times(ratio: number): string {
  return `${ratio.toFixed(2)}×`;
}

/** A deterministic generator, so every peer sees the same skewed latencies. */
export function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}
