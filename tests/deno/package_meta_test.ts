// scripts/_package_meta.ts: the npm package links to its repository, and the
// Node smoke test fails when the built package.json does not.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  blobUrl,
  npmDescription,
  npmPackageLinks,
  packageLinkProblems,
  rawUrl,
} from "../../scripts/_package_meta.ts";

test("npmPackageLinks() points npm at the repository, the JSR page and the issues", () => {
  assert.deepEqual(npmPackageLinks(), {
    repository: {
      type: "git",
      url: "git+https://github.com/async-io/async-io.git",
    },
    homepage: "https://jsr.io/@async-io/async-io",
    bugs: { url: "https://github.com/async-io/async-io/issues" },
  });
});

test("packageLinkProblems() names each missing or wrong field", () => {
  const { repository, homepage } = npmPackageLinks();
  assert.deepEqual(
    packageLinkProblems({
      name: "@async-io/async-io",
      repository: { url: repository.url, type: "git" },
      homepage: `${homepage}/doc`,
    }),
    [
      'package.json\'s "homepage" must be "https://jsr.io/@async-io/async-io": ' +
      'current value is "https://jsr.io/@async-io/async-io/doc"',
      'package.json\'s "bugs" must be {"url":"https://github.com/async-io/async-io/issues"}: ' +
      "current value is missing",
    ],
  );
  assert.deepEqual(packageLinkProblems({ ...npmPackageLinks() }), []);
  assert.equal(packageLinkProblems(null).length, 3);
});

test("blobUrl() and rawUrl() link a path as a page and as raw bytes", () => {
  assert.equal(
    blobUrl("bench/RESULTS.md"),
    "https://github.com/async-io/async-io/blob/main/bench/RESULTS.md",
  );
  assert.equal(
    rawUrl("bench/throughput.svg"),
    "https://raw.githubusercontent.com/async-io/async-io/main/bench/throughput.svg",
  );
});

test("npmDescription() is the module doc's first line as plain text, as npm shows it", async () => {
  assert.equal(
    npmDescription(
      "/**\n * Maps a `ReadableStream` with {@linkcode fn}.\n *\n * More.\n */",
    ),
    "Maps a ReadableStream with fn.",
  );
  const description = npmDescription(
    await Deno.readTextFile(new URL("../../mod.ts", import.meta.url)),
  );
  assert.match(description, /^Apache Flink's async I\/O operator/);
  assert.doesNotMatch(description, /[`{}]/);
});
