// The input side's single pending wait. Web streams run start, write and
// close one at a time, and so does mapAsync: the input side waits for one
// thing at a time, and whatever comes checks whether it is that.
import type { Waiter } from "./_output.ts";

/** Room below capacity. */
export const ROOM = 0;
/** The output's demand. */
export const PULL = 1;
/** An empty queue, at end of input. */
export const DRAIN = 2;
/** open()'s or onCheckpoint's promise. */
export const SETTLED = 3;
export type Awaited = 0 | 1 | 2 | 3;
/** Nothing is awaited. */
export const NOTHING = -1;

export class InputGate {
  #awaited: Awaited | typeof NOTHING = NOTHING;
  #waiter: Waiter | undefined = undefined;

  /** What the input side waits for now. */
  get awaited(): Awaited | typeof NOTHING {
    return this.#awaited;
  }

  /** Waits for `awaited` with a promise of its own. */
  wait(awaited: Awaited): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.listen(awaited, { resolve, reject });
    });
  }

  /** Waits for `awaited` with the caller's own waiter: nothing allocated. */
  listen(awaited: Awaited, waiter: Waiter): void {
    this.#awaited = awaited;
    this.#waiter = waiter;
  }

  /** What the input side waits for has come. */
  open(): void {
    const waiter = this.#waiter!;
    this.#waiter = undefined;
    this.#awaited = NOTHING;
    waiter.resolve();
  }

  /** The engine stopped: the wait, if any, fails with `reason`. */
  fail(reason: unknown): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    this.#awaited = NOTHING;
    waiter?.reject(reason);
  }
}
