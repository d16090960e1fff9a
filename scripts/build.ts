// Builds the npm package in dist/npm/: ESM JavaScript bundled by esbuild,
// `.d.ts` files emitted by tsc, a package.json with `exports`, the README and
// the LICENSE. Prints the minified and gzipped size of the library, and fails
// when README.md states another; `--update-readme` writes the measured size
// into README.md instead.
//
//   deno task build [--update-readme]
import * as esbuild from "esbuild";
import ts from "typescript";
import { gzipSync } from "node:zlib";
import denoConfig from "../deno.json" with { type: "json" };
import { emitOrThrow, WEB_LIBS } from "./_tsc.ts";
import { npmDescription, npmPackageLinks } from "./_package_meta.ts";
import {
  type BundleSize,
  sizeMismatch,
  UPDATE_README_FLAG,
  withSize,
} from "./_readme_size.ts";

const root = new URL("..", import.meta.url).pathname;
const out = `${root}dist/npm/`;
const entry = `${root}mod.ts`;
/** The second entry point, `@async-io/async-io/redis`. */
const redisEntry = `${root}src/redis.ts`;

/** The goal for the minified and gzipped library, in bytes. */
const SIZE_GOAL = 6 * 1024;

const unknownFlag = Deno.args.find((arg) => arg !== UPDATE_README_FLAG);
if (unknownFlag !== undefined) {
  throw new TypeError(
    `Cannot build as the only flag is ${UPDATE_README_FLAG}: current value is "${unknownFlag}"`,
  );
}
const updateReadme = Deno.args.includes(UPDATE_README_FLAG);

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
let size: BundleSize;
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
  size = { minified: code.byteLength, gzipped };
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

// Before the README is copied into the package, which then states the same.
const readmePath = `${root}README.md`;
const readme = await Deno.readTextFile(readmePath);
if (updateReadme) {
  const updated = withSize(readme, size);
  if (updated !== readme) {
    await Deno.writeTextFile(readmePath, updated);
    console.log("Wrote the measured size into README.md");
  }
} else {
  const mismatch = sizeMismatch(readme, size);
  if (mismatch !== undefined) {
    console.error(mismatch);
    Deno.exit(1);
  }
}

emitDeclarations();

const packageJson = {
  name: denoConfig.name,
  version: denoConfig.version,
  description: npmDescription(await Deno.readTextFile(entry)),
  license: denoConfig.license,
  ...npmPackageLinks(),
  type: "module",
  exports: {
    ".": { types: "./mod.d.ts", default: "./mod.js" },
    "./redis": { types: "./src/redis.d.ts", default: "./redis.js" },
    // Tools that read a package's package.json resolve it through exports.
    "./package.json": "./package.json",
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
