// scripts/_readme_size.ts: `deno task build` fails when the README's size
// figure is stale, and `--update-readme` rewrites it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { sizeMismatch, withSize } from "../../scripts/_readme_size.ts";

const README = [
  "The main entry point is **9.6 KB minified and gzipped** (31.3 KB",
  "minified); the build checks the figure.",
].join("\n");

/** 11.0 KB gzipped and 35.4 KB minified, at 0.1 KB. */
const MEASURED = { minified: 36_246, gzipped: 11_303 };

test("sizeMismatch() names both figures and the flag when the README's size differs", () => {
  assert.equal(
    sizeMismatch(README, MEASURED),
    "README.md says the library is 9.6 KB minified and gzipped (31.3 KB minified), " +
      "but the build measures 11.0 KB (35.4 KB minified): run " +
      "`deno task build --update-readme` to write the measured figures into README.md",
  );
});

test("sizeMismatch() compares at the README's precision", () => {
  const readme = withSize(README, MEASURED);
  assert.equal(sizeMismatch(readme, MEASURED), undefined);
  // 11,313 bytes is still 11.0 KB; 11,323 is 11.1 KB.
  assert.equal(
    sizeMismatch(readme, { ...MEASURED, gzipped: 11_313 }),
    undefined,
  );
  assert.match(
    sizeMismatch(readme, { ...MEASURED, gzipped: 11_323 }) ?? "",
    /says the library is 11\.0 KB .* measures 11\.1 KB/,
  );
  // The minified figure counts too.
  assert.match(
    sizeMismatch(readme, { ...MEASURED, minified: 40_000 }) ?? "",
    /\(35\.4 KB minified\), but the build measures 11\.0 KB \(39\.1 KB minified\)/,
  );
});

test("withSize() rewrites only the figures, across a line break", () => {
  assert.equal(
    withSize(README, MEASURED),
    [
      "The main entry point is **11.0 KB minified and gzipped** (35.4 KB",
      "minified); the build checks the figure.",
    ].join("\n"),
  );
});

test("sizeMismatch() throws unless the README states the size exactly once", () => {
  const message = (count: number) =>
    new TypeError(
      `Cannot check the size in README.md as it must say "**N KB minified and gzipped** (M KB minified)" once: current count is ${count}`,
    );
  assert.throws(
    () => sizeMismatch("It is about 10 KB.", MEASURED),
    message(0),
  );
  assert.throws(
    () => withSize(`${README}\n${README}`, MEASURED),
    message(2),
  );
});

test("the README states the size once, in the form the build checks", async () => {
  const readme = await Deno.readTextFile(
    new URL("../../README.md", import.meta.url),
  );
  // Any size: the build itself compares it with the measured one.
  assert.doesNotThrow(() => sizeMismatch(readme, MEASURED));
});
