// Builds the npm package in dist/npm/: ESM JavaScript bundled by esbuild,
// `.d.ts` files emitted by tsc, a package.json with `exports`, the README and
// the LICENSE. Prints the minified and gzipped size of the library.
//
//   deno task build
import * as esbuild from "esbuild";
import ts from "typescript";
import { gzipSync } from "node:zlib";
import denoConfig from "../deno.json" with { type: "json" };
import { emitOrThrow, WEB_LIBS } from "./_tsc.ts";

const root = new URL("..", import.meta.url).pathname;
const out = `${root}dist/npm/`;
const entry = `${root}mod.ts`;
/** The second entry point, `@async-io/async-io/redis`. */
const redisEntry = `${root}src/redis.ts`;

/** The goal for the minified and gzipped library, in bytes. */
const SIZE_GOAL = 6 * 1024;

await Deno.remove(out, { recursive: true }).catch((error) => {
  if (!(error instanceof Deno.errors.NotFound)) throw error;
});
await Deno.mkdir(out, { recursive: true });

const common: esbuild.BuildOptions = {
  entryPoints: [entry],
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  logLevel: "warning",
};
try {
  await esbuild.build({ ...common, outfile: `${out}mod.js` });
  // Self-contained: it carries its own copy of the engine.
  await esbuild.build({
    ...common,
    entryPoints: [redisEntry],
    outfile: `${out}redis.js`,
  });
  const minified = await esbuild.build({
    ...common,
    minify: true,
    write: false,
  });
  const code = minified.outputFiles[0]!.contents;
  const gzipped = gzipSync(code, { level: 9 }).byteLength;
  const verdict = gzipped <= SIZE_GOAL ? "within" : "OVER";
  console.log(
    `Library size: ${code.byteLength} B minified, ${gzipped} B (${
      kb(gzipped)
    } KB) ` +
      `minified+gzipped, ${verdict} the ${kb(SIZE_GOAL)} KB goal`,
  );
} finally {
  await esbuild.stop();
}

emitDeclarations();

const moduleDoc = (await Deno.readTextFile(entry)).match(/^\/\*\*\n \* (.+)$/m);
const packageJson = {
  name: denoConfig.name,
  version: denoConfig.version,
  description: moduleDoc?.[1] ?? "",
  license: denoConfig.license,
  type: "module",
  exports: {
    ".": { types: "./mod.d.ts", default: "./mod.js" },
    "./redis": { types: "./src/redis.d.ts", default: "./redis.js" },
  },
  types: "./mod.d.ts",
  files: [
    "mod.js",
    "mod.d.ts",
    "redis.js",
    "src/**/*.d.ts",
    "README.md",
    "LICENSE",
  ],
  sideEffects: false,
  engines: { node: ">=20" },
  keywords: [
    "async-io",
    "flink",
    "web-streams",
    "transformstream",
    "backpressure",
  ],
};
await Deno.writeTextFile(
  `${out}package.json`,
  JSON.stringify(packageJson, null, 2) + "\n",
);
for (const file of ["README.md", "LICENSE"]) {
  await Deno.copyFile(`${root}${file}`, `${out}${file}`);
}
console.log(`Wrote ${packageJson.name}@${packageJson.version} to ${out}`);

function kb(bytes: number): string {
  return (bytes / 1024).toFixed(2);
}

/** Emits `.d.ts` files with tsc. */
function emitDeclarations(): void {
  const options: ts.CompilerOptions = {
    ...ts.convertCompilerOptionsFromJson(denoConfig.compilerOptions, root)
      .options,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: WEB_LIBS,
    declaration: true,
    emitDeclarationOnly: true,
    // Lets the sources import `./x.ts`. tsc rewrites such imports to `./x.js`
    // in JavaScript only: the `.d.ts` files keep `./x.ts`, which TypeScript
    // 5.0 and later resolve to `./x.d.ts` (microsoft/TypeScript#61037).
    rewriteRelativeImportExtensions: true,
    rootDir: root,
    outDir: out,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const program = ts.createProgram(
    [entry, redisEntry],
    options,
    host,
  );
  emitOrThrow(program, host, "emit declarations");
}
