// A small RESP2 client over Deno.connect, for the Redis demo, its worker
// processes, the benchmark and the tests: commands are pipelined (written
// together per tick, answered in order), and a lost connection rejects the
// commands in flight and is re-opened by the next command.

/** An error reply from the server, such as `WRONGTYPE ...`. */
export class RedisReplyError extends Error {
  override name = "RedisReplyError";
}

type Reply = string | number | null | Reply[];

interface Waiter {
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A connection to one Redis server at `redis://host:port`. */
export class RespClient {
  readonly #hostname: string;
  readonly #port: number;
  #conn: Deno.TcpConn | undefined;
  #connecting: Promise<Deno.TcpConn> | undefined;
  #waiters: Waiter[] = [];
  #head = 0;
  #outgoing: Uint8Array[] = [];
  #flushing = false;
  #closed = false;

  constructor(url: string) {
    const parsed = new URL(url);
    this.#hostname = parsed.hostname;
    this.#port = Number(parsed.port || 6379);
  }

  /** Sends one command; resolves with the reply, rejects on an error reply. */
  send = (args: string[]): Promise<Reply> => {
    if (this.#closed) return Promise.reject(new Error("RespClient closed"));
    return new Promise<Reply>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      this.#outgoing.push(encode(args));
      if (!this.#flushing) {
        this.#flushing = true;
        queueMicrotask(() => this.#flush());
      }
    });
  };

  async #flush(): Promise<void> {
    try {
      const conn = await this.#connect();
      while (this.#outgoing.length > 0) {
        const chunks = this.#outgoing;
        this.#outgoing = [];
        await writeAll(conn, concat(chunks));
      }
    } catch (error) {
      this.#fail(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.#flushing = false;
    }
  }

