// The chunks that left the engine and wait for the consumer's next(). The
// engine counts an input as emitted once its outputs leave it, but for an
// iterator an input is done only once its last output is handed out: until
// then snapshots must hold it, and so must a snapshot taken after the
// iteration stopped or failed and dropped the chunks. So next to each chunk
// this buffer keeps the element it came from, and answers for those inputs.
//
// One ring holds both, as RingBuffer does for one: every result passes
// through here, so push and shift touch one slot of each array and count
// nothing. The counts are taken when asked for, by walking what is held.
import { type EmittedElement, unreadCounts, unreadEntries } from "./_output.ts";
import type { AsyncIOStateEntry } from "./async_io_state.ts";

const INITIAL_SIZE = 16;

export class ResultBuffer<T> {
  #chunks: (T | undefined)[] = new Array(INITIAL_SIZE);
  /**
   * Each chunk's element, undefined for a barrier. One element's outputs
   * leave the engine together, so they sit next to each other here.
   */
  #sources: (EmittedElement | undefined)[] = new Array(INITIAL_SIZE);
  #mask = INITIAL_SIZE - 1;
  #head = 0;
  /** Chunks held, counted from the head. */
  #size = 0;
  /** Held elements, counted from the head: more than #size once dropped. */
  #sourcesSize = 0;

  /** Chunks waiting for next(). */
  get size(): number {
    return this.#size;
  }

  push(chunk: T, from: EmittedElement | undefined): void {
    if (this.#size > this.#mask) this.#grow();
    const slot = (this.#head + this.#size) & this.#mask;
    this.#chunks[slot] = chunk;
    this.#sources[slot] = from;
    this.#sourcesSize = ++this.#size;
  }

  /** Hands out the oldest chunk; undefined when none waits. */
  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const head = this.#head;
    const chunk = this.#chunks[head];
    this.#chunks[head] = this.#sources[head] = undefined; // let them be collected
    this.#head = (head + 1) & this.#mask;
    this.#sourcesSize = --this.#size;
    return chunk;
  }

  /**
   * The iteration stopped or failed: the chunks go, but their inputs stay
   * in snapshots, since no consumer saw them.
   */
  drop(): void {
    for (let i = 0; i < this.#size; i++) {
      this.#chunks[(this.#head + i) & this.#mask] = undefined;
    }
    this.#size = 0;
  }

  /** Inputs with an output not handed out, and those outputs (markers aside). */
  held(): { inputs: number; outputs: number } {
    return unreadCounts(this.#sourcesSize, this.#sourceAt);
  }

  /** The entries of what is held, in the order it left the engine. */
  entries<I>(): AsyncIOStateEntry<I>[] {
    return unreadEntries<I>(this.#sourcesSize, this.#sourceAt);
  }

  readonly #sourceAt = (i: number): EmittedElement | undefined =>
    this.#sources[(this.#head + i) & this.#mask];

  #grow(): void {
    const length = this.#chunks.length * 2;
    const chunks = new Array<T | undefined>(length);
    const sources = new Array<EmittedElement | undefined>(length);
    for (let i = 0; i < this.#size; i++) {
      const slot = (this.#head + i) & this.#mask;
      chunks[i] = this.#chunks[slot];
      sources[i] = this.#sources[slot];
    }
    this.#chunks = chunks;
    this.#sources = sources;
    this.#mask = length - 1;
    this.#head = 0;
  }
}
