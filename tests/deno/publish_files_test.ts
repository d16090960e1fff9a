// What `deno publish` puts on JSR: the library (mod.ts and src/), the README,
// the LICENSE and deno.json, and nothing else (no tests, demo, benchmarks or
// scripts, and no `.git` file, which a git worktree has in place of a folder).
import assert from "node:assert/strict";
import { test } from "node:test";

const ROOT = new URL("../../", import.meta.url);

test("deno publish --dry-run publishes the library, its README and its LICENSE, and nothing else", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["publish", "--dry-run", "--allow-dirty"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const output = new TextDecoder().decode(stdout) +
    new TextDecoder().decode(stderr);
  assert.equal(code, 0, output);
  const files = [...output.matchAll(/^\s+(file:\/\/\S+)/gm)].map((match) =>
    decodeURIComponent(match[1]!.slice(ROOT.href.length))
  );
  for (const file of ["mod.ts", "src/redis.ts", "README.md", "LICENSE"]) {
    assert.ok(files.includes(file), `${file} is not published: ${output}`);
  }
  const unexpected = files.filter((file) =>
    !["mod.ts", "README.md", "LICENSE", "deno.json"].includes(file) &&
    !/^src\/[a-z0-9_]+\.ts$/.test(file)
  );
  assert.deepEqual(unexpected, [], "published, but not part of the library");
});
