// Plain NDJSON output to stdout or a file, written in batches.
import type { EnrichedEvent } from "./events.ts";

const encoder = new TextEncoder();
const BATCH_BYTES = 64 * 1024;

/** Somewhere bytes can be written, such as `Deno.stdout` or a `Deno.FsFile`. */
export interface ByteWriter {
  write(bytes: Uint8Array): Promise<number>;
}

/** Writes all of `bytes`; a writer may take only part of them per call. */
export async function writeAll(
  writer: ByteWriter,
  bytes: Uint8Array,
): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await writer.write(bytes.subarray(written));
  }
}

/** A sink that writes one JSON line per output; `lines` counts them. */
export function ndjsonSink(
  writer: ByteWriter,
): WritableStream<EnrichedEvent> & { readonly lines: number } {
  let batch = "";
  let lines = 0;
  const flush = async () => {
    if (batch === "") return;
    const bytes = encoder.encode(batch);
    batch = "";
    await writeAll(writer, bytes);
  };
  const sink = new WritableStream<EnrichedEvent>({
    async write(output) {
      batch += JSON.stringify(output) + "\n";
      lines++;
      if (batch.length >= BATCH_BYTES) await flush();
    },
    close: flush,
  });
  return Object.defineProperty(sink, "lines", { get: () => lines }) as
    & WritableStream<EnrichedEvent>
    & { readonly lines: number };
}
