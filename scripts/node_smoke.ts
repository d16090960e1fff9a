// Smoke-tests the npm build in dist/npm/ (run `deno task build` first) the
// way a Node user gets it: `npm pack`, `npm install` of the tarball into an
// empty project, tsc type-checks tests/node/smoke.ts against the installed
// `.d.ts` files (NodeNext resolution, so through `exports`), and plain `node`
// runs the output. Exits non-zero on a type error or a failed check.
//
//   deno task test:node
import ts from "typescript";
import { emitOrThrow, WEB_LIBS } from "./_tsc.ts";

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
    ["install", "--no-audit", "--no-fund", "--silent", tarball],
    work,
  );
  await Deno.copyFile(`${root}tests/node/smoke.ts`, `${work}/smoke.ts`);
  compile(`${work}/smoke.ts`);
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

/** Type-checks `file` as a Node ESM consumer would, and writes the `.js`. */
function compile(file: string): void {
  const options: ts.CompilerOptions = {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: WEB_LIBS,
    types: [],
    noEmitOnError: true,
  };
  const host = ts.createCompilerHost(options);
  const program = ts.createProgram([file], options, host);
  emitOrThrow(program, host, `compile ${file} against the npm build`);
}
