// Runs the behavioural tests (`tests/*_test.ts`) in real headless browsers.
// esbuild bundles them with `node:test` and `node:assert/strict` swapped for
// the shims in tests/browser/; the page is served on 127.0.0.1; puppeteer-core
// drives Debian's Chromium (over CDP) and Firefox ESR (over WebDriver BiDi).
// Exits non-zero if a test fails in any browser, or if none passed.
//
//   deno task test:browser [--browser=chromium|firefox] [test files...]
import * as esbuild from "esbuild";
import puppeteer, { type Browser } from "puppeteer-core";
import { parseArgs } from "node:util";
import type {
  RunSummary,
  TestResult,
} from "../tests/browser/node_test_shim.ts";
import {
  npmDependencies,
  npmInstall,
  relative,
  root,
  testFiles,
} from "./_test_deps.ts";

/**
 * Test files that cannot run in a page, and why. A test file that imports a
 * Node- or Deno-only module fails the bundle, loudly, until it is listed.
 */
const SKIP_FILES: Record<string, string> = {
  "tests/no_leak_test.ts": "it spawns a child runtime (node:child_process) " +
    "to prove that nothing keeps the process alive; a page has no process",
  "tests/stop_exit_test.ts": "it spawns a child runtime (node:child_process) " +
    "per stop state to prove the process exits at once; a page has no process",
  "tests/map_async_no_leak_test.ts": "it spawns a child runtime " +
    "(node:child_process) to prove that nothing keeps the process alive",
  "tests/review_reentrancy_no_leak_test.ts": "it spawns a child runtime " +
    "(node:child_process) to prove that nothing keeps the process alive",
  "tests/foreign_marker_test.ts": "it needs a second copy of src/, loaded " +
    "from another path (a symlink under Deno, a temporary copy under Bun); " +
    "the bundle holds one copy of each module, and a page has no files",
};

/** Single tests ("file > test name") that cannot run in a page, and why. */
const SKIP_TESTS: Record<string, string> = {};

/**
 * Tests that run in the browsers and fail there for a known reason. Each one
 * is reported; one that passes fails the run, so that it leaves this list.
 */
const KNOWN_FAILURES: Record<string, string> = {};

const BROWSERS = {
  chromium: {
    browser: "chrome",
    executablePath: "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  },
  firefox: {
    browser: "firefox",
    executablePath: "/usr/bin/firefox-esr",
    args: [],
  },
} as const;
type BrowserName = keyof typeof BROWSERS;

/** How long the page may go without finishing a test before the run fails. */
const STALL_TIMEOUT_MS = 2 * 60_000;

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>async-io browser tests</title>
<script type="module" src="/entry.js"></script>
`;

interface Tally {
  passed: number;
  failed: number;
  skipped: number;
  known: number;
  unexpectedPasses: number;
}

const { values, positionals } = parseArgs({
  args: Deno.args,
  options: { browser: { type: "string", multiple: true } },
  allowPositionals: true,
});
const browsers = (values.browser ?? Object.keys(BROWSERS)) as BrowserName[];
for (const name of browsers) {
  if (!(name in BROWSERS)) {
    const known = Object.keys(BROWSERS).join(", ");
    throw new TypeError(`Cannot run in "${name}": known browsers are ${known}`);
  }
}

const files = await testFiles(positionals);
const runnable = files.filter((file) => !(relative(file) in SKIP_FILES));
for (const file of files) {
  const reason = SKIP_FILES[relative(file)];
  if (reason !== undefined) {
    console.log(`skip file ${relative(file)}: ${reason}`);
  }
}
const bundle = await bundleTests(runnable);
const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen() {} },
  serve,
);
const lines: string[] = [];
let failed = false;
try {
  for (const name of browsers) {
    const url = `http://127.0.0.1:${server.addr.port}/`;
    const tally = await runIn(name, url).catch((error) => {
      console.error(`${name}: the run itself failed:`, error);
      return undefined;
    });
    if (tally === undefined) {
      failed = true;
      lines.push(`${name}: did not complete`);
      continue;
    }
    const { passed, failed: failures, skipped, known, unexpectedPasses } =
      tally;
    if (failures > 0 || unexpectedPasses > 0 || passed === 0) failed = true;
    lines.push(
      `${name}: ${passed} passed, ${failures} failed, ${skipped} skipped, ` +
        `${known} known failures, ${unexpectedPasses} unexpected passes`,
    );
  }
} finally {
  await server.shutdown();
}
console.log(`\nBrowser tests, ${runnable.length} of ${files.length} files:`);
for (const line of lines) console.log(`  ${line}`);
Deno.exit(failed ? 1 : 0);

function serve(request: Request): Response {
  const path = new URL(request.url).pathname;
  if (path === "/favicon.ico") return new Response(null, { status: 204 });
  if (path === "/") {
    return new Response(PAGE, { headers: { "content-type": "text/html" } });
  }
  const body = bundle.get(path);
  if (body === undefined) return new Response(null, { status: 404 });
  const headers = { "content-type": "text/javascript; charset=utf-8" };
  return new Response(body, { headers });
}

/**
 * Bundles the test files behind an entry module that loads them one at a
 * time, so each `test()` knows its file, then runs them all.
 */
