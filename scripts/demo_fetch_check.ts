// Checks that `deno task demo` on a fresh machine fetches only what it runs:
// it runs the demo with an empty DENO_DIR and fails if that DENO_DIR then
// holds an npm package the demo's module graph does not import. `deno task`
// installs every npm package of deno.json's "imports" and of its lockfile
// before it runs a task, so a dev dependency added there would be fetched by
// every first `deno task demo` (it once was: 99 MB).
//
//   deno run --allow-read --allow-write --allow-run --allow-env scripts/demo_fetch_check.ts

const root = new URL("..", import.meta.url).pathname;
const decoder = new TextDecoder();

/** The npm packages (`name@version`) stored under `denoDir`. */
export async function fetchedNpmPackages(denoDir: string): Promise<string[]> {
  const found: string[] = [];
  const npm = `${denoDir}/npm`;
  for (const registry of await directories(npm)) {
    for (const entry of await directories(`${npm}/${registry}`)) {
      const names = entry.startsWith("@")
        ? (await directories(`${npm}/${registry}/${entry}`)).map((name) =>
          `${entry}/${name}`
        )
        : [entry];
      for (const name of names) {
        for (const version of await directories(`${npm}/${registry}/${name}`)) {
          found.push(`${name}@${version}`);
        }
      }
    }
  }
  return found.sort();
}

async function directories(path: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(path)) {
      if (entry.isDirectory) names.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names;
}

async function run(
  args: string[],
  env: Record<string, string>,
): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: root,
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...env },
    stdin: "null",
  }).output();
  if (code !== 0) {
    throw new Error(
      `deno ${args.join(" ")} exited with code ${code}:\n${
        decoder.decode(stderr)
      }`,
    );
  }
  return decoder.decode(stdout);
}

async function sizeOf(path: string): Promise<number> {
  let bytes = 0;
  for await (const entry of Deno.readDir(path)) {
    const child = `${path}/${entry.name}`;
    if (entry.isDirectory) bytes += await sizeOf(child);
    else if (entry.isFile) bytes += (await Deno.stat(child)).size;
  }
  return bytes;
}

if (import.meta.main) {
  const fresh = await Deno.makeTempDir({ prefix: "async-io-demo-deno-dir-" });
  const graphDir = await Deno.makeTempDir({ prefix: "async-io-demo-graph-" });
  try {
    await run(
      ["task", "demo", "--events", "50", "--baseline", "0", "--out", "-"],
      { DENO_DIR: fresh },
    );
    const fetched = await fetchedNpmPackages(fresh);
    const info = JSON.parse(
      await run(["info", "--json", "demo/main.ts"], { DENO_DIR: graphDir }),
    ) as { npmPackages?: Record<string, unknown> };
    // Keys look like "name@1.2.3" or, with peer dependencies, "name@1.2.3_peer@4".
    const imported = new Set(
      Object.keys(info.npmPackages ?? {}).map((key) =>
        /^@?[^@]+@[^_]+/.exec(key)?.[0] ?? key
      ),
    );
    const extra = fetched.filter((spec) => !imported.has(spec));
    const mb = ((await sizeOf(fresh)) / 1024 / 1024).toFixed(1);
    console.log(
      `deno task demo with an empty DENO_DIR: ${mb} MB, npm packages fetched: ${
        fetched.length === 0 ? "none" : fetched.join(", ")
      }; imported by demo/main.ts: ${
        imported.size === 0 ? "none" : [...imported].join(", ")
      }`,
    );
    if (extra.length > 0) {
      console.error(
        `deno task demo fetched ${extra.length} npm packages it does not import: ${
          extra.join(", ")
        }. Keep dev dependencies out of deno.json "imports" and its lockfile ` +
          `(they belong in dev_deps.json and dev_deps.lock).`,
      );
      Deno.exitCode = 1;
    }
  } finally {
    await Deno.remove(fresh, { recursive: true });
    await Deno.remove(graphDir, { recursive: true });
  }
}
