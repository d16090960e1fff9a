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
const INCOMPLETE = Symbol("incomplete");

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
    let buffer: Uint8Array = new Uint8Array(0);
    const chunk = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await conn.read(chunk);
        if (n === null) break;
        buffer = buffer.length === 0
          ? chunk.slice(0, n)
          : concat([buffer, chunk.subarray(0, n)]);
        let offset = 0;
        while (offset < buffer.length) {
          const parsed = parse(buffer, offset);
          if (parsed === INCOMPLETE) break;
          offset = parsed.offset;
          const waiter = this.#waiters[this.#head];
          if (waiter === undefined) continue;
          this.#waiters[this.#head++] = undefined as unknown as Waiter;
          if (this.#head > 1024 && this.#head * 2 > this.#waiters.length) {
            this.#waiters = this.#waiters.slice(this.#head);
            this.#head = 0;
          }
          if (parsed.error !== undefined) {
            waiter.reject(new RedisReplyError(parsed.error));
          } else waiter.resolve(parsed.value);
        }
        buffer = offset === buffer.length
          ? new Uint8Array(0)
          : buffer.slice(offset);
      }
    } catch {
      // A reset connection: fall through and fail what is in flight.
    }
    if (this.#conn === conn) {
      this.#conn = undefined;
      try {
        conn.close();
      } catch { /* already closed */ }
    }
    this.#fail(new Error("Redis connection closed"));
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

interface Parsed {
  value: Reply;
  error?: string;
  offset: number;
}

function lineEnd(buffer: Uint8Array, from: number): number {
  for (let i = from; i + 1 < buffer.length; i++) {
    if (buffer[i] === 13 && buffer[i + 1] === 10) return i;
  }
  return -1;
}

function parse(buffer: Uint8Array, offset: number): Parsed | typeof INCOMPLETE {
  const end = lineEnd(buffer, offset + 1);
  if (end < 0) return INCOMPLETE;
  const line = decoder.decode(buffer.subarray(offset + 1, end));
  const next = end + 2;
  switch (buffer[offset]) {
    case 43: // +
      return { value: line, offset: next };
    case 45: // -
      return { value: null, error: line, offset: next };
    case 58: // :
      return { value: Number(line), offset: next };
    case 36: { // $
      const length = Number(line);
      if (length < 0) return { value: null, offset: next };
      if (next + length + 2 > buffer.length) return INCOMPLETE;
      return {
        value: decoder.decode(buffer.subarray(next, next + length)),
        offset: next + length + 2,
      };
    }
    case 42: { // *
      const length = Number(line);
      if (length < 0) return { value: null, offset: next };
      const items: Reply[] = [];
      let at = next;
      for (let i = 0; i < length; i++) {
        const item = parse(buffer, at);
        if (item === INCOMPLETE) return INCOMPLETE;
        // An error inside an array (EXEC) is kept as its message.
        items.push(item.error ?? item.value);
        at = item.offset;
      }
      return { value: items, offset: at };
    }
    default:
      throw new Error(
        `Cannot parse a RESP reply starting with ${buffer[offset]}`,
      );
  }
}
