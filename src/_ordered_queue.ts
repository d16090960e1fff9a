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

  #drain(): void {
    const list = this.list;
    let head = list.head;
    while (head !== undefined && head.done && this.emit(head)) {
      list.remove(head);
      head = list.head;
    }
  }
}
