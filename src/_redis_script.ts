// A Lua script run with EVALSHA, loaded on first use and again after a
// server restart emptied the script cache (NOSCRIPT).
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
      const reloaded = await this.#load(send);
      return await send([
        "EVALSHA",
        reloaded,
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
