// Fails if a TypeScript block of the README does not type-check against the
// library under the strict compiler options: a renamed option, a changed
// signature or a typo in the code that users copy. Each block is checked as
// a module of its own, with the names it takes as given declared in
// scripts/_readme_code_context.d.ts. `ts ignore` blocks (which `deno test --doc`
// would skip) are checked too; only their running is left out.
//
//   deno run --allow-read --allow-write --allow-run --allow-env scripts/readme_code_check.ts

/** One fenced TypeScript block of a Markdown file. */
export interface CodeBlock {
  /** The line of the block's first line of code, counted from 1. */
  line: number;
  code: string;
}

/**
 * The fenced `ts` blocks of `markdown` (`ts ignore` ones included), with the
 * indentation of their fence removed, as in a list item.
 */
export function typescriptBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split("\n");
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^( *)(`{3,}|~{3,})(\w*)/.exec(lines[i]!);
    if (fence === null) continue;
    const [, indent, marker, language] = fence;
    const end = lines.findIndex((line, j) =>
      j > i && line.trimStart().startsWith(marker!) &&
      line.trim() === line.trim()[0]!.repeat(line.trim().length)
    );
    const last = end === -1 ? lines.length : end;
    if (language === "ts" || language === "typescript") {
      const code = lines.slice(i + 1, last).map((line) =>
        line.startsWith(indent!) ? line.slice(indent!.length) : line.trimStart()
      );
      blocks.push({ line: i + 2, code: code.join("\n") + "\n" });
    }
    i = last;
  }
  return blocks;
}

if (import.meta.main) {
  const root = new URL("..", import.meta.url);
  const blocks = typescriptBlocks(
    await Deno.readTextFile(new URL("README.md", root)),
  );
  const denoConfig = JSON.parse(
    await Deno.readTextFile(new URL("deno.json", root)),
  );
  const directory = await Deno.makeTempDir({ prefix: "readme-code-" });
  try {
    await Deno.writeTextFile(
      `${directory}/deno.json`,
      JSON.stringify({
        lock: false,
        compilerOptions: denoConfig.compilerOptions,
        imports: {
          "@async-io/async-io": new URL("mod.ts", root).href,
          "@async-io/async-io/redis": new URL("src/redis.ts", root).href,
          "redis": "npm:redis@6.3.1",
        },
      }),
    );
    await Deno.copyFile(
      new URL("scripts/_readme_code_context.d.ts", root),
      `${directory}/_context.d.ts`,
    );
    const files: string[] = [];
    for (const block of blocks) {
      const file = `${directory}/readme_line_${block.line}.ts`;
      // The import also makes every block a module of its own.
      await Deno.writeTextFile(
        file,
        `import type {} from "./_context.d.ts";\n${block.code}`,
      );
      files.push(file);
    }
    const { code } = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", `--config=${directory}/deno.json`, ...files],
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (code !== 0) {
      console.error(
        "A README block does not type-check: readme_line_N.ts is the block " +
          "whose code starts on README.md line N, and its line L is README " +
          "line N + L - 2. Names a block takes as given are declared in " +
          "scripts/_readme_code_context.d.ts.",
      );
      Deno.exitCode = 1;
    } else {
      console.log(`All ${blocks.length} TypeScript blocks of README.md check`);
    }
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
}
