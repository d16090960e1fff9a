// A browser stand-in for `node:test`: `test`, `describe`/`it`, hooks and
// subtests, run one at a time in registration order by `runRegisteredTests`,
// which the generated entry module calls once every test file has loaded.

/** Options of `test()`, as in Node. */
export interface TestOptions {
  skip?: boolean | string;
  todo?: boolean | string;
  only?: boolean;
  timeout?: number;
  concurrency?: number | boolean;
  signal?: AbortSignal;
}

type Body = (t: TestContext) => unknown;
type Hook = (t?: TestContext) => unknown;

interface Registered {
  file: string;
  name: string;
  options: TestOptions;
  fn: Body;
  hooks: Hooks;
}

interface Hooks {
  parent: Hooks | undefined;
  before: Hook[];
  after: Hook[];
  beforeEach: Hook[];
  afterEach: Hook[];
  beforeRan: boolean;
  remaining: number;
}

/** One line of the report; `status` is how the test ended. */
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

const DEFAULT_TIMEOUT_MS = 60_000;
const registered: Registered[] = [];
let currentFile = "(unknown file)";
let prefix: string[] = [];
let hooks: Hooks = newHooks(undefined);
let running: { errors: unknown[] } | undefined;
const strayErrors: unknown[] = [];

function newHooks(parent: Hooks | undefined): Hooks {
  return {
    parent,
    before: [],
    after: [],
    beforeEach: [],
    afterEach: [],
    beforeRan: false,
    remaining: 0,
  };
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const stack = error.stack ?? "";
    const head = `${error.name}: ${error.message}`;
    return stack.includes(error.message) ? stack : `${head}\n${stack}`;
  }
  try {
    return `thrown: ${JSON.stringify(error)}`;
  } catch {
    return `thrown: ${String(error)}`;
  }
}

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

/** What a test body receives: its name, signal, subtests and hooks. */
export class TestContext {
  readonly name: string;
  readonly signal: AbortSignal;
  readonly #afters: (() => unknown)[] = [];
  #skipped: string | undefined;

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
    const result = await runOne(
      `${this.name} > ${name}`,
      options,
      fn,
      newHooks(undefined),
    );
    if (result.status === "fail") {
      throw new Error(`Subtest "${name}" failed: ${result.error}`);
    }
  }

  /** Marks the test skipped; the body still runs to its end, as in Node. */
  skip(message = ""): void {
    this.#skipped = message;
  }

  /** Marks the test as a to-do, which counts as skipped here. */
  todo(message = ""): void {
    this.#skipped = `TODO ${message}`;
  }

  /** Prints a diagnostic line under the test. */
  diagnostic(message: string): void {
    console.log(`# ${this.name}: ${message}`);
  }

  /** Runs `fn` once the test has finished, pass or fail. */
  after(fn: () => unknown): void {
    this.#afters.push(fn);
  }

  /** @internal */
  get skipped(): string | undefined {
    return this.#skipped;
  }

  /** @internal */
  async runAfters(): Promise<void> {
    for (const fn of this.#afters.reverse()) await fn();
  }
}

/** Registers a test, or runs it as a subtest when called inside a test. */
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
  registered.push({
    file: currentFile,
    name: [...prefix, name].join(" > "),
    options,
    fn,
    hooks,
  });
  hooks.remaining++;
  return Promise.resolve();
}
test.skip = (name: string, optionsOrFn?: TestOptions | Body, maybeFn?: Body) =>
  withOption(name, optionsOrFn, maybeFn, { skip: true });
test.todo = (name: string, optionsOrFn?: TestOptions | Body, maybeFn?: Body) =>
  withOption(name, optionsOrFn, maybeFn, { todo: true });
test.only = (name: string, optionsOrFn?: TestOptions | Body, maybeFn?: Body) =>
  withOption(name, optionsOrFn, maybeFn, { only: true });

function withOption(
  name: string,
  optionsOrFn: TestOptions | Body | undefined,
  maybeFn: Body | undefined,
  extra: TestOptions,
): Promise<void> {
  const [, options, fn] = normalise(name, optionsOrFn, maybeFn);
  return test(name, { ...options, ...extra }, fn);
}

export const it: typeof test = test;

/** Groups tests under a name, with hooks scoped to the group. */
export function describe(
  name: string,
  optionsOrFn?: TestOptions | (() => unknown),
  maybeFn?: () => unknown,
): Promise<void> {
  const fn = typeof optionsOrFn === "function" ? optionsOrFn : maybeFn;
  const options = typeof optionsOrFn === "object" ? optionsOrFn : {};
  const outerHooks = hooks;
  prefix = [...prefix, name];
  hooks = newHooks(outerHooks);
  try {
    if (options.skip || options.todo) {
      const reason = typeof options.skip === "string"
        ? options.skip
        : "skipped suite";
      registered.push({
        file: currentFile,
        name: prefix.join(" > "),
        options: { skip: reason },
        fn: () => {},
        hooks,
      });
    } else {
      fn?.();
    }
  } finally {
    outerHooks.remaining += hooks.remaining;
    prefix = prefix.slice(0, -1);
    hooks = outerHooks;
  }
  return Promise.resolve();
}
describe.skip = (name: string, fn?: () => unknown) =>
  describe(name, { skip: true }, fn);
