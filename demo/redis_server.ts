// A throwaway redis-server on 127.0.0.1 and a free port, for the Redis demo,
// the benchmark and the tests: its data lives in a temporary directory that
// is removed on stop.
import { RespClient } from "./redis_resp.ts";

/** How to start the server. */
export interface RedisServerOptions {
  /**
   * Keep an append-only file, fsynced on every write, so that a killed and
   * restarted server loses nothing it acknowledged.
   */
  appendonly?: boolean;
}

/** A running server. */
export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** The server's process id, while it runs. */
  readonly pid: number | undefined;
  /** Kills the server with SIGKILL (data only survives with appendonly). */
  kill(): Promise<void>;
  /** Starts it again on the same port and directory. */
  restart(): Promise<void>;
  /** Stops it and removes its directory. */
  stop(): Promise<void>;
}

/** Thrown when redis-server is not installed. */
export class RedisMissingError extends Error {
  override name = "RedisMissingError";
}

const INSTALL_HINT =
  "redis-server was not found on PATH. Install it, for example with " +
  "`sudo apt-get install -y redis-server` (Debian, Ubuntu) or " +
  "`brew install redis` (macOS), or pass --redis-url to use a running server";

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** Starts redis-server; throws RedisMissingError with an install hint. */
export async function startRedisServer(
  options: RedisServerOptions = {},
): Promise<RedisServer> {
  const dir = await Deno.makeTempDir({ prefix: "async-io-redis-" });
  const port = freePort();
  const url = `redis://127.0.0.1:${port}`;
  const args = [
    "--bind",
    "127.0.0.1",
    "--port",
    String(port),
    "--dir",
    dir,
    "--save",
    "",
    "--daemonize",
    "no",
    "--loglevel",
    "warning",
    ...(options.appendonly
      ? ["--appendonly", "yes", "--appendfsync", "always"]
      : ["--appendonly", "no"]),
  ];
  let child: Deno.ChildProcess | undefined;

  async function spawn(): Promise<void> {
    try {
      child = new Deno.Command("redis-server", {
        args,
        stdout: "null",
        stderr: "piped",
      }).spawn();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
        throw new RedisMissingError(INSTALL_HINT);
      }
      throw error;
    }
    await waitForPing(url, child);
  }

  async function kill(): Promise<void> {
    if (child === undefined) return;
    const dying = child;
    child = undefined;
    try {
      dying.kill("SIGKILL");
    } catch { /* already gone */ }
    await dying.status;
    await dying.stderr.cancel().catch(() => {});
  }

  await spawn();
  return {
    url,
    port,
    get pid() {
      return child?.pid;
    },
    kill,
    restart: spawn,
    async stop() {
      await kill();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

async function waitForPing(url: string, child: Deno.ChildProcess) {
  let exited = false;
  child.status.then(() => exited = true);
  for (let i = 0; i < 200; i++) {
    if (exited) {
      const text = await new Response(child.stderr).text();
      throw new Error(`redis-server exited at start: ${text}`);
    }
    const client = new RespClient(url);
    try {
      if (await client.send(["PING"]) === "PONG") return;
    } catch {
      // Not listening yet.
    } finally {
      client.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`redis-server at ${url} did not answer PING in 10 s`);
}
