// What bench/results.json records about the machine it was measured on.
import type { Results } from "./_results.ts";

const benchDir = new URL(".", import.meta.url);

/** What a command prints, or nothing if it cannot run. */
async function output(command: string, ...args: string[]): Promise<string> {
  try {
    const { stdout } = await new Deno.Command(command, { args, stderr: "null" })
      .output();
    return new TextDecoder().decode(stdout);
  } catch {
    return "";
  }
}

/** The machine, runtime and peer versions a run was measured on. */
export async function machine(): Promise<Results["machine"]> {
  // Deno lets only --allow-all read /proc directly, so ask cat.
  const cpuinfo = await output("cat", "/proc/cpuinfo");
  const meminfo = await output("cat", "/proc/meminfo");
  const kib = /MemTotal:\s+(\d+)/.exec(meminfo)?.[1];
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../dev_deps.json", benchDir)),
  );
  return {
    cpus: navigator.hardwareConcurrency,
    cpuModel: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    memoryGiB: kib === undefined ? NaN : Number(kib) / 1024 / 1024,
    os: `${Deno.build.os} ${Deno.osRelease()} ${Deno.build.arch}`,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    peers: {
      "p-map": config.imports["p-map"],
      rxjs: config.imports.rxjs,
      "node:stream": "Deno's built-in node:stream",
    },
    date: new Date().toISOString(),
  };
}
