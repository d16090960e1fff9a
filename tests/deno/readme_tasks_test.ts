// The README's Development table lists every task of deno.json, and no task
// that does not exist.
import assert from "node:assert/strict";
import { test } from "node:test";

test("the README's Development table lists exactly the tasks of deno.json", async () => {
  const root = new URL("../../", import.meta.url);
  const readme = await Deno.readTextFile(new URL("README.md", root));
  const { tasks } = JSON.parse(
    await Deno.readTextFile(new URL("deno.json", root)),
  ) as { tasks: Record<string, string> };
  const table = readme.slice(readme.indexOf("| Task "));
  const listed = [...table.matchAll(/^\| `deno task ([\w:-]+)[^`]*` +\|/gm)]
    .map((match) => match[1]!);
  assert.ok(listed.length > 0, "no Development table in README.md");
  assert.deepEqual(
    [...listed].sort(),
    Object.keys(tasks).sort(),
    "README.md's tasks (left) against deno.json's (right)",
  );
});
