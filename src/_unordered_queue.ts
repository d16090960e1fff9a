// Unordered emission with watermarks as barriers, after Flink's design: the
// records between two watermarks form a segment. Records of the first
// segment leave as soon as they complete; a later segment's completed
// records wait in its ready list, and so do the first segment's while the
// output wants no more. A segment's closing watermark leaves once all its
// records have, and then the next segment becomes the first.
import type { Element } from "./_element.ts";
import { ListQueue } from "./_queue.ts";

class Segment<I, O> {
  /** Records of this segment that have not completed yet. */
  unfinished = 0;
  /** Completed records not emitted yet, in completion order. */
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
      if (segment === this.#first) this.resume();
    }
  }

  completed(element: Element<I, O>): void {
    const segment = element.segment as Segment<I, O>;
    segment.unfinished--;
    // A first segment's record leaves at once if it may. If ready ones wait
    // there, the output wants no more (they would have left at its last
    // pull): it waits behind them for the next.
    if (segment !== this.#first || segment.readyHead !== undefined) {
      return this.#ready(segment, element);
    }
    if (!this.#leave(element)) return this.#ready(segment, element);
    if (segment.unfinished === 0 && segment.watermark !== undefined) {
      this.resume();
    }
  }

  /**
   * Emits the first segment's ready records, then its closing watermark
   * once all its records are out, and so on, while the output takes them.
   */
  resume(): void {
    let first = this.#first;
    for (;;) {
      let ready = first.readyHead;
      while (ready !== undefined) {
        const after = ready.nextReady;
        if (!this.#leave(ready)) {
          first.readyHead = ready;
          return;
        }
        ready = after;
      }
      first.readyHead = first.readyTail = undefined;
      const watermark = first.watermark;
      if (first.unfinished > 0 || watermark === undefined) return;
      if (!this.#leave(watermark)) return;
      const next = first.next ?? new Segment<I, O>();
      if (first === this.#last) this.#last = next;
      this.#first = first = next;
    }
  }

  /** Its segment's closing watermark waits for it; no other does. */
  beforeWatermark(element: Element<I, O>): boolean {
    return (element.segment as Segment<I, O>).watermark !== undefined;
  }

  #ready(segment: Segment<I, O>, element: Element<I, O>): void {
    if (segment.readyTail === undefined) segment.readyHead = element;
    else segment.readyTail.nextReady = element;
    segment.readyTail = element;
  }

  /** Emits an element; false if it stays, as Emit says. */
  #leave(element: Element<I, O>): boolean {
    if (!this.emit(element)) return false;
    this.list.remove(element);
    element.segment = element.nextReady = undefined;
    return true;
  }
}
