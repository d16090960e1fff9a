// A FIFO over one power-of-two array that doubles when full: push and shift
// touch one slot and allocate nothing in a steady state, which matters for
// a buffer that every result passes through.

export class RingBuffer<T> {
  #items: (T | undefined)[] = new Array(16);
  #mask = 15;
  #head = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(item: T): void {
    if (this.#size > this.#mask) this.#grow();
    this.#items[(this.#head + this.#size) & this.#mask] = item;
    this.#size++;
  }

  /** The oldest item; undefined when empty. */
  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const head = this.#head;
    const item = this.#items[head];
    this.#items[head] = undefined; // let it be collected
    this.#head = (head + 1) & this.#mask;
    this.#size--;
    return item;
  }

  /** The item `index` places after the oldest; undefined past the newest. */
  at(index: number): T | undefined {
    return index < this.#size
      ? this.#items[(this.#head + index) & this.#mask]
      : undefined;
  }

  clear(): void {
    this.#items = new Array(16);
    this.#mask = 15;
    this.#head = this.#size = 0;
  }

  #grow(): void {
    const items = this.#items;
    const grown = new Array<T | undefined>(items.length * 2);
    for (let i = 0; i < this.#size; i++) {
      grown[i] = items[(this.#head + i) & this.#mask];
    }
    this.#items = grown;
    this.#mask = grown.length - 1;
    this.#head = 0;
  }
}
