// Smoke-tests the npm build in dist/npm/ (run `deno task build` first) the
// way a Node user gets it: `npm pack`, `npm install` of the tarball into an
// empty project, tsc --strict type-checks tests/node/smoke.ts and every
// installed `.d.ts` file (NodeNext resolution, so through `exports`, and no
// skipLibCheck) in three environments: TypeScript's DOM lib, @types/node and
// bun-types. Plain `node` then runs the output. Exits non-zero on a type error
// or a failed check. The installed package.json must carry the `repository`,
// `homepage` and `bugs` of scripts/_package_meta.ts.
//
// Then it does the same with tests/fixtures/stop_child.ts (its import
// rewritten to the package) and runs it once per state of issue 12's stop
// matrix: each run must exit by itself within 5 s, every stop "ok".
//
//   deno task test:node
import ts from "typescript";
import {
  emitOrThrow,
  TYPE_ENVIRONMENTS,
  TYPE_PACKAGES,
  type TypeEnvironment,
} from "./_tsc.ts";
import { packageLinkProblems } from "./_package_meta.ts";
import { STATES } from "../tests/_stop_scenarios.ts";

const root = new URL("..", import.meta.url).pathname;
const MIN_NODE_MAJOR = 20;
/** The states of the stop matrix, which tests/fixtures/stop_child.ts builds. */
const STOP_STATES = Object.keys(STATES);
const EXIT_LIMIT_MS = 5_000;

const work = await Deno.makeTempDir({ prefix: "async-io-node-" });
try {
  const nodeVersion = (await run("node", ["--version"], work)).trim();
  console.log(`node ${nodeVersion}`);
  const major = Number(nodeVersion.match(/^v(\d+)\./)?.[1]);
  if (!(major >= MIN_NODE_MAJOR)) {
    throw new RangeError(
      `Cannot smoke-test on Node ${nodeVersion}: Node ${MIN_NODE_MAJOR} or later is needed`,
    );
  }
  const packed = await run("npm", [
    "pack",
    `${root}dist/npm`,
    "--pack-destination",
    work,
    "--silent",
  ], work);
  const tarball = `${work}/${packed.trim().split("\n").at(-1)}`;
  console.log(`packed ${tarball}`);
  const project = {
    name: "async-io-node-smoke",
    private: true,
    type: "module",
  };
  await Deno.writeTextFile(`${work}/package.json`, JSON.stringify(project));
  await run(
    "npm",
    [
      "install",
      "--no-audit",
      "--no-fund",
      "--silent",
      tarball,
      ...TYPE_PACKAGES,
    ],
    work,
  );
  const installed = JSON.parse(
    await Deno.readTextFile(
      `${work}/node_modules/@async-io/async-io/package.json`,
    ),
  );
  const linkProblems = packageLinkProblems(installed);
  if (linkProblems.length > 0) {
    throw new Error(`The npm package's links:\n${linkProblems.join("\n")}`);
  }
  console.log("package.json has its repository, homepage and bugs");
  // Every entry point the exports map names loads in plain node.
  await run("node", [
    "--input-type=module",
    "--eval",
    `import { createRequire } from "node:module";
const redis = await import("@async-io/async-io/redis");
if (typeof redis.redisWorker !== "function") throw new Error("no redisWorker");
const meta = createRequire(import.meta.url)("@async-io/async-io/package.json");
if (meta.name !== "@async-io/async-io") throw new Error("no package.json");`,
  ], work);
  console.log("node imports @async-io/async-io/redis and its package.json");
  await Deno.copyFile(`${root}tests/node/smoke.ts`, `${work}/smoke.ts`);
  for (const environment of TYPE_ENVIRONMENTS) {
    compile(`${work}/smoke.ts`, work, environment);
    console.log(
      `tsc --strict: the npm build type-checks with ${environment.name}`,
    );
  }
  const smoke = new Deno.Command("node", {
    args: ["smoke.js"],
    cwd: work,
    stdout: "inherit",
    stderr: "inherit",
  });
  const { code } = await smoke.output();
  if (code !== 0) console.error(`node smoke.js exited with code ${code}`);
  Deno.exitCode = code;
  if (!await stopChildExits(work)) Deno.exitCode = 1;
} finally {
  await Deno.remove(work, { recursive: true });
}

async function run(
  command: string,
  args: string[],
  cwd: string,
): Promise<string> {
  const { success, stdout, stderr } = await new Deno.Command(command, {
    args,
    cwd,
  }).output();
  const decoder = new TextDecoder();
  if (!success) {
    throw new Error(
      `${command} ${args.join(" ")} failed:\n${decoder.decode(stderr)}`,
    );
  }
  return decoder.decode(stdout);
}

/**
 * Runs the stop child under Node once per state; each run must exit by
 * itself within EXIT_LIMIT_MS and print only "ok" stops.
 */
async function stopChildExits(work: string): Promise<boolean> {
  const source = await Deno.readTextFile(
    `${root}tests/fixtures/stop_child.ts`,
  );
  const rewritten = source.replace(
    'from "../../mod.ts"',
    'from "@async-io/async-io"',
  );
  if (rewritten === source) {
    throw new Error("Cannot find the mod.ts import in stop_child.ts");
  }
  await Deno.writeTextFile(`${work}/stop_child.ts`, rewritten);
  compile(`${work}/stop_child.ts`, work, TYPE_ENVIRONMENTS[0]!);
  let passed = true;
  for (const state of STOP_STATES) {
    const start = performance.now();
    const child = new Deno.Command("node", {
      args: ["stop_child.js", state],
      cwd: work,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill("SIGKILL");
    }, EXIT_LIMIT_MS);
    const { code, stdout, stderr } = await child.output();
    clearTimeout(timer);
    const ms = Math.round(performance.now() - start);
    const out = new TextDecoder().decode(stdout).trim();
    const lines = out.split("\n");
    const ok = !killed && code === 0 && lines.at(-1) === "every stop ended" &&
      lines.slice(0, -1).every((line) => line.endsWith(": ok"));
    if (!ok) passed = false;
    console.log(
      `${ok ? "ok" : "FAIL"}  node stop_child.js ${state}: ${
        killed
          ? `killed after ${EXIT_LIMIT_MS} ms`
          : `exited ${code} in ${ms} ms`
      }`,
    );
    if (!ok) {
      console.log(`${out}\n${new TextDecoder().decode(stderr)}`.trim());
    }
  }
  return passed;
}

/**
 * Type-checks `file` and the `.d.ts` files it reaches as a Node ESM consumer
 * would in `environment`. The first environment also writes the `.js`.
 */
function compile(
  file: string,
  project: string,
  environment: TypeEnvironment,
): void {
  const options: ts.CompilerOptions = {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: environment.lib,
    types: environment.types,
    skipLibCheck: false,
    noEmitOnError: true,
    noEmit: environment !== TYPE_ENVIRONMENTS[0],
  };
  const host = ts.createCompilerHost(options);
  // `types` resolve from the consumer's project, not from where Deno runs.
  host.getCurrentDirectory = () => project;
  const program = ts.createProgram([file], options, host);
  emitOrThrow(
    program,
    host,
    `compile ${file} against the npm build with ${environment.name}`,
  );
}
