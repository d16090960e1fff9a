// The chunks that left the engine and wait for the consumer's next(). The
// engine counts an input as emitted once its outputs leave it, but for an
// iterator an input is done only once its last output is handed out: until
// then snapshots must hold it, and so must a snapshot taken after the
// iteration stopped or failed and dropped the chunks. This buffer keeps, for
// each chunk, the element it came from, and answers for those inputs.
import type { EmittedElement } from "./_engine.ts";
import { RingBuffer } from "./_ring_buffer.ts";
import { recordEntry, watermarkEntry } from "./_state.ts";
import type { AsyncIOStateEntry } from "./async_io_state.ts";

export class ResultBuffer<T> {
  readonly #chunks = new RingBuffer<T>();
  /**
   * Each chunk's element, undefined for a barrier. One element's outputs
   * leave the engine together, so they sit next to each other here.
   */
  readonly #sources = new RingBuffer<EmittedElement | undefined>();
  #lastPushed: EmittedElement | undefined = undefined;
  #heldInputs = 0;
  #heldOutputs = 0;

  /** Chunks waiting for next(). */
  get size(): number {
    return this.#chunks.size;
  }

  /** Inputs with an output not handed out (watermarks aside). */
  get heldInputs(): number {
    return this.#heldInputs;
  }

  /** Outputs not handed out (watermarks and barriers aside). */
  get heldOutputs(): number {
    return this.#heldOutputs;
  }

  /** A chunk left the engine and went straight to a waiting next(). */
  passedOn(): void {
    this.#lastPushed = undefined;
  }

  push(chunk: T, from: EmittedElement | undefined): void {
    this.#chunks.push(chunk);
    this.#sources.push(from);
    if (from !== undefined && from.marker === undefined) {
      this.#heldOutputs++;
      if (from !== this.#lastPushed) this.#heldInputs++;
    }
    this.#lastPushed = from;
  }

  /** Hands out the oldest chunk; its input is done once nothing of it stays. */
  shift(): T | undefined {
    if (this.#chunks.size === 0) return undefined;
    const from = this.#sources.shift();
    if (from !== undefined && from.marker === undefined) {
      this.#heldOutputs--;
      if (this.#sources.at(0) !== from) this.#heldInputs--;
    }
    if (this.#sources.size === 0) this.#lastPushed = undefined;
    return this.#chunks.shift();
  }

  /**
   * The iteration stopped or failed: the chunks go, but their inputs stay
   * in snapshots, since no consumer saw them.
   */
  drop(): void {
    this.#chunks.clear();
    this.#lastPushed = undefined;
  }

  /** The entries of what is held, in the order it left the engine. */
  entries<I>(): AsyncIOStateEntry<I>[] {
    const entries: AsyncIOStateEntry<I>[] = [];
    let previous: EmittedElement | undefined;
    for (let i = 0; i < this.#sources.size; i++) {
      const from = this.#sources.at(i);
      if (from === undefined || from === previous) continue;
      previous = from;
      entries.push(
        from.marker === undefined
          ? recordEntry(from.input as I)
          : watermarkEntry(from.marker.timestamp),
      );
    }
    return entries;
  }
}
