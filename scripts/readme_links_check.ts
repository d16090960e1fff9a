// Fails if a published Markdown file (the README, shown on jsr.io and npm) has
// a link that breaks there: a relative link or image to a file that the JSR
// publish leaves out (deno.json's publish.exclude) or that does not exist, or
// an absolute link into the repository (scripts/_package_meta.ts) to a path
// that does not exist. Images into the repository must use the raw URL, which
// renders anywhere; GitHub's page URL does not.
//
//   deno run --allow-read --allow-run=git scripts/readme_links_check.ts
import { posix } from "node:path";
import {
  blobUrl,
  BRANCH,
  rawUrl,
  REPOSITORY,
  REPOSITORY_SLUG,
} from "./_package_meta.ts";

/** What the check knows of the repository, by paths relative to its root. */
export interface Repository {
  /** Whether `path` is a tracked file, or a folder that holds one. */
  has(path: string): boolean;
  /** Whether `path` is in the JSR publish. */
  isPublished(path: string): boolean;
}

/** One link that breaks where the file is published. */
export interface LinkProblem {
  file: string;
  line: number;
  link: string;
  problem: string;
}

/** A link's destination, where it is, and whether it shows an image. */
interface Link {
  destination: string;
  index: number;
  image: boolean;
}

const REPOSITORY_PAGE = new RegExp(
  `^${escape(REPOSITORY)}/(?:blob|tree)/${escape(BRANCH)}/([^?#]+)`,
);
const REPOSITORY_RAW = new RegExp(`^${escape(rawUrl(""))}([^?#]+)`);
/** A reference definition, `[label]: url`: [label, url]. */
const DEFINITION = /^ {0,3}\[([^\]]+)\]:[ \t]*\n?[ \t]*(<[^>]*>|\S+)/gm;
/** A page or raw file of any repository on GitHub: [slug, path]. */
const ANY_GITHUB_FILE =
  /^https:\/\/(?:github\.com\/([^/]+\/[^/]+)\/(?:blob|tree)|raw\.githubusercontent\.com\/([^/]+\/[^/]+))\/[^/]+\/([^?#]+)/;

/**
 * The links in `text`, the Markdown file `file` (a path relative to the
 * root), that break on jsr.io or npm, given what `repository` holds.
 */
export function findLinkProblems(
  file: string,
  text: string,
  repository: Repository,
): LinkProblem[] {
  const prose = withoutCode(text);
  const problems: LinkProblem[] = [];
  const add = (index: number, link: string, problem: string) => {
    const line = text.slice(0, index).split("\n").length;
    problems.push({ file, line, link, problem });
  };
  for (const { destination, index, image } of markdownLinks(prose)) {
    const problem = linkProblem(file, destination, image, repository);
    if (problem !== undefined) add(index, destination, problem);
  }
  // `[text][label]` without `[label]: url` shows as plain text, not a link.
  const defined = new Set(
    [...prose.matchAll(DEFINITION)].map((match) => label(match[1]!)),
  );
  for (const match of prose.matchAll(/\]\[([^\]]+)\]/g)) {
    if (!defined.has(label(match[1]!))) {
      add(match.index, `[${match[1]}]`, "has no definition");
    }
  }
  return problems.sort((a, b) => a.line - b.line);
}

/** A reference label as CommonMark matches it. */
function label(text: string): string {
  return text.trim().replace(/\s+/g, " ").toLowerCase();
}

function linkProblem(
  file: string,
  destination: string,
  image: boolean,
  repository: Repository,
): string | undefined {
  if (destination.startsWith("#")) return undefined;
  const page = destination.match(REPOSITORY_PAGE)?.[1];
  const raw = destination.match(REPOSITORY_RAW)?.[1];
  const repositoryPath = page ?? raw;
  if (repositoryPath !== undefined) {
    const path = decodeURIComponent(repositoryPath).replace(/\/$/, "");
    if (!repository.has(path)) {
      return `${path} is not in the repository`;
    }
    if (image && page !== undefined) {
      return `an image must use ${rawUrl(path)} to render outside GitHub`;
    }
    return undefined;
  }
  if (/^([a-z][a-z0-9+.-]*:|\/\/)/i.test(destination)) {
    // A file of ours under another repository's URL: REPOSITORY has moved.
    const [, pageSlug, rawSlug, otherPath] =
      destination.match(ANY_GITHUB_FILE) ?? [];
    const slug = pageSlug ?? rawSlug;
    const path = otherPath === undefined
      ? undefined
      : decodeURIComponent(otherPath).replace(/\/$/, "");
    if (
      slug !== REPOSITORY_SLUG && path !== undefined && repository.has(path) &&
      !repository.isPublished(path)
    ) {
      return `${slug} is not the repository (${REPOSITORY}, ` +
        `in scripts/_package_meta.ts): use ${
          image ? rawUrl(path) : blobUrl(path)
        }`;
    }
    return undefined;
  }
  const target = decodeURIComponent(destination.replace(/[?#].*$/, ""));
  const path = target.startsWith("/")
    ? posix.normalize(target.slice(1))
    : posix.join(posix.dirname(file), target);
  if (path === ".." || path.startsWith("../")) {
    return `${target} is outside the repository`;
  }
  const normalised = path.replace(/\/$/, "");
  if (!repository.has(normalised)) return `${normalised} does not exist`;
  if (!repository.isPublished(normalised)) {
    return `${normalised} is left out of the JSR publish (deno.json's ` +
      `publish.exclude), so the link breaks on jsr.io: use ${
        image ? rawUrl(normalised) : blobUrl(normalised)
      }`;
  }
  return undefined;
}

/**
 * The inline links and images, reference definitions, and HTML `href`s and
 * `src`s of `prose`, Markdown with its code blanked out.
 */
function markdownLinks(prose: string): Link[] {
  const links: Link[] = [];
  for (const match of prose.matchAll(/\]\(\s*(<[^>]*>|[^\s)]*)/g)) {
    const close = match.index;
    links.push({
      destination: match[1]!.replace(/^<(.*)>$/, "$1"),
      index: close,
      image: prose[openingBracket(prose, close) - 1] === "!",
    });
  }
  const imageLabels = new Set(
    [...prose.matchAll(/!\[[^\]]*\]\[([^\]]+)\]/g)].map((match) =>
      label(match[1]!)
    ),
  );
  for (const match of prose.matchAll(DEFINITION)) {
    links.push({
      destination: match[2]!.replace(/^<(.*)>$/, "$1"),
      index: match.index,
      image: imageLabels.has(label(match[1]!)),
    });
  }
  for (
    const match of prose.matchAll(
      /<(img|a)\s[^>]*?\b(?:src|href)\s*=\s*["']([^"']*)["']/gi,
    )
  ) {
    links.push({
      destination: match[2]!,
      index: match.index,
      image: match[1]!.toLowerCase() === "img",
    });
  }
  return links.sort((a, b) => a.index - b.index);
}

