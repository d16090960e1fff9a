// Shared by the npm build and the Node smoke test: one tsc emit that fails
// loudly on any diagnostic.
import ts from "typescript";

/** The libs of a web-platform consumer: ES2022 with the DOM, no @types/node. */
export const WEB_LIBS: string[] = [
  "lib.es2022.d.ts",
  "lib.dom.d.ts",
  "lib.dom.iterable.d.ts",
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
