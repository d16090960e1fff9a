// scripts/readme_links_check.ts: the published README's links work on jsr.io
// and npm.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  checkPublishedMarkdown,
  findLinkProblems,
  isExcluded,
  type Repository,
} from "../../scripts/readme_links_check.ts";

const BLOB = "https://github.com/async-io/async-io/blob/main";
const RAW = "https://raw.githubusercontent.com/async-io/async-io/main";

/** A repository with a few files, bench/ and examples/ left out of the publish. */
function repository(): Repository {
  const files = [
    "README.md",
    "LICENSE",
    "mod.ts",
    "src/redis.ts",
    "bench/RESULTS.md",
    "bench/chart.svg",
    "examples/demo.ts",
  ];
  const paths = new Set(files.flatMap((file) => {
    const parts = file.split("/");
    return parts.map((_, end) => parts.slice(0, end + 1).join("/"));
  }));
  return {
    has: (path) => paths.has(path),
    isPublished: (path) => !isExcluded(path, ["bench/", "examples/"]),
  };
}

function problems(markdown: string) {
  return findLinkProblems("README.md", markdown, repository()).map((
    { line, link, problem },
  ) => ({ line, link, problem }));
}

test("findLinkProblems() flags relative links and images to files left out of the publish, with the absolute URL to use", () => {
  const markdown = [
    "# Title",
    "See [the results](bench/RESULTS.md#summary) and",
    "![a chart](./bench/chart.svg).",
  ].join("\n");
  assert.deepEqual(problems(markdown), [
    {
      line: 2,
      link: "bench/RESULTS.md#summary",
      problem:
        "bench/RESULTS.md is left out of the JSR publish (deno.json's publish.exclude), " +
        `so the link breaks on jsr.io: use ${BLOB}/bench/RESULTS.md`,
    },
    {
      line: 3,
      link: "./bench/chart.svg",
      problem:
        "bench/chart.svg is left out of the JSR publish (deno.json's publish.exclude), " +
        `so the link breaks on jsr.io: use ${RAW}/bench/chart.svg`,
    },
  ]);
});

test("findLinkProblems() flags relative links to files that do not exist", () => {
  assert.deepEqual(problems("[gone](src/gone.ts) [up](../x.md)"), [
    { line: 1, link: "src/gone.ts", problem: "src/gone.ts does not exist" },
    { line: 1, link: "../x.md", problem: "../x.md is outside the repository" },
  ]);
});

test("findLinkProblems() passes relative links to published files, anchors and other sites", () => {
  const markdown = [
    "[mod](mod.ts), [redis](./src/redis.ts), [src](src/), [MIT](LICENSE),",
    "[usage](#usage), [limits](https://github.com/Netflix/concurrency-limits),",
    '<a href="mod.ts">mod</a>, [titled](mod.ts "the entry point")',
  ].join("\n");
  assert.deepEqual(problems(markdown), []);
});

test("findLinkProblems() flags absolute links into the repository to paths that do not exist", () => {
  const markdown = [
    `[results](${BLOB}/bench/RESULTS.md) ![chart](${RAW}/bench/chart.svg)`,
    `[old](${BLOB}/bench/OLD.md)`,
    `![old](${RAW}/bench/old.svg)`,
  ].join("\n");
  assert.deepEqual(problems(markdown), [
    {
      line: 2,
      link: `${BLOB}/bench/OLD.md`,
      problem: "bench/OLD.md is not in the repository",
    },
    {
      line: 3,
      link: `${RAW}/bench/old.svg`,
      problem: "bench/old.svg is not in the repository",
    },
  ]);
});

test("findLinkProblems() flags an image through GitHub's page URL, which renders only on GitHub", () => {
  assert.deepEqual(problems(`![chart](${BLOB}/bench/chart.svg)`), [
    {
      line: 1,
      link: `${BLOB}/bench/chart.svg`,
      problem:
        `an image must use ${RAW}/bench/chart.svg to render outside GitHub`,
    },
  ]);
});

test("findLinkProblems() checks reference definitions, and references with none", () => {
  const markdown = [
    "[results][bench/RESULTS.md] ![chart][Bench/Chart.svg] [demo][demo]",
    "",
    `[bench/RESULTS.md]: ${BLOB}/bench/RESULTS.md`,
    `[bench/chart.svg]: ${BLOB}/bench/chart.svg`,
  ].join("\n");
  assert.deepEqual(problems(markdown), [
    { line: 1, link: "[demo]", problem: "has no definition" },
    {
      line: 4,
      link: `${BLOB}/bench/chart.svg`,
      problem:
        `an image must use ${RAW}/bench/chart.svg to render outside GitHub`,
    },
  ]);
});

test("findLinkProblems() flags a file of ours under another repository's URL", () => {
  const moved = "https://github.com/someone/async-io/blob/main";
  assert.deepEqual(problems(`[results](${moved}/bench/RESULTS.md)`), [
    {
      line: 1,
      link: `${moved}/bench/RESULTS.md`,
      problem:
        "someone/async-io is not the repository (https://github.com/async-io/async-io, " +
        `in scripts/_package_meta.ts): use ${BLOB}/bench/RESULTS.md`,
    },
  ]);
  // Another project's README is not ours, though we have a README too.
  assert.deepEqual(
    problems("[std](https://github.com/denoland/std/blob/main/README.md)"),
    [],
  );
});

test("findLinkProblems() ignores links in code blocks and code spans", () => {
  const markdown = [
    "Write `[x](bench/RESULTS.md)` for a link.",
    "",
    "```md",
    "![chart](bench/chart.svg)",
    "```",
  ].join("\n");
  assert.deepEqual(problems(markdown), []);
});

test("isExcluded() reads folders and files, and throws on a glob it cannot read", () => {
  assert.equal(isExcluded("bench/x/y.md", ["bench/"]), true);
  assert.equal(isExcluded("benchmark.md", ["bench/"]), false);
  assert.equal(isExcluded("deno.lock", ["./deno.lock"]), true);
  assert.throws(
    () => isExcluded("a.md", ["**/*.md"]),
    new TypeError(
      'Cannot read publish.exclude as the link check reads no globs: current value is "**/*.md"',
    ),
  );
});

test("every link in the published Markdown works on jsr.io and npm", async () => {
  const root = new URL("../..", import.meta.url).pathname;
  const { files, problems } = await checkPublishedMarkdown(root);
  assert.ok(files.includes("README.md"), `checked: ${files.join(" ")}`);
  assert.deepEqual(
    problems.map(({ file, line, link, problem }) =>
      `${file}:${line}: ${link}: ${problem}`
    ),
    [],
  );
});
