// Unordered emission with watermarks as barriers, after Flink's design: the
// records between two watermarks form a segment. Records of the first
// segment leave as soon as they complete; a later segment's completed
// records wait in its ready list. A segment's closing watermark leaves once
// all its records have, and then the next segment becomes the first.
import type { Element } from "./_element.ts";
import { ListQueue } from "./_queue.ts";

class Segment<I, O> {
  /** Records of this segment that have not completed yet. */
  unfinished = 0;
  readyHead: Element<I, O> | undefined = undefined;
  readyTail: Element<I, O> | undefined = undefined;
  /** The watermark that closes this segment; later records go to the next. */
  watermark: Element<I, O> | undefined = undefined;
  next: Segment<I, O> | undefined = undefined;
}

export class UnorderedQueue<I, O> extends ListQueue<I, O> {
  #first: Segment<I, O> = new Segment();
  #last: Segment<I, O> = this.#first;

  push(element: Element<I, O>): void {
    this.list.append(element);
    let segment = this.#last;
    if (segment.watermark !== undefined) {
      segment = this.#last = segment.next = new Segment();
    }
    element.segment = segment;
    if (element.marker === undefined) {
      segment.unfinished++;
    } else {
      segment.watermark = element;
      if (segment === this.#first) this.#advance();
    }
  }

  completed(element: Element<I, O>): void {
    const segment = element.segment as Segment<I, O>;
    segment.unfinished--;
    if (segment === this.#first) {
      this.#leave(element);
      this.#advance();
    } else {
      if (segment.readyTail === undefined) segment.readyHead = element;
      else segment.readyTail.nextReady = element;
      segment.readyTail = element;
    }
  }

  #leave(element: Element<I, O>): void {
    if (!this.emit(element)) return;
    this.list.remove(element);
    element.segment = element.nextReady = undefined;
  }

  /** Emits closing watermarks, and the ready records behind them, while it can. */
  #advance(): void {
    let first = this.#first;
    while (first.unfinished === 0 && first.watermark !== undefined) {
      this.#leave(first.watermark);
      const next = first.next ?? new Segment<I, O>();
      if (first === this.#last) this.#last = next;
      this.#first = first = next;
      let ready = first.readyHead;
      first.readyHead = first.readyTail = undefined;
      while (ready !== undefined) {
        const after = ready.nextReady;
        this.#leave(ready);
        ready = after;
      }
    }
  }
}