  #connect(): Promise<Deno.TcpConn> {
    if (this.#conn !== undefined) return Promise.resolve(this.#conn);
    this.#connecting ??= Deno.connect({
      hostname: this.#hostname,
      port: this.#port,
    }).then((conn) => {
      if (this.#closed) {
        // Closed while connecting: an open connection would keep the
        // process alive.
        conn.close();
        this.#connecting = undefined;
        throw new Error("RespClient closed");
      }
      conn.setNoDelay(true);
      this.#conn = conn;
      this.#connecting = undefined;
      this.#read(conn);
      return conn;
    }, (error) => {
      this.#connecting = undefined;
      throw error;
    });
    return this.#connecting;
  }

  async #read(conn: Deno.TcpConn): Promise<void> {
    const replies = new ReplyReader();
    const chunk = new Uint8Array(64 * 1024);
    let reason = "";
    try {
      while (true) {
        const n = await conn.read(chunk);
        if (n === null) break;
        replies.push(chunk.subarray(0, n), (value, error) => {
          const waiter = this.#waiters[this.#head];
          if (waiter === undefined) return;
          this.#waiters[this.#head++] = undefined as unknown as Waiter;
          if (this.#head > 1024 && this.#head * 2 > this.#waiters.length) {
            this.#waiters = this.#waiters.slice(this.#head);
            this.#head = 0;
          }
          if (error !== undefined) waiter.reject(new RedisReplyError(error));
          else waiter.resolve(value);
        });
      }
    } catch (error) {
      // A reset connection, or a reply that is not RESP2: fail what is in
      // flight, saying why.
      reason = `: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (this.#conn === conn) {
      this.#conn = undefined;
      try {
        conn.close();
      } catch { /* already closed */ }
    }
    this.#fail(new Error(`Redis connection closed${reason}`));
  }

  #fail(error: Error): void {
    const waiters = this.#waiters.slice(this.#head);
    this.#waiters = [];
    this.#head = 0;
    this.#outgoing = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  /** Closes the connection; commands in flight reject. */
  close(): void {
    this.#closed = true;
    const conn = this.#conn;
    this.#conn = undefined;
    try {
      conn?.close();
    } catch { /* already closed */ }
    this.#fail(new Error("RespClient closed"));
  }
}

function encode(args: string[]): Uint8Array {
  let text = `*${args.length}\r\n`;
  for (const arg of args) {
    text += `$${encoder.encode(arg).length}\r\n${arg}\r\n`;
  }
  return encoder.encode(text);
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array) {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

/** One token of a reply: a scalar, or the header of an array. */
type Token =
  | { kind: "value"; value: Reply; error?: string; offset: number }
  | { kind: "array"; length: number; offset: number }
  | { kind: "incomplete"; needed: number };

/**
 * Parses replies as their bytes arrive, in time linear in their size: a
 * token is parsed once, arrays are built on a stack, and the bytes of an
 * unfinished token wait, unparsed, until there are as many as it needs (a
 * large bulk string is copied once, not once per packet).
 */
class ReplyReader {
  #chunks: Uint8Array[] = [];
  #bytes = 0;
  #needed = 1;
  #stack: { items: Reply[]; remaining: number }[] = [];

  /** Takes the next bytes (copied); calls `onReply` per complete reply. */
  push(
    bytes: Uint8Array,
    onReply: (value: Reply, error: string | undefined) => void,
  ): void {
    this.#chunks.push(bytes.slice());
    this.#bytes += bytes.length;
    if (this.#bytes < this.#needed) return;
    const buffer = concat(this.#chunks);
    let offset = 0;
    while (offset < buffer.length) {
      const token = parseToken(buffer, offset);
      if (token.kind === "incomplete") {
        this.#needed = token.needed;
        break;
      }
      offset = token.offset;
      if (token.kind === "array") {
        this.#stack.push({ items: [], remaining: token.length });
        continue;
      }
      // An error inside an array (EXEC) is kept as its message.
      let value: Reply = token.error ?? token.value;
      let error = token.error;
      let frame = this.#stack.at(-1);
      while (frame !== undefined) {
        frame.items.push(value);
        if (--frame.remaining > 0) break;
        this.#stack.pop();
        value = frame.items;
        error = undefined;
        frame = this.#stack.at(-1);
      }
      if (frame === undefined) {
        onReply(error === undefined ? value : null, error);
      }
    }
    const rest = buffer.length - offset;
    this.#chunks = rest === 0 ? [] : [buffer.subarray(offset)];
    this.#bytes = rest;
    if (rest === 0) this.#needed = 1;
  }
}

function lineEnd(buffer: Uint8Array, from: number): number {
  for (let i = from; i + 1 < buffer.length; i++) {
    if (buffer[i] === 13 && buffer[i + 1] === 10) return i;
  }
  return -1;
}

function parseToken(buffer: Uint8Array, offset: number): Token {
  const end = lineEnd(buffer, offset + 1);
  if (end < 0) {
    return { kind: "incomplete", needed: buffer.length - offset + 1 };
  }
  const line = decoder.decode(buffer.subarray(offset + 1, end));
  const next = end + 2;
  switch (buffer[offset]) {
    case 43: // +
      return { kind: "value", value: line, offset: next };
    case 45: // -
      return { kind: "value", value: null, error: line, offset: next };
    case 58: // :
      return { kind: "value", value: Number(line), offset: next };
    case 36: { // $
      const length = Number(line);
      if (length < 0) return { kind: "value", value: null, offset: next };
      const after = next + length + 2;
      if (after > buffer.length) {
        return { kind: "incomplete", needed: after - offset };
      }
      return {
        kind: "value",
        value: decoder.decode(buffer.subarray(next, next + length)),
        offset: after,
      };
    }
    case 42: { // *
      const length = Number(line);
      if (length < 0) return { kind: "value", value: null, offset: next };
      if (length === 0) return { kind: "value", value: [], offset: next };
      return { kind: "array", length, offset: next };
    }
    default:
      throw new Error(
        `Cannot parse a RESP2 reply starting with ${
          JSON.stringify(String.fromCharCode(buffer[offset]!))
        }`,
      );
  }
}
