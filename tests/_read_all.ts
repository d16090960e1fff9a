/** Reads a stream to the end (`Array.fromAsync` is missing on Node 20). */
export async function readAll<T>(readable: ReadableStream<T>): Promise<T[]> {
  const chunks: T[] = [];
  for await (const chunk of readable) chunks.push(chunk);
  return chunks;
}
