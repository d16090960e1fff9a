// Draws bench/adaptive.svg: above, each adaptive limit over time against the
// backend's servers; below, every configuration's goodput per second.
import type { AdaptiveResults } from "./_adaptive_report.ts";

const WIDTH = 820;
const PANEL = 250;
const GAP = 60;
const MARGIN = { left: 70, right: 170, top: 44, bottom: 46 };
const HEIGHT = MARGIN.top + PANEL * 2 + GAP + MARGIN.bottom;
const COLORS: Record<string, string> = {
  "fixed 25": "#c7c7c7",
  "fixed 50": "#a0a0a0",
  "fixed 100": "#707070",
  "fixed 200": "#404040",
  "aimd()": "#d62728",
  "vegas()": "#2ca02c",
  "gradient2()": "#1f77b4",
};

const escape = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function niceMax(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * magnitude >= value) return step * magnitude;
  }
  return 10 * magnitude;
}

export function renderAdaptiveChart(results: AdaptiveResults): string {
  const totalS = results.phaseMs * results.servers.length / 1000;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const x = (seconds: number) => MARGIN.left + seconds / totalS * plotW;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${
      MARGIN.left + plotW / 2
    }" y="22" text-anchor="middle" font-size="15">Servers ${
      results.servers.join(" → ")
    }: calls allowed in flight (above) and successful calls per second (below)</text>`,
  ];
  const panel = (
    top: number,
    yMax: number,
    label: string,
    series: { name: string; points: [number, number][]; dash?: string }[],
  ) => {
    const y = (value: number) => top + PANEL - value / yMax * PANEL;
    for (let i = 0; i <= 5; i++) {
      const value = yMax * i / 5;
      out.push(
        `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${
          y(value).toFixed(1)
        }" y2="${y(value).toFixed(1)}" stroke="#eee"/>`,
        `<text x="${MARGIN.left - 6}" y="${
          (y(value) + 4).toFixed(1)
        }" text-anchor="end">${Math.round(value)}</text>`,
      );
    }
    for (let phase = 1; phase < results.servers.length; phase++) {
      const px = x(phase * results.phaseMs / 1000).toFixed(1);
      out.push(
        `<line x1="${px}" x2="${px}" y1="${top}" y2="${
          top + PANEL
        }" stroke="#bbb" stroke-dasharray="3 3"/>`,
      );
    }
    out.push(
      `<rect x="${MARGIN.left}" y="${top}" width="${plotW}" height="${PANEL}" fill="none" stroke="#999"/>`,
      `<text transform="translate(20 ${
        top + PANEL / 2
      }) rotate(-90)" text-anchor="middle">${escape(label)}</text>`,
    );
    series.forEach((s, i) => {
      const color = COLORS[s.name] ?? "#000";
      const d = s.points.map(([t, v], j) =>
        `${j === 0 ? "M" : "L"}${x(t).toFixed(1)},${
          y(Math.min(v, yMax)).toFixed(1)
        }`
      ).join(" ");
      out.push(
        `<path d="${d}" fill="none" stroke="${color}" stroke-width="1.6"${
          s.dash ? ` stroke-dasharray="${s.dash}"` : ""
        }/>`,
      );
      const ly = top + 14 + i * 17;
      const lx = MARGIN.left + plotW + 12;
      out.push(
        `<line x1="${lx}" x2="${
          lx + 24
        }" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${
          s.dash ? ` stroke-dasharray="${s.dash}"` : ""
        }/>`,
        `<text x="${lx + 30}" y="${ly + 4}">${escape(s.name)}</text>`,
      );
    });
  };
  const adaptive = results.configs.filter((c) => !c.fixed);
  const serverSteps: [number, number][] = results.servers.flatMap((
    k,
    phase,
  ) => [
    [phase * results.phaseMs / 1000, k],
    [(phase + 1) * results.phaseMs / 1000, k],
  ]);
  const limitMax = niceMax(
    Math.max(
      ...adaptive.flatMap((c) => c.limits.map(([, v]) => v)),
      ...results.servers,
    ),
  );
  panel(MARGIN.top, limitMax, "calls allowed in flight", [
    { name: "servers (K)", points: serverSteps, dash: "6 4" },
    ...adaptive.map((c) => ({
      name: c.name,
      points: c.limits.map(([at, v]) => [at / 1000, v] as [number, number]),
    })),
  ]);
  const goodputMax = niceMax(
    Math.max(...results.configs.flatMap((c) => c.goodputPerSecond)),
  );
  panel(
    MARGIN.top + PANEL + GAP,
    goodputMax,
    "successful calls per second",
    results.configs.map((c) => ({
      name: c.name,
      points: c.goodputPerSecond.map((v, s) =>
        [s + 0.5, v] as [number, number]
      ),
    })),
  );
  out.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${
      HEIGHT - 12
    }" text-anchor="middle">seconds</text>`,
  );
  for (let s = 0; s <= totalS; s += 10) {
    out.push(
      `<text x="${x(s).toFixed(1)}" y="${
        HEIGHT - MARGIN.bottom + 16
      }" text-anchor="middle">${s}</text>`,
    );
  }
  out.push("</svg>");
  return out.join("\n") + "\n";
}
