// Draws throughput against capacity (log–log) as a standalone SVG, with
// Little's law bound, capacity ÷ latency, as a dashed line.
import type { Results } from "./_results.ts";

const WIDTH = 760;
const HEIGHT = 460;
const MARGIN = { left: 78, right: 24, top: 44, bottom: 56 };
const COLORS = [
  "#1f77b4",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#ff7f0e",
  "#8c564b",
];

const escape = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function label(value: number): string {
  if (value >= 1e6) return `${value / 1e6}M`;
  if (value >= 1e3) return `${value / 1e3}k`;
  return String(value);
}

export function renderChart(sweep: Results["sweep"]): string {
  const { capacities, series, latencyMs } = sweep;
  const bound = (capacity: number) => capacity / (latencyMs / 1000);
  const values = series.flatMap((s) => s.points.map((p) => p.itemsPerSecond))
    .concat(capacities.map(bound));
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...values)));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...values)));
  const xMin = Math.min(...capacities);
  const xMax = Math.max(...capacities);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (capacity: number) =>
    MARGIN.left +
    (Math.log(capacity / xMin) / Math.log(xMax / xMin || 2)) * plotW;
  const y = (rate: number) =>
    MARGIN.top + plotH -
    (Math.log(rate / yMin) / Math.log(yMax / yMin)) * plotH;
  const path = (points: [number, number][]) =>
    points.map(([px, py], i) =>
      `${i === 0 ? "M" : "L"}${px.toFixed(1)},${py.toFixed(1)}`
    ).join(" ");

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${
      WIDTH / 2
    }" y="22" text-anchor="middle" font-size="15">Throughput against capacity, ${
      latencyMs.toFixed(1)
    } ms per call (log–log)</text>`,
  );
  for (let decade = yMin; decade <= yMax; decade *= 10) {
    out.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${
        y(decade).toFixed(1)
      }" y2="${y(decade).toFixed(1)}" stroke="#ddd"/>`,
      `<text x="${MARGIN.left - 8}" y="${
        (y(decade) + 4).toFixed(1)
      }" text-anchor="end">${label(decade)}</text>`,
    );
  }
  for (const capacity of capacities) {
    out.push(
      `<line x1="${x(capacity).toFixed(1)}" x2="${
        x(capacity).toFixed(1)
      }" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#eee"/>`,
      `<text x="${x(capacity).toFixed(1)}" y="${
        MARGIN.top + plotH + 18
      }" text-anchor="middle">${capacity}</text>`,
    );
  }
  out.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${
      HEIGHT - 14
    }" text-anchor="middle">capacity (concurrency)</text>`,
    `<text transform="translate(18 ${
      MARGIN.top + plotH / 2
    }) rotate(-90)" text-anchor="middle">items/s</text>`,
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
    `<path d="${
      path(capacities.map((c) => [x(c), y(bound(c))]))
    }" fill="none" stroke="#000" stroke-width="1.5" stroke-dasharray="6 4"/>`,
  );
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const points = s.points.map((p) =>
      [x(p.capacity), y(p.itemsPerSecond)] as [number, number]
    );
    out.push(
      `<path d="${
        path(points)
      }" fill="none" stroke="${color}" stroke-width="2"/>`,
      ...points.map(([px, py]) =>
        `<circle cx="${px.toFixed(1)}" cy="${
          py.toFixed(1)
        }" r="3" fill="${color}"/>`
      ),
    );
  });
  const legend = [
    ...series.map((s, i) => ({
      name: s.name,
      color: COLORS[i % COLORS.length]!,
      dash: "",
    })),
    {
      name: "Little's law bound: capacity ÷ latency",
      color: "#000",
      dash: "6 4",
    },
  ];
  legend.forEach((entry, i) => {
    const ly = MARGIN.top + 16 + i * 18;
    out.push(
      `<line x1="${MARGIN.left + 12}" x2="${
        MARGIN.left + 40
      }" y1="${ly}" y2="${ly}" stroke="${entry.color}" stroke-width="2"${
        entry.dash ? ` stroke-dasharray="${entry.dash}"` : ""
      }/>`,
      `<text x="${MARGIN.left + 46}" y="${ly + 4}">${
        escape(entry.name)
      }</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
