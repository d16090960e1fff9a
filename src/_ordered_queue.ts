// Ordered emission: FIFO, and only the head leaves, once it is DONE.
import type { Element } from "./_element.ts";
import { ListQueue } from "./_queue.ts";

export class OrderedQueue<I, O> extends ListQueue<I, O> {
  push(element: Element<I, O>): void {
    this.list.append(element);
    if (element.done && this.list.head === element) this.#drain();
  }

  completed(element: Element<I, O>): void {
    if (this.list.head === element) this.#drain();
  }

  resume(): void {
    this.#drain();
  }

  /**
   * A watermark waits for every element ahead of it. A walk, but in this
   * order only new inputs join a batch, and the batcher does not ask for
   * them (key-ordered mode, which asks, has an unordered queue).
   */
  beforeWatermark(element: Element<I, O>): boolean {
    for (let e = element.next; e !== undefined; e = e.next) {
      if (e.marker !== undefined) return true;
    }
    return false;
  }

  #drain(): void {
    const list = this.list;
    let head = list.head;
    while (head !== undefined && head.done && this.emit(head)) {
      list.remove(head);
      head = list.head;
    }
  }
}