/** The index of the `[` that the `]` at `close` ends. */
function openingBracket(text: string, close: number): number {
  let depth = 0;
  for (let index = close; index >= 0; index--) {
    if (text[index] === "]") depth++;
    else if (text[index] === "[" && --depth === 0) return index;
  }
  return -1;
}

/** `text` with fenced code blocks and code spans blanked, same length. */
function withoutCode(text: string): string {
  let fence: string | undefined;
  const lines = text.split("\n").map((line) => {
    const marker = line.match(/^\s*(`{3,}|~{3,})/)?.[1];
    if (fence === undefined && marker !== undefined) {
      fence = marker;
      return blank(line);
    }
    if (fence !== undefined) {
      if (marker !== undefined && marker.startsWith(fence)) fence = undefined;
      return blank(line);
    }
    return line;
  });
  return lines.join("\n").replace(
    /(`+)(?!`)[\s\S]*?[^`]\1(?!`)/g,
    (span) => blank(span),
  );
}

function blank(text: string): string {
  return text.replace(/[^\n]/g, " ");
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/**
 * Whether `path` falls under one of deno.json's publish.exclude `patterns`.
 * Only plain paths are read ("dir/", "file"): a glob throws, so that the
 * check never passes by not understanding the configuration.
 */
export function isExcluded(path: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => {
    if (/[*?[\]{}!]/.test(pattern)) {
      throw new TypeError(
        `Cannot read publish.exclude as the link check reads no globs: current value is "${pattern}"`,
      );
    }
    const plain = pattern.replace(/^\.\//, "").replace(/\/$/, "");
    return path === plain || path.startsWith(`${plain}/`);
  });
}

/**
 * The repository at `root` as git tracks it, published as deno.json's
 * exclude and publish.exclude say.
 */
export async function gitRepository(root: string): Promise<Repository> {
  const { success, stdout, stderr } = await new Deno.Command("git", {
    args: ["ls-files", "-z"],
    cwd: root,
  }).output();
  const decoder = new TextDecoder();
  if (!success) {
    throw new Error(
      `git ls-files failed in ${root}:\n${decoder.decode(stderr)}`,
    );
  }
  const paths = new Set<string>();
  for (const file of decoder.decode(stdout).split("\0").filter(Boolean)) {
    // A folder counts as there when it holds a tracked file.
    const parts = file.split("/");
    for (let end = 1; end <= parts.length; end++) {
      paths.add(parts.slice(0, end).join("/"));
    }
  }
  const config = JSON.parse(await Deno.readTextFile(`${root}/deno.json`));
  if (config.publish?.include !== undefined) {
    throw new TypeError(
      "Cannot read what is published as the link check reads no publish.include: current value is " +
        JSON.stringify(config.publish.include),
    );
  }
  // The top-level exclude applies to the publish too.
  const exclude: string[] = [
    ...config.exclude ?? [],
    ...config.publish?.exclude ?? [],
  ];
  return {
    has: (path) => paths.has(path),
    isPublished: (path) => !isExcluded(path, exclude),
  };
}

/** The published Markdown files' problems, for the repository at `root`. */
export async function checkPublishedMarkdown(
  root: string,
): Promise<{ files: string[]; problems: LinkProblem[] }> {
  const repository = await gitRepository(root);
  const { stdout } = await new Deno.Command("git", {
    args: ["ls-files", "-z", "*.md"],
    cwd: root,
  }).output();
  const files = new TextDecoder().decode(stdout).split("\0")
    .filter((file) => file !== "" && repository.isPublished(file))
    .sort();
  const problems: LinkProblem[] = [];
  for (const file of files) {
    const text = await Deno.readTextFile(`${root}/${file}`);
    problems.push(...findLinkProblems(file, text, repository));
  }
  return { files, problems };
}

if (import.meta.main) {
  const root = new URL("..", import.meta.url).pathname;
  const { files, problems } = await checkPublishedMarkdown(root);
  for (const { file, line, link, problem } of problems) {
    console.error(`${file}:${line}: ${link}: ${problem}`);
  }
  if (problems.length > 0) Deno.exitCode = 1;
  else console.log(`Every link works on jsr.io and npm in ${files.join(" ")}`);
}