export const suite: typeof describe = describe;

export function before(fn: Hook): void {
  hooks.before.push(fn);
}
export function after(fn: Hook): void {
  hooks.after.push(fn);
}
export function beforeEach(fn: Hook): void {
  hooks.beforeEach.push(fn);
}
export function afterEach(fn: Hook): void {
  hooks.afterEach.push(fn);
}

function chain(scope: Hooks): Hooks[] {
  const scopes: Hooks[] = [];
  for (let s: Hooks | undefined = scope; s; s = s.parent) scopes.unshift(s);
  return scopes;
}

async function runOne(
  name: string,
  options: TestOptions,
  fn: Body,
  scope: Hooks,
): Promise<TestResult> {
  const start = performance.now();
  const controller = new AbortController();
  const context = new TestContext(name, controller.signal);
  const outer = running;
  const state = { errors: [] as unknown[] };
  running = state;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeoutMs = options.timeout ?? DEFAULT_TIMEOUT_MS;
  try {
    const scopes = chain(scope);
    for (const s of scopes) {
      if (!s.beforeRan) {
        s.beforeRan = true;
        for (const hook of s.before) await hook();
      }
    }
    for (const s of scopes) {
      for (const hook of s.beforeEach) await hook(context);
    }
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Test timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([fn(context), timedOut]);
    } finally {
      clearTimeout(timer);
      controller.abort(new Error("The test has finished"));
      await context.runAfters();
      for (const s of scopes.toReversed()) {
        for (const hook of s.afterEach) await hook(context);
      }
    }
  } catch (error) {
    state.errors.unshift(error);
  } finally {
    running = outer;
  }
  // Let late rejections of this test surface before it is reported.
  await new Promise((resolve) => setTimeout(resolve, 0));
  const ms = Math.round(performance.now() - start);
  if (state.errors.length > 0) {
    return {
      file: "",
      name,
      status: "fail",
      ms,
      error: state.errors.map(describeError).join("\n---\n"),
    };
  }
  if (context.skipped !== undefined) {
    return { file: "", name, status: "skip", ms, error: context.skipped };
  }
  return { file: "", name, status: "pass", ms };
}

function onStrayError(error: unknown): void {
  (running?.errors ?? strayErrors).push(error);
}

/** Records the file that the following `test()` calls come from. */
export function setCurrentFile(file: string): void {
  currentFile = file;
  prefix = [];
  hooks = newHooks(undefined);
}

/** Records a file that failed to load, as one failed test. */
export function fileFailed(file: string, error: unknown): void {
  registered.push({
    file,
    name: "(loading the file)",
    options: {},
    fn: () => {
      throw error;
    },
    hooks: newHooks(undefined),
  });
}

/**
 * Runs every registered test in order, one at a time; `skip` maps
 * "file > test name" to the reason it does not run here.
 */
export async function runRegisteredTests(
  skip: Record<string, string>,
  report: (result: TestResult) => void,
): Promise<RunSummary> {
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    onStrayError(event.reason);
  });
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    onStrayError(event.error ?? event.message);
  });
  const summary: RunSummary = { passed: 0, failed: 0, skipped: 0, results: [] };
  const record = (result: TestResult) => {
    summary.results.push(result);
    if (result.status === "pass") summary.passed++;
    else if (result.status === "fail") summary.failed++;
    else summary.skipped++;
    report(result);
  };
  const only = registered.some((entry) => entry.options.only);
  for (const entry of registered) {
    const key = `${entry.file} > ${entry.name}`;
    const reason = skip[key] ?? skipReason(entry.options) ??
      (only && !entry.options.only ? "not .only" : undefined);
    if (reason !== undefined) {
      record({
        file: entry.file,
        name: entry.name,
        status: "skip",
        ms: 0,
        error: reason,
      });
    } else {
      const result = await runOne(
        entry.name,
        entry.options,
        entry.fn,
        entry.hooks,
      );
      record({ ...result, file: entry.file });
    }
    await runAfterHooksOnceDone(
      entry.hooks,
      (error) =>
        record({
          file: entry.file,
          name: `${entry.name} (after hook)`,
          status: "fail",
          ms: 0,
          error: describeError(error),
        }),
    );
  }
  if (strayErrors.length > 0) {
    record({
      file: "(page)",
      name: "errors outside any test",
      status: "fail",
      ms: 0,
      error: strayErrors.map(describeError).join("\n---\n"),
    });
  }
  return summary;
}

function skipReason(options: TestOptions): string | undefined {
  if (options.skip) {
    return typeof options.skip === "string" ? options.skip : "skipped";
  }
  if (options.todo) {
    return typeof options.todo === "string" ? `TODO ${options.todo}` : "TODO";
  }
  return undefined;
}

async function runAfterHooksOnceDone(
  scope: Hooks,
  onError: (error: unknown) => void,
): Promise<void> {
  for (let s: Hooks | undefined = scope; s; s = s.parent) {
    s.remaining--;
    if (s.remaining > 0) return;
    if (!s.beforeRan) continue;
    for (const hook of s.after) {
      try {
        await hook();
      } catch (error) {
        onError(error);
      }
    }
  }
}
