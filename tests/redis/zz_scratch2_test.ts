// Scratch probe: RespClient through a proxy that splits the server's replies.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RespClient } from "../../demo/redis_resp.ts";
import { useRedis } from "./_redis.ts";

const redis = useRedis();

/** A proxy to the server that sends its replies in pieces cut at `cuts(offset)`. */
function splittingProxy(port: number, cutAfter: (offset: number) => boolean) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  (async () => {
    for await (const client of listener) {
      const server = await Deno.connect({ hostname: "127.0.0.1", port });
      client.setNoDelay(true);
      conns.push(client, server);
      client.readable.pipeTo(server.writable).catch(() => {});
      (async () => {
        let offset = 0;
        try {
          for await (const chunk of server.readable) {
            let from = 0;
            for (let i = 0; i < chunk.length; i++) {
              if (cutAfter(offset + i) || i === chunk.length - 1) {
                await client.write(chunk.subarray(from, i + 1));
                from = i + 1;
                await new Promise((r) => setTimeout(r, 1));
              }
            }
            offset += chunk.length;
          }
        } catch { /* closed */ }
      })();
    }
  })().catch(() => {});
  return {
    url: `redis://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    close() {
      listener.close();
      for (const c of conns) try { c.close(); } catch { /* */ }
    },
  };
}

const commands: string[][] = [
  ["DEL", "k", "l", "s"],
  ["SET", "k", "h\u00e9llo \u20ac \ud83d\ude00\r\n$3\r\n*1"],
  ["GET", "k"],
  ["GET", "missing"],
  ["INCR", "k"],
  ["RPUSH", "l", "a", "", "c"],
  ["LRANGE", "l", "0", "-1"],
  ["LRANGE", "nothing", "0", "-1"],
  ["XADD", "s", "1-1", "f", "v", "g", "\u00e9"],
  ["XADD", "s", "2-1", "f", "w"],
  ["XRANGE", "s", "-", "+"],
  ["BLPOP", "nothing", "0.01"],
  ["PING"],
  ["EVAL", "return {1, {2, {'x', false}}, redis.error_reply('E nested')}", "0"],
];

test("probe: RespClient reads replies cut at every byte", async () => {
  const direct = new RespClient(redis.server.url);
  const expected = await Promise.allSettled(commands.map((c) => direct.send(c)));
  const proxy = splittingProxy(redis.server.port, () => true);
  const client = new RespClient(proxy.url);
  try {
    const got = await Promise.allSettled(commands.map((c) => client.send(c)));
    assert.deepEqual(
      got.map((r) => r.status === "fulfilled" ? r.value : String(r.reason)).slice(1),
      expected.map((r) => r.status === "fulfilled" ? r.value : String(r.reason)).slice(1),
    );
    console.log(JSON.stringify(got.map((r) => r.status === "fulfilled" ? r.value : String(r.reason))));
  } finally {
    client.close();
    direct.close();
    proxy.close();
  }
});

test("probe: RespClient reads a 3 MB bulk string and a 20,000-entry XRANGE cut at random", async () => {
  const direct = new RespClient(redis.server.url);
  const big = "x".repeat(3_000_000) + "\u00e9";
  await direct.send(["SET", "big", big]);
  const adds = [];
  for (let i = 0; i < 20_000; i++) adds.push(direct.send(["XADD", "many", "*", "n", String(i)]));
  await Promise.all(adds);
  const proxy = splittingProxy(redis.server.port, () => Math.random() < 0.001);
  const client = new RespClient(proxy.url);
  try {
    const [value, entries] = await Promise.all([
      client.send(["GET", "big"]),
      client.send(["XRANGE", "many", "-", "+"]),
    ]);
    assert.equal(value, big);
    assert.equal((entries as unknown[]).length, 20_000);
    assert.deepEqual(entries, await direct.send(["XRANGE", "many", "-", "+"]));
  } finally {
    client.close();
    direct.close();
    proxy.close();
  }
});
