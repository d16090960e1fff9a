// A Lua script run with EVALSHA, loaded on first use, and run with EVAL
// after a server restart or SCRIPT FLUSH emptied the script cache (NOSCRIPT).
import { isRedisError } from "./_redis_options.ts";
import { type RedisSend, textOf } from "./_redis_reply.ts";

export class RedisScript {
  readonly #source: string;
  #sha: string | undefined;

  constructor(source: string) {
    this.#source = source;
  }

  async run(send: RedisSend, keys: string[], args: string[]): Promise<unknown> {
    const sha = this.#sha ?? await this.#load(send);
    try {
      return await send([
        "EVALSHA",
        sha,
        String(keys.length),
        ...keys,
        ...args,
      ]);
    } catch (error) {
      if (!isRedisError(error, "NOSCRIPT")) throw error;
      // EVAL carries the script, and caches it again under the same SHA: a
      // SCRIPT LOAD then EVALSHA would fail if a flush came in between.
      return await send([
        "EVAL",
        this.#source,
        String(keys.length),
        ...keys,
        ...args,
      ]);
    }
  }

  async #load(send: RedisSend): Promise<string> {
    this.#sha = textOf(await send(["SCRIPT", "LOAD", this.#source]));
    return this.#sha;
  }
}
