// Shared by the Bun and browser runners: which test files to run, and the npm
// packages they import. Bun and esbuild do not read Deno's import maps, so the
// bare imports of the tests are installed with npm, at the exact versions
// dev_deps.json pins, into a throwaway node_modules.
import devDeps from "../dev_deps.json" with { type: "json" };

/** The repository root, with a trailing slash. */
export const root: string = new URL("..", import.meta.url).pathname;

/** The test files given on the command line, else every `tests/*_test.ts`. */
export async function testFiles(args: string[]): Promise<string[]> {
  if (args.length > 0) return args.map((file) => Deno.realPathSync(file));
  const found: string[] = [];
  for await (const entry of Deno.readDir(`${root}tests`)) {
    if (entry.isFile && entry.name.endsWith("_test.ts")) {
      found.push(`${root}tests/${entry.name}`);
    }
  }
  if (found.length === 0) {
    throw new Error(
      `Cannot run the tests as no tests/*_test.ts exists in ${root}`,
    );
  }
  return found.sort();
}

/** A path relative to the repository root, as the reports show it. */
export function relative(file: string): string {
  return file.startsWith(root) ? file.slice(root.length) : file;
}

const IMPORT = /\b(?:from|import)\s*\(?\s*["']([^"'.\/][^"']*)["']/g;

/**
 * The pinned `npm:` specifiers (without the `npm:` prefix) of the bare
 * imports in `files` and the local modules they import.
 *
 * @throws {TypeError} If a bare import is neither `node:` nor in dev_deps.json.
 */
export async function npmDependencies(files: string[]): Promise<string[]> {
  const imports: Record<string, string> = devDeps.imports;
  const specs = new Set<string>();
  const seen = new Set<string>();
  const queue = [...files];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const source = await Deno.readTextFile(file);
    for (const [, specifier] of source.matchAll(IMPORT)) {
      if (specifier === undefined || specifier.startsWith("node:")) continue;
      const name = specifier.startsWith("@")
        ? specifier.split("/", 2).join("/")
        : specifier.split("/")[0]!;
      const target = imports[name];
      if (!target?.startsWith("npm:")) {
        throw new TypeError(
          `Cannot resolve "${specifier}" in ${
            relative(file)
          }: dev_deps.json pins no npm: import for it`,
        );
      }
      specs.add(target.slice("npm:".length));
    }
    for (
      const [, local] of source.matchAll(
        /\bfrom\s+["'](\.\.?\/[^"']+\.ts)["']/g,
      )
    ) {
      const path = new URL(local!, `file://${file}`).pathname;
      if (path.startsWith(`${root}tests/`)) queue.push(path);
    }
  }
  return [...specs].sort();
}

/** Installs `specs` with npm into `prefix`/node_modules. */
export async function npmInstall(
  specs: string[],
  prefix: string,
): Promise<void> {
  if (specs.length === 0) return;
  const args = [
    "install",
    "--prefix",
    prefix,
    "--no-save",
    "--no-package-lock",
    "--no-audit",
    "--no-fund",
    ...specs,
  ];
  const { success, stderr } = await new Deno.Command("npm", {
    args,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(
      `Cannot install ${specs.join(" ")}:\n${new TextDecoder().decode(stderr)}`,
    );
  }
}
