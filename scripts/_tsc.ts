// Shared by the npm build and the type checks of what users compile: one tsc
// emit that fails loudly on any diagnostic, and the environments it must pass.
import ts from "typescript";

/** The libs of a web-platform consumer: ES2022 with the DOM, no @types/node. */
export const WEB_LIBS: string[] = [
  "lib.es2022.d.ts",
  "lib.dom.d.ts",
  "lib.dom.iterable.d.ts",
];

/** The type packages a consumer may compile against, pinned for npm. */
export const TYPE_PACKAGES: string[] = [
  "@types/node@26.6.7",
  "bun-types@1.4.5",
];

/** Where the globals come from: a set of libs and `types` packages. */
export interface TypeEnvironment {
  name: string;
  lib: string[];
  types: string[];
}

/**
 * The environments our types must pass `tsc --strict` in. Their declarations
 * of the web globals differ: TypeScript's DOM lib and bun-types, for example,
 * do not declare `Transformer.cancel`, which Deno's lib and @types/node do.
 */
export const TYPE_ENVIRONMENTS: TypeEnvironment[] = [
  { name: "the DOM lib", lib: WEB_LIBS, types: [] },
  { name: "@types/node", lib: ["lib.es2022.d.ts"], types: ["node"] },
  { name: "bun-types", lib: ["lib.esnext.d.ts"], types: ["bun-types"] },
];

/**
 * Emits `program`, writing through `writeFile` if given.
 *
 * @throws {Error} If tsc reports any problem, after printing them.
 */
export function emitOrThrow(
  program: ts.Program,
  host: ts.CompilerHost,
  what: string,
  writeFile?: ts.WriteFileCallback,
): void {
  const emitted = program.emit(undefined, writeFile);
  const diagnostics = ts.sortAndDeduplicateDiagnostics([
    ...ts.getPreEmitDiagnostics(program),
    ...emitted.diagnostics,
  ]);
  if (diagnostics.length === 0) return;
  console.error(ts.formatDiagnosticsWithColorAndContext(diagnostics, host));
  throw new Error(
    `Cannot ${what}: tsc reported ${diagnostics.length} problems`,
  );
}
