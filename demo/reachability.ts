// Fails fast on a lookup service the demo cannot use: a host outside the
// run's --allow-net, a service that does not accept connections, or one that
// stops answering mid-run. Without this an unreachable --url was retried for
// minutes and still printed a speedup.
import { FlagError } from "./flags.ts";

/** How long the service may go without answering before the run fails. */
export const OUTAGE_MS = 3_000;

/** How long the first connection to the service may take. */
const CONNECT_TIMEOUT_MS = 5_000;

/** The lookup service cannot be reached; the demo exits with code 1. */
export class ServiceUnreachableError extends Error {
  override name = "ServiceUnreachableError";
}

/** The host and port of an http(s) URL, as `--allow-net` names them. */
export function netTarget(url: string): { hostname: string; port: number } {
  const { hostname, port, protocol } = new URL(url);
  return {
    hostname: hostname.replace(/^\[(.*)\]$/, "$1"), // an IPv6 literal
    port: port === "" ? (protocol === "https:" ? 443 : 80) : Number(port),
  };
}

function hostPort(url: string): string {
  const { hostname, port } = netTarget(url);
  return hostname.includes(":")
    ? `[${hostname}]:${port}`
    : `${hostname}:${port}`;
}

/**
 * Checks that this run may connect to `url`'s host.
 *
 * @throws {FlagError} Naming the permission and the command that grants it.
 */
export function checkNetPermission(url: string): void {
  const host = hostPort(url);
  const { state } = Deno.permissions.querySync({ name: "net", host });
  if (state === "granted") return;
  throw new FlagError(
    `Cannot run the demo as --url needs network access to ${host}, which ` +
      `this run does not have (deno task demo grants only ` +
      `--allow-net=127.0.0.1): current value is ${JSON.stringify(url)}\n` +
      `For another host, run: deno run --allow-net=${host} --allow-read ` +
      `--allow-write demo/main.ts --url ${url}`,
  );
}

/**
 * Opens and closes one TCP connection to `url`'s host, so that a service that
 * is down fails the demo at once rather than after every retry.
 *
 * @throws {ServiceUnreachableError} If the connection fails or takes too long.
 */
export async function probeService(url: string): Promise<void> {
  const { hostname, port } = netTarget(url);
  try {
    const connection = await Deno.connect({
      hostname,
      port,
      signal: AbortSignal.timeout(CONNECT_TIMEOUT_MS),
    });
    connection.close();
  } catch (error) {
    const reason =
      error instanceof DOMException && error.name === "TimeoutError"
        ? `no connection within ${CONNECT_TIMEOUT_MS / 1000} s`
        : error instanceof Error
        ? error.message
        : String(error);
    throw new ServiceUnreachableError(
      `Cannot reach the lookup service at ${url}: ${reason}`,
      { cause: error },
    );
  }
}

/**
 * Tracks when the service last answered. A network error, or a call of an
 * external service that timed out, after `OUTAGE_MS` without any answer ends
 * the run instead of being retried or written as a timeout.
 */
export class ServiceHealth {
  #lastAnswer = performance.now();

  constructor(readonly url: string, readonly outageMs: number = OUTAGE_MS) {}

  /** Records an HTTP answer, whatever its status. */
  answered(): void {
    this.#lastAnswer = performance.now();
  }

  /**
   * The error to throw for a network error: `error` itself while it may be
   * retried, a {@linkcode ServiceUnreachableError} once the outage is too long.
   */
  networkError(error: unknown): unknown {
    return this.outage(error instanceof Error ? error.message : error) ?? error;
  }

  /**
   * A {@linkcode ServiceUnreachableError} once the service has not answered
   * for `outageMs`, naming `lastError`; undefined before.
   */
  outage(lastError: unknown): ServiceUnreachableError | undefined {
    if (performance.now() - this.#lastAnswer < this.outageMs) return undefined;
    return new ServiceUnreachableError(
      `Lost the lookup service at ${this.url}: no answer for ${
        this.outageMs / 1000
      } s; last error: ${lastError}`,
      { cause: lastError },
    );
  }
}
