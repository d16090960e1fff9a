// A FIFO of fixed-size array chunks, as in the web streams polyfill:
// push and shift are O(1) and never copy, unlike Array.prototype.shift().
// A queue that empties keeps its chunk and rewinds, so one that swings
// between empty and a few items allocates nothing.

const CHUNK_SIZE = 1024;

interface Chunk<T> {
  items: (T | undefined)[];
  next: Chunk<T> | undefined;
}

const newChunk = <T>(): Chunk<T> => ({ items: [], next: undefined });

export class Fifo<T> {
  #front: Chunk<T> = newChunk();
  #back: Chunk<T> = this.#front;
  /** The front chunk's next item to shift. */
  #cursor = 0;
  /** The back chunk's next free slot. */
  #end = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(item: T): void {
    if (this.#end === CHUNK_SIZE) {
      this.#back = this.#back.next = newChunk();
      this.#end = 0;
    }
    this.#back.items[this.#end++] = item;
    this.#size++;
  }

  peek(): T | undefined {
    return this.#size === 0 ? undefined : this.#front.items[this.#cursor];
  }

  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const front = this.#front;
    const item = front.items[this.#cursor];
    front.items[this.#cursor] = undefined; // let it be collected
    this.#size--;
    if (this.#size === 0) {
      // Rewind into the back chunk (earlier chunks are dropped).
      this.#front = this.#back;
      this.#cursor = this.#end = 0;
    } else if (++this.#cursor === CHUNK_SIZE) {
      this.#front = front.next!;
      this.#cursor = 0;
    }
    return item;
  }

  clear(): void {
    this.#front = this.#back = newChunk();
    this.#cursor = this.#end = this.#size = 0;
  }
}
