// At most `limit` starts in any window of `interval` ms, in O(1) memory.
//
// An exact sliding window must remember the last `limit` start times, which
// costs 8 bytes per unit of limit. Here starts are counted in at most BUCKETS
// buckets of `size` starts each, and a bucket leaves the window only when its
// *latest* start does. That can only delay a start, never allow one early, so
// the guarantee holds. Up to BUCKETS the limit is exact (one start a bucket);
// above, only the oldest bucket may hold starts that left the window, so at
// most `size - 1` starts wait longer than needed: about 1/BUCKETS of a window
// at the full rate, up to a whole window after a pause.

const BUCKETS = 64;

export class RateLimiter {
  readonly #limit: number;
  readonly #interval: number;
  /** Starts per bucket. */
  readonly #size: number;
  /** Time of each bucket's latest start. */
  readonly #latest: Float64Array;
  readonly #counts: Float64Array;
  #oldest = 0; // ring index of the oldest bucket in the window
  #buckets = 0; // buckets in the window
  #inWindow = 0; // starts in the window

  constructor(limit: number, interval: number) {
    this.#limit = limit;
    this.#interval = interval;
    this.#size = Math.ceil(limit / BUCKETS);
    const buckets = Math.ceil(limit / this.#size);
    this.#latest = new Float64Array(buckets);
    this.#counts = new Float64Array(buckets);
  }

  /** Takes a start at `time` if the window has room for one. */
  tryAcquire(time: number): boolean {
    this.#expire(time);
    if (this.#inWindow >= this.#limit) return false;
    const ring = this.#latest.length;
    let newest = (this.#oldest + this.#buckets - 1) % ring;
    if (this.#buckets === 0 || this.#counts[newest]! >= this.#size) {
      newest = (this.#oldest + this.#buckets) % ring;
      this.#buckets++;
      this.#counts[newest] = 0;
    }
    this.#counts[newest]!++;
    this.#latest[newest] = time;
    this.#inWindow++;
    return true;
  }

  /** How many ms after `time` the next start may be taken (0 if now). */
  waitAfter(time: number): number {
    this.#expire(time);
    if (this.#inWindow < this.#limit) return 0;
    return this.#latest[this.#oldest]! + this.#interval - time;
  }

  #expire(time: number): void {
    const latest = this.#latest;
    while (
      this.#buckets > 0 &&
      time - latest[this.#oldest]! >= this.#interval
    ) {
      this.#inWindow -= this.#counts[this.#oldest]!;
      this.#oldest = (this.#oldest + 1) % latest.length;
      this.#buckets--;
    }
  }
}
