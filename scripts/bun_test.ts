// Runs the behavioural tests (`tests/*_test.ts`), unchanged, under Bun 1.x
// from npm. Bun resolves bare imports from node_modules, not from an import map,
// so the tests run from a copy of the sources next to a node_modules holding
// the npm packages they import, at the versions dev_deps.json pins.
//
//   deno task test:bun [test files...]
import {
  npmDependencies,
  npmInstall,
  relative,
  root,
  testFiles,
} from "./_test_deps.ts";

const BUN = "bun@1";

const files = await testFiles(Deno.args);
const work = await Deno.makeTempDir({ prefix: "async-io-bun-" });
try {
  const copy = new Deno.Command("cp", {
    args: ["-R", "mod.ts", "src", "tests", work],
    cwd: root,
  });
  if (!(await copy.output()).success) {
    throw new Error(`Cannot copy the sources to ${work}`);
  }
  const deps = await npmDependencies(files);
  console.log(`Installing for Bun: ${deps.join(", ") || "(no npm packages)"}`);
  await npmInstall(deps, work);
  // "./" makes Bun take each argument as a path, not as a name filter.
  const args = [
    "-y",
    BUN,
    "test",
    ...files.map((file) => `./${relative(file)}`),
  ];
  console.log(`npx ${args.join(" ")}`);
  const { code } = await new Deno.Command("npx", {
    args,
    cwd: work,
    stdout: "inherit",
    stderr: "inherit",
  })
    .output();
  if (code !== 0) console.error(`Bun exited with code ${code}`);
  Deno.exitCode = code;
} finally {
  await Deno.remove(work, { recursive: true });
}
