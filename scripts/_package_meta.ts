// Where the package lives, in one place: the npm package.json's
// `repository`, `homepage` and `bugs`, and the absolute links that the README
// uses for files the JSR publish leaves out.
//
// ASSUMPTION: the canonical repository is github.com/async-io/async-io (it
// matches the JSR scope). There is no remote yet; if it moves, change
// REPOSITORY here and run `deno task test`: the README link check then names
// every README link that still points at the old place.
import { isDeepStrictEqual } from "node:util";

/** The canonical repository, on GitHub. */
export const REPOSITORY = "https://github.com/async-io/async-io";
/** The branch that absolute links into the repository point at. */
export const BRANCH = "main";
/** The package's page. */
export const HOMEPAGE = "https://jsr.io/@async-io/async-io";
/** Where to report bugs. */
export const BUGS = `${REPOSITORY}/issues`;

/** The `owner/name` of REPOSITORY. */
export const REPOSITORY_SLUG = new URL(REPOSITORY).pathname.slice(1);

/** A link to the page of `path` (relative to the root) in the repository. */
export function blobUrl(path: string): string {
  return `${REPOSITORY}/blob/${BRANCH}/${path}`;
}

/** A link to the raw bytes of `path`, which renders as an image anywhere. */
export function rawUrl(path: string): string {
  return `https://raw.githubusercontent.com/${REPOSITORY_SLUG}/${BRANCH}/${path}`;
}

/** The fields that npm shows as the package's links. */
export interface NpmPackageLinks {
  repository: { type: "git"; url: string };
  homepage: string;
  bugs: { url: string };
}

/** The `repository`, `homepage` and `bugs` of the npm package.json. */
export function npmPackageLinks(): NpmPackageLinks {
  return {
    repository: { type: "git", url: `git+${REPOSITORY}.git` },
    homepage: HOMEPAGE,
    bugs: { url: BUGS },
  };
}

/**
 * What `packageJson` (a parsed package.json) lacks or has wrong among
 * npmPackageLinks(): one line per field, none when all match.
 */
export function packageLinkProblems(packageJson: unknown): string[] {
  const actual =
    (typeof packageJson === "object" && packageJson !== null
      ? packageJson
      : {}) as Record<string, unknown>;
  const problems: string[] = [];
  for (const [field, expected] of Object.entries(npmPackageLinks())) {
    if (!isDeepStrictEqual(actual[field], expected)) {
      problems.push(
        `package.json's "${field}" must be ${
          JSON.stringify(expected)
        }: current value is ${JSON.stringify(actual[field]) ?? "missing"}`,
      );
    }
  }
  return problems;
}

/**
 * The npm `description`: the first line of the module doc of `source` (the
 * entry point's text), as plain text, since npm shows it unrendered.
 */
export function npmDescription(source: string): string {
  const line = source.match(/^\/\*\*\n \* (.+)$/m)?.[1] ?? "";
  return line.replaceAll(/`([^`]*)`/g, "$1")
    .replaceAll(/\{@link(?:code|plain)? ([^}\s]+)\}/g, "$1");
}
