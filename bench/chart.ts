// `deno task bench:chart`: redraws bench/throughput.svg and bench/RESULTS.md
// from bench/results.json, without running anything.
import { renderChart } from "./_chart.ts";
import { renderReport } from "./_report.ts";
import type { Results } from "./_results.ts";

const dir = new URL(".", import.meta.url);
const results: Results = JSON.parse(
  await Deno.readTextFile(new URL("results.json", dir)),
);
await Deno.writeTextFile(
  new URL("throughput.svg", dir),
  renderChart(results.sweep),
);
await Deno.writeTextFile(new URL("RESULTS.md", dir), renderReport(results));
console.log("wrote bench/throughput.svg and bench/RESULTS.md");
