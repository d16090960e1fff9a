// The README states the library's size: "**N KB minified and gzipped** (M KB
// minified)". `deno task build` measures it and fails when the two
// differ at the README's precision; `--update-readme` writes the measured
// figures in place.

/** The library's size, in bytes. */
export interface BundleSize {
  minified: number;
  gzipped: number;
}

const FIGURES =
  /(\*\*)(\d+(?:\.\d+)?)(\s+KB\s+minified\s+and\s+gzipped\*\*\s+\()(\d+(?:\.\d+)?)(\s+KB\s+minified\))/g;

/** The flag of `deno task build` that writes the measured size into the README. */
export const UPDATE_README_FLAG = "--update-readme";

/** `bytes` in KB (1,024 bytes) with as many decimals as `like` has. */
function kb(bytes: number, like: string): string {
  return (bytes / 1024).toFixed(like.split(".")[1]?.length ?? 0);
}

/** The one size statement of `readme`; throws unless there is exactly one. */
function figures(readme: string): RegExpExecArray {
  const matches = [...readme.matchAll(FIGURES)];
  if (matches.length !== 1) {
    throw new TypeError(
      `Cannot check the size in README.md as it must say "**N KB minified and gzipped** (M KB minified)" once: current count is ${matches.length}`,
    );
  }
  return matches[0]!;
}

/**
 * Why `readme` disagrees with the measured `size`, or undefined when its
 * figures match at the precision it writes them.
 */
export function sizeMismatch(
  readme: string,
  size: BundleSize,
): string | undefined {
  const [, , gzipped, , minified] = figures(readme);
  const measuredGzipped = kb(size.gzipped, gzipped!);
  const measuredMinified = kb(size.minified, minified!);
  if (measuredGzipped === gzipped && measuredMinified === minified) {
    return undefined;
  }
  return `README.md says the library is ${gzipped} KB minified and gzipped ` +
    `(${minified} KB minified), but the build measures ${measuredGzipped} KB ` +
    `(${measuredMinified} KB minified): run \`deno task build ${UPDATE_README_FLAG}\` ` +
    "to write the measured figures into README.md";
}

/** `readme` with its size figures set to `size`, at the same precision. */
export function withSize(readme: string, size: BundleSize): string {
  const {
    index,
    0: whole,
    1: open,
    2: gzipped,
    3: middle,
    4: minified,
    5: close,
  } = figures(readme);
  const updated = `${open}${kb(size.gzipped, gzipped!)}${middle}${
    kb(size.minified, minified!)
  }${close}`;
  return readme.slice(0, index) + updated + readme.slice(index + whole.length);
}
