// scripts/node20_api_check.ts: code that users copy must run on Node 20.
import assert from "node:assert/strict";
import { test } from "node:test";
import { findNewerApis } from "../../scripts/node20_api_check.ts";

test("findNewerApis() flags Array.fromAsync in README code blocks, not in prose", () => {
  const readme = [
    "Array.fromAsync is not in Node 20.",
    "```ts",
    "const all = await Array.fromAsync(stream);",
    "```",
  ].join("\n");
  assert.deepEqual(findNewerApis("README.md", readme), [
    { file: "README.md", line: 3, api: "Array.fromAsync" },
  ]);
});

test("findNewerApis() flags code and JSDoc examples in TypeScript, not comments", () => {
  const source = [
    "// Array.fromAsync would be shorter here.",
    "/**",
    " * Uses Promise.withResolvers in prose only.",
    " * ```ts",
    " * const { promise } = Promise.withResolvers();",
    " * ```",
    " */",
    "const groups = Object.groupBy(items, key); // Map.groupBy too",
  ].join("\n");
  assert.deepEqual(findNewerApis("example.ts", source), [
    { file: "example.ts", line: 5, api: "Promise.withResolvers" },
    { file: "example.ts", line: 8, api: "Object.groupBy" },
  ]);
});
