// Type-checks the library's TypeScript sources (mod.ts and what it imports)
// with tsc --strict and deno.json's compiler options in each environment of
// TYPE_ENVIRONMENTS: TypeScript's DOM lib, @types/node and bun-types. That is
// what a user compiles who imports the sources under Bun or Node rather than
// through Deno, whose own lib declares more of the Streams spec.
//
//   deno run --import-map=dev_deps.json --lock=dev_deps.lock \
//     --allow-read --allow-write --allow-env --allow-run scripts/tsc_sources_check.ts
import ts from "typescript";
import denoConfig from "../deno.json" with { type: "json" };
import { TYPE_ENVIRONMENTS, TYPE_PACKAGES } from "./_tsc.ts";

const root = new URL("..", import.meta.url).pathname;

const work = await Deno.makeTempDir({ prefix: "async-io-tsc-sources-" });
let failed = 0;
try {
  await Deno.writeTextFile(`${work}/package.json`, '{"private":true}');
  const { success, stderr } = await new Deno.Command("npm", {
    args: ["install", "--no-audit", "--no-fund", "--silent", ...TYPE_PACKAGES],
    cwd: work,
    stdout: "null",
  }).output();
  if (!success) {
    throw new Error(
      `Cannot install ${TYPE_PACKAGES.join(" ")}:\n${
        new TextDecoder().decode(stderr)
      }`,
    );
  }
  for (const environment of TYPE_ENVIRONMENTS) {
    const options: ts.CompilerOptions = {
      ...ts.convertCompilerOptionsFromJson(denoConfig.compilerOptions, root)
        .options,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      allowImportingTsExtensions: true,
      noEmit: true,
      lib: environment.lib,
      types: environment.types,
      typeRoots: [`${work}/node_modules/@types`, `${work}/node_modules`],
    };
    const host = ts.createCompilerHost(options);
    host.getCurrentDirectory = () => work; // where `types` resolve from
    const program = ts.createProgram([`${root}mod.ts`], options, host);
    const diagnostics = ts.getPreEmitDiagnostics(program);
    if (diagnostics.length === 0) {
      console.log(
        `tsc --strict: the sources type-check with ${environment.name}`,
      );
      continue;
    }
    failed++;
    console.error(
      `tsc --strict: the sources fail with ${environment.name}:\n` +
        ts.formatDiagnosticsWithColorAndContext(diagnostics, host),
    );
  }
} finally {
  await Deno.remove(work, { recursive: true });
}
if (failed > 0) Deno.exitCode = 1;
