// A browser stand-in for `node:test`: `test()` (with .skip/.todo/.only) and
// the test context's subtests, signal, skip and after. `runRegisteredTests`
// runs the tests one at a time in registration order; the generated entry
// module calls it once every test file has loaded. A test file that imports
// something else from `node:test` fails the bundle, so the gap shows.

/** Options of `test()`, as in Node. */
export interface TestOptions {
  skip?: boolean | string;
  todo?: boolean | string;
  only?: boolean;
  timeout?: number;
}

type Body = (t: TestContext) => unknown;

/** How one test ended; `error` holds the failure or the skip reason. */
export interface TestResult {
  file: string;
  name: string;
  status: "pass" | "fail" | "skip";
  ms: number;
  error?: string;
}

/** The outcome of a whole run. */
export interface RunSummary {
  passed: number;
  failed: number;
  skipped: number;
  results: TestResult[];
}

interface Registered {
  file: string;
  name: string;
  options: TestOptions;
  fn: Body;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const registered: Registered[] = [];
let currentFile = "(unknown file)";
/** Errors reported by the page (unhandled rejections) while a test runs. */
const strayErrors: unknown[] = [];

/** What a test body receives. */
export class TestContext {
  readonly name: string;
  readonly signal: AbortSignal;
  readonly afters: (() => unknown)[] = [];
  skipReason: string | undefined;

  constructor(name: string, signal: AbortSignal) {
    this.name = name;
    this.signal = signal;
  }

  /** Runs a subtest now; the parent fails if it fails. */
  async test(
    nameOrOptionsOrFn?: string | TestOptions | Body,
    optionsOrFn?: TestOptions | Body,
    maybeFn?: Body,
  ): Promise<void> {
    const [name, options, fn] = normalise(
      nameOrOptionsOrFn,
      optionsOrFn,
      maybeFn,
    );
    if (options.skip || options.todo) return;
    const result = await runOne(`${this.name} > ${name}`, options, fn);
    if (result.status === "fail") {
      throw new Error(`Subtest "${name}" failed: ${result.error}`);
    }
  }

  /** Marks the test skipped; as in Node, the body still runs to its end. */
  skip(message = "skipped"): void {
    this.skipReason = message;
  }

  /** Marks the test as a to-do, which counts as skipped here. */
  todo(message = ""): void {
    this.skipReason = `TODO ${message}`;
  }

  /** Prints a diagnostic line. */
  diagnostic(message: string): void {
    console.log(`# ${this.name}: ${message}`);
  }

  /** Runs `fn` once the test has finished, pass or fail. */
  after(fn: () => unknown): void {
    this.afters.push(fn);
  }
}

/** Registers a test; `runRegisteredTests` runs it later. */
export function test(
  nameOrOptionsOrFn?: string | TestOptions | Body,
  optionsOrFn?: TestOptions | Body,
  maybeFn?: Body,
): Promise<void> {
  const [name, options, fn] = normalise(
    nameOrOptionsOrFn,
    optionsOrFn,
    maybeFn,
  );
  registered.push({ file: currentFile, name, options, fn });
  return Promise.resolve();
}

function withOption(extra: TestOptions) {
  return (name: string, optionsOrFn?: TestOptions | Body, maybeFn?: Body) => {
    const [, options, fn] = normalise(name, optionsOrFn, maybeFn);
    return test(name, { ...options, ...extra }, fn);
  };
}
test.skip = withOption({ skip: true });
test.todo = withOption({ todo: true });
test.only = withOption({ only: true });

function normalise(
  nameOrOptionsOrFn: string | TestOptions | Body | undefined,
  optionsOrFn: TestOptions | Body | undefined,
  maybeFn: Body | undefined,
): [string, TestOptions, Body] {
  const args = [nameOrOptionsOrFn, optionsOrFn, maybeFn];
  const name = typeof args[0] === "string"
    ? args.shift() as string
    : "<anonymous>";
  const options = typeof args[0] === "object" && args[0] !== null
    ? args.shift() as TestOptions
    : {};
  const fn = typeof args[0] === "function" ? args[0] as Body : () => {};
  return [name, options, fn];
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return `thrown: ${String(error)}`;
  const stack = error.stack ?? "";
  // Chromium's stack starts with the message; Firefox's has frames only.
  return stack.includes(error.message)
    ? stack
    : `${error.name}: ${error.message}\n${stack}`;
}

async function runOne(
  name: string,
  options: TestOptions,
  fn: Body,
): Promise<TestResult> {
  const start = performance.now();
  const controller = new AbortController();
  const context = new TestContext(name, controller.signal);
  const errors: unknown[] = [];
  const timeoutMs = options.timeout ?? DEFAULT_TIMEOUT_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Test timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([fn(context), timedOut]);
  } catch (error) {
    errors.push(error);
  } finally {
    clearTimeout(timer);
    controller.abort(new Error("The test has finished"));
  }
  for (const after of context.afters.reverse()) {
    try {
      await after();
    } catch (error) {
      errors.push(error);
    }
  }
  // Let this test's late rejections surface before it is reported.
  await new Promise((resolve) => setTimeout(resolve, 0));
  errors.push(...strayErrors.splice(0));
  const ms = Math.round(performance.now() - start);
  if (errors.length > 0) {
    const error = errors.map(describeError).join("\n---\n");
    return { file: "", name, status: "fail", ms, error };
  }
  if (context.skipReason !== undefined) {
    return { file: "", name, status: "skip", ms, error: context.skipReason };
  }
  return { file: "", name, status: "pass", ms };
}

/** Records the file that the following `test()` calls come from. */
export function setCurrentFile(file: string): void {
  currentFile = file;
}

/** Records a file that failed to load, as one failed test. */
export function fileFailed(file: string, error: unknown): void {
  const fn = () => {
    throw error;
  };
  registered.push({ file, name: "(loading the file)", options: {}, fn });
}

function skipReason(options: TestOptions, only: boolean): string | undefined {
  if (options.skip) {
    return typeof options.skip === "string" ? options.skip : "skipped";
  }
  if (options.todo) {
    return `TODO ${typeof options.todo === "string" ? options.todo : ""}`;
  }
  return only && !options.only ? "not marked only" : undefined;
}

/**
 * Runs every registered test in order, one at a time. `skip` maps
 * "file > test name" to the reason it does not run here.
 */
export async function runRegisteredTests(
  skip: Record<string, string>,
  report: (result: TestResult) => void,
): Promise<RunSummary> {
  // An unhandled rejection fails the test that is running, as in Deno.
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    strayErrors.push(event.reason);
  });
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    strayErrors.push(event.error ?? event.message);
  });
  const summary: RunSummary = { passed: 0, failed: 0, skipped: 0, results: [] };
  const only = registered.some((entry) => entry.options.only);
  for (const { file, name, options, fn } of registered) {
    const reason = skip[`${file} > ${name}`] ?? skipReason(options, only);
    const result: TestResult = reason === undefined
      ? { ...await runOne(name, options, fn), file }
      : { file, name, status: "skip", ms: 0, error: reason };
    summary.results.push(result);
    if (result.status === "pass") summary.passed++;
    else if (result.status === "fail") summary.failed++;
    else summary.skipped++;
    report(result);
  }
  if (strayErrors.length > 0) {
    const error = strayErrors.map(describeError).join("\n---\n");
    const result: TestResult = {
      file: "(page)",
      name: "errors after the last test",
      status: "fail",
      ms: 0,
      error,
    };
    summary.results.push(result);
    summary.failed++;
    report(result);
  }
  return summary;
}
