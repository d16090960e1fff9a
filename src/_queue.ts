// The queue of accepted, not yet emitted elements, after Flink's
// StreamElementQueue. Both implementations keep every element in one
// intrusive list in input order, which is what snapshots walk.
import type { Element } from "./_element.ts";

export interface EmissionQueue<I, O> {
  /** Accepted, not yet emitted elements, watermarks included. */
  readonly size: number;
  /** The oldest element, for walking the queue in input order with `next`. */
  readonly head: Element<I, O> | undefined;
  /** Adds an accepted element (a watermark arrives already DONE). */
  push(element: Element<I, O>): void;
  /** A record became DONE: emit whatever that makes ready. */
  completed(element: Element<I, O>): void;
  /** The output wants more: emit what is ready and waited for it. */
  resume(): void;
  /** Whether a watermark accepted after `element` waits for it. */
  beforeWatermark(element: Element<I, O>): boolean;
}

/**
 * Called for each element as it leaves a queue, in emission order. It
 * returns false when the element could not be emitted (the output wants no
 * more, or the stream has ended): the element then stays queued, so
 * snapshots still hold it, and it leaves at a later `resume()`.
 */
export type Emit<I, O> = (element: Element<I, O>) => boolean;

/** What both queues share: the input-order list and the emit callback. */
export abstract class ListQueue<I, O> implements EmissionQueue<I, O> {
  protected readonly list: ElementList<I, O> = new ElementList();
  protected readonly emit: Emit<I, O>;

  constructor(emit: Emit<I, O>) {
    this.emit = emit;
  }

  get size(): number {
    return this.list.size;
  }

  get head(): Element<I, O> | undefined {
    return this.list.head;
  }

  abstract push(element: Element<I, O>): void;
  abstract completed(element: Element<I, O>): void;
  abstract resume(): void;
  abstract beforeWatermark(element: Element<I, O>): boolean;
}

/** An intrusive doubly linked list of elements in input order. */
export class ElementList<I, O> {
  head: Element<I, O> | undefined = undefined;
  tail: Element<I, O> | undefined = undefined;
  size = 0;

  append(element: Element<I, O>): void {
    element.prev = this.tail;
    element.next = undefined;
    if (this.tail === undefined) this.head = element;
    else this.tail.next = element;
    this.tail = element;
    this.size++;
  }

  remove(element: Element<I, O>): void {
    const { prev, next } = element;
    if (prev === undefined) this.head = next;
    else prev.next = next;
    if (next === undefined) this.tail = prev;
    else next.prev = prev;
    element.prev = element.next = undefined;
    this.size--;
  }
}
