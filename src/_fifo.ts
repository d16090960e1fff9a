// A FIFO of fixed-size array chunks, as in the web streams polyfill:
// push and shift are O(1) and never copy, unlike Array.prototype.shift().

const CHUNK_SIZE = 1024;

interface Chunk<T> {
  items: (T | undefined)[];
  next: Chunk<T> | undefined;
}

export class Fifo<T> {
  #front: Chunk<T> = { items: [], next: undefined };
  #back: Chunk<T> = this.#front;
  #cursor = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(item: T): void {
    let back = this.#back;
    if (back.items.length === CHUNK_SIZE) {
      back = this.#back = back.next = { items: [], next: undefined };
    }
    back.items.push(item);
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
    if (++this.#cursor === CHUNK_SIZE) {
      this.#front = front.next ?? { items: [], next: undefined };
      if (front === this.#back) this.#back = this.#front;
      this.#cursor = 0;
    } else if (this.#size === 0 && front === this.#back) {
      front.items.length = 0;
      this.#cursor = 0;
    }
    return item;
  }

  clear(): void {
    this.#front = this.#back = { items: [], next: undefined };
    this.#cursor = this.#size = 0;
  }
}
