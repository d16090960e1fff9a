// A sliding-window limit on call starts: no more than `limit` starts in any
// window of `interval` ms. The start times of the last `limit` starts sit in
// a ring; a new start is allowed once the oldest of them left the window.
import { Fifo } from "./_fifo.ts";

const now = () => performance.now();

export class RateLimiter<T> {
  readonly #interval: number;
  readonly #starts: Float64Array;
  #next = 0; // the ring slot of the oldest of the last `limit` starts
  readonly #waiting = new Fifo<T>();
  readonly #stillWaiting: (item: T) => boolean;
  readonly #start: (item: T) => void;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;

  /**
   * @param stillWaiting Whether a queued item still wants to start; one that
   * no longer does (it timed out or was cancelled) is dropped without using
   * a start.
   * @param start Called, in request order, for each waiting item whose turn
   * has come.
   */
  constructor(
    limit: number,
    interval: number,
    stillWaiting: (item: T) => boolean,
    start: (item: T) => void,
  ) {
    this.#interval = interval;
    this.#starts = new Float64Array(limit).fill(-Infinity);
    this.#stillWaiting = stillWaiting;
    this.#start = start;
  }

  /** Takes a start now if the window allows it and nobody waits before us. */
  tryAcquire(): boolean {
    return this.#waiting.size === 0 && this.#take(now());
  }

  /** Queues an item that could not start; `admit` is called when it may. */
  wait(item: T): void {
    this.#waiting.push(item);
    if (this.#timer === undefined) this.#arm(now());
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#waiting.clear();
  }

  #take(time: number): boolean {
    if (time - this.#starts[this.#next]! < this.#interval) return false;
    this.#starts[this.#next] = time;
    this.#next = (this.#next + 1) % this.#starts.length;
    return true;
  }

  #arm(time: number): void {
    const wait = this.#starts[this.#next]! + this.#interval - time;
    this.#timer = setTimeout(this.#release, Math.max(1, Math.ceil(wait)));
  }

  #release = (): void => {
    this.#timer = undefined;
    while (this.#waiting.size > 0) {
      const item = this.#waiting.peek()!;
      if (this.#stillWaiting(item)) {
        if (!this.#take(now())) break;
        this.#waiting.shift();
        this.#start(item);
      } else {
        this.#waiting.shift();
      }
    }
    if (this.#waiting.size > 0 && this.#timer === undefined) this.#arm(now());
  };
}
