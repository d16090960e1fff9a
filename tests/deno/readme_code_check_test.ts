// scripts/readme_code_check.ts: which README blocks it type-checks.
import assert from "node:assert/strict";
import { test } from "node:test";
import { typescriptBlocks } from "../../scripts/readme_code_check.ts";

test("typescriptBlocks() finds ts blocks, ignore-tagged and indented ones too, and skips other languages", () => {
  const markdown = [
    "# Title", // 1
    "```ts", // 2
    "const a = 1;", // 3
    "```", // 4
    "```sh", // 5
    "deno task demo", // 6
    "```", // 7
    "- a list item:", // 8
    "", // 9
    "  ```ts", // 10
    "  const b = 2;", // 11
    "    nested();", // 12
    "  ```", // 13
    "```ts ignore", // 14
    'import { x } from "redis";', // 15
    "```", // 16
    "````md", // 17
    "```ts", // 18
    "not code: inside a longer fence", // 19
    "```", // 20
    "````", // 21
  ].join("\n");
  assert.deepEqual(typescriptBlocks(markdown), [
    { line: 3, code: "const a = 1;\n" },
    { line: 11, code: "const b = 2;\n  nested();\n" },
    { line: 15, code: 'import { x } from "redis";\n' },
  ]);
});

test("typescriptBlocks() finds the README's blocks, the Redis worker's among them", async () => {
  const blocks = typescriptBlocks(
    await Deno.readTextFile(new URL("../../README.md", import.meta.url)),
  );
  assert.ok(blocks.length >= 10, `${blocks.length} blocks`);
  assert.ok(blocks.some((block) => block.code.includes("redisWorker({")));
});
