// Smoke-tests the npm build in dist/npm/ (run `deno task build` first) the
// way a Node user gets it: `npm pack`, `npm install` of the tarball into an
// empty project, tsc --strict type-checks tests/node/smoke.ts and every
// installed `.d.ts` file (NodeNext resolution, so through `exports`, and no
// skipLibCheck) in three environments: TypeScript's DOM lib, @types/node and
// bun-types. Plain `node` then runs the output. Exits non-zero on a type error
// or a failed check.
//
//   deno task test:node
import ts from "typescript";
import {
  emitOrThrow,
  TYPE_ENVIRONMENTS,
  TYPE_PACKAGES,
  type TypeEnvironment,
} from "./_tsc.ts";

const root = new URL("..", import.meta.url).pathname;
const MIN_NODE_MAJOR = 20;

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