async function bundleTests(paths: string[]): Promise<Map<string, string>> {
  const shims = `${root}tests/browser/`;
  const loaders = paths.map((file) =>
    `[${JSON.stringify(relative(file))}, () => import(${JSON.stringify(file)})]`
  );
  const entry = `
import * as runner from ${JSON.stringify(`${shims}node_test_shim.ts`)};
import ${JSON.stringify(`${shims}polyfills.ts`)};
for (const [file, load] of [${loaders.join(", ")}]) {
  runner.setCurrentFile(file);
  try {
    await load();
  } catch (error) {
    runner.fileFailed(file, error);
  }
}
const report = (result) => console.log("@@result " + JSON.stringify(result));
const summary = await runner.runRegisteredTests(${
    JSON.stringify(SKIP_TESTS)
  }, report);
console.log("@@summary " + JSON.stringify(summary));
`;
  const nodeShims: esbuild.Plugin = {
    name: "node-test-shims",
    setup(build) {
      const test = `${shims}node_test_shim.ts`;
      const assert = `${shims}node_assert_shim.ts`;
      build.onResolve({ filter: /^node:test$/ }, () => ({ path: test }));
      build.onResolve(
        { filter: /^node:assert(\/strict)?$/ },
        () => ({ path: assert }),
      );
    },
  };
  const deps = await Deno.makeTempDir({ prefix: "async-io-browser-deps-" });
  try {
    await npmInstall(await npmDependencies(paths), deps);
    const result = await esbuild.build({
      stdin: { contents: entry, resolveDir: root, sourcefile: "entry.js" },
      bundle: true,
      splitting: true,
      format: "esm",
      platform: "browser",
      outdir: "/out",
      entryNames: "entry",
      write: false,
      logLevel: "warning",
      plugins: [nodeShims],
      nodePaths: [`${deps}/node_modules`],
    });
    const out = result.outputFiles;
    return new Map(
      out.map((file) => [file.path.slice("/out".length), file.text]),
    );
  } finally {
    await esbuild.stop();
    await Deno.remove(deps, { recursive: true });
  }
}

async function runIn(name: BrowserName, url: string): Promise<Tally> {
  const { browser: product, executablePath, args } = BROWSERS[name];
  const userDataDir = await Deno.makeTempDir({ prefix: `async-io-${name}-` });
  console.log(`\n${name}: launching ${executablePath}`);
  let browser: Browser | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    browser = await puppeteer.launch({
      browser: product,
      executablePath,
      args: [...args],
      headless: true,
      userDataDir,
    });
    console.log(`${name}: ${await browser.version()}`);
    const page = await browser.newPage();
    const tally = {
      passed: 0,
      failed: 0,
      skipped: 0,
      known: 0,
      unexpectedPasses: 0,
    };
    const done = Promise.withResolvers<RunSummary>();
    const restartStallTimer = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        done.reject(new Error(`No test finished for ${STALL_TIMEOUT_MS} ms`));
      }, STALL_TIMEOUT_MS);
    };
    page.on("console", (message) => {
      const text = message.text();
      if (text.startsWith("@@result ")) {
        restartStallTimer();
        const result: TestResult = JSON.parse(text.slice("@@result ".length));
        record(name, result, tally);
      } else if (text.startsWith("@@summary ")) {
        done.resolve(JSON.parse(text.slice("@@summary ".length)));
      } else {
        console.log(`  ${name} console.${message.type()}: ${text}`);
      }
    });
    page.on(
      "pageerror",
      (error) => console.error(`  ${name} page error: ${error}`),
    );
    restartStallTimer();
    const response = await page.goto(url);
    if (!response?.ok()) {
      throw new Error(`Cannot load ${url}: ${response?.status()}`);
    }
    const summary = await done.promise;
    const counted = tally.passed + tally.failed + tally.skipped + tally.known +
      tally.unexpectedPasses;
    if (counted !== summary.results.length) {
      throw new Error(
        `The page ran ${summary.results.length} tests, ${counted} were reported`,
      );
    }
    return tally;
  } finally {
    clearTimeout(timer);
    await browser?.close();
    await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
  }
}

function record(browser: BrowserName, result: TestResult, tally: Tally): void {
  const label = `${result.file} > ${result.name}`;
  const known = KNOWN_FAILURES[label];
  if (result.status === "skip") {
    tally.skipped++;
    console.log(`  skip  ${label} # ${result.error}`);
  } else if (result.status === "pass" && known === undefined) {
    tally.passed++;
    console.log(`  ok    ${label} (${result.ms} ms)`);
  } else if (result.status === "pass") {
    tally.unexpectedPasses++;
    console.log(
      `  FAIL  [${browser}] ${label}: passes, so take it out of KNOWN_FAILURES`,
    );
  } else if (known !== undefined) {
    tally.known++;
    console.log(`  KNOWN FAILURE  [${browser}] ${label}\n        (${known})`);
  } else {
    tally.failed++;
    const error = (result.error ?? "").replaceAll("\n", "\n        ");
    console.log(`  FAIL  [${browser}] ${label}\n        ${error}`);
  }
}
