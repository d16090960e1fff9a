// Fails if the code users copy (README code blocks, examples, JSDoc examples)
// uses a built-in that Node 20, the oldest Node the package supports, lacks.
// Comments and prose may name them; only code counts.
//
//   deno run --allow-read scripts/node20_api_check.ts README.md examples/ [mod.ts src/]

/** Built-ins newer than Node 20, with what to use instead. */
const NEWER_THAN_NODE_20: ReadonlyMap<string, string> = new Map([
  ["Array.fromAsync", "a for await loop"],
  ["Promise.withResolvers", "new Promise((resolve, reject) => ...)"],
  ["Promise.try", "new Promise((resolve) => resolve(fn()))"],
  ["Object.groupBy", "a loop into an object"],
  ["Map.groupBy", "a loop into a Map"],
  ["Iterator.from", "a generator"],
]);

/** One use of a built-in that Node 20 lacks. */
export interface Finding {
  file: string;
  line: number;
  api: string;
}

/** The code of a Markdown file: the lines of its fenced code blocks. */
function markdownCode(text: string): (string | undefined)[] {
  let fenced = false;
  return text.split("\n").map((line) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return undefined;
    }
    return fenced ? line : undefined;
  });
}

/**
 * The code of a TypeScript file: its lines outside comments, plus the lines
 * of the fenced examples inside its JSDoc comments (with the `*` cut off).
 */
function typescriptCode(text: string): (string | undefined)[] {
  let inComment = false;
  let fenced = false;
  return text.split("\n").map((line) => {
    const trimmed = line.trim();
    if (!inComment && trimmed.startsWith("/*")) inComment = true;
    if (inComment) {
      const body = trimmed.replace(/^\/?\*+\/?\s?/, "");
      if (trimmed.endsWith("*/")) inComment = false;
      if (/^```/.test(body)) {
        fenced = !fenced;
        return undefined;
      }
      return fenced ? body : undefined;
    }
    return line.replace(/\/\/.*$/, "");
  });
}

/** The uses of built-ins newer than Node 20 in `text`, a file named `file`. */
export function findNewerApis(file: string, text: string): Finding[] {
  const code = file.endsWith(".md") ? markdownCode(text) : typescriptCode(text);
  const findings: Finding[] = [];
  code.forEach((line, index) => {
    if (line === undefined) return;
    for (const api of NEWER_THAN_NODE_20.keys()) {
      if (new RegExp(`\\b${api.replace(".", "\\.")}\\b`).test(line)) {
        findings.push({ file, line: index + 1, api });
      }
    }
  });
  return findings;
}

async function filesUnder(path: string): Promise<string[]> {
  const info = await Deno.stat(path);
  if (info.isFile) return [path];
  const files: string[] = [];
  for await (const entry of Deno.readDir(path)) {
    const child = `${path.replace(/\/$/, "")}/${entry.name}`;
    if (entry.isDirectory) files.push(...await filesUnder(child));
    else if (/\.(ts|md)$/.test(entry.name)) files.push(child);
  }
  return files.sort();
}

if (import.meta.main) {
  if (Deno.args.length === 0) {
    throw new TypeError(
      "Cannot check for built-ins newer than Node 20 as no path was given",
    );
  }
  const findings: Finding[] = [];
  for (const path of Deno.args) {
    for (const file of await filesUnder(path)) {
      findings.push(...findNewerApis(file, await Deno.readTextFile(file)));
    }
  }
  for (const { file, line, api } of findings) {
    console.error(
      `${file}:${line}: ${api} does not exist in Node 20; use ${
        NEWER_THAN_NODE_20.get(api)
      }`,
    );
  }
  if (findings.length > 0) Deno.exitCode = 1;
  else console.log(`No built-in newer than Node 20 in ${Deno.args.join(" ")}`);
}
