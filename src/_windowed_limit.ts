// The engine's side of an adaptive limit: it collects one sample per ended
// attempt into windows, hands each closed window to the ConcurrencyLimit,
// and turns what the limit says into the number of calls allowed in flight.
import { describe } from "./_describe.ts";
import type { ConcurrencyLimit } from "./concurrency_limit.ts";

/** How an attempt ended, as far as the limit is concerned. */
export const SUCCEEDED = 0;
/** Failed with an error that the retry predicate retries. */
export const DROPPED = 1;
/** Timed out: `timeout`, `attemptTimeout` or a `TimeoutError`. */
export const TIMED_OUT = 2;
export type SampleOutcome =
  | typeof SUCCEEDED
  | typeof DROPPED
  | typeof TIMED_OUT;

/** A window closes once it spans this long... */
export const MIN_WINDOW_MS = 1_000;
/** ...and holds this many samples, whichever comes later. */
export const MIN_WINDOW_SAMPLES = 10;

export class WindowedLimit {
  readonly #limit: ConcurrencyLimit;
  readonly #capacity: number;
  readonly #now: () => number;
  #current: number;
  // The open window; it opens at its first sample.
  #opened = 0;
  #calls = 0;
  #rttSum = 0;
  #maxInFlight = 0;
  #dropped = 0;
  #timedOut = 0;

  /**
   * @param now The clock, in ms; injectable so tests can step it.
   * @throws What `limit.bind` throws, a TypeError if the initial limit is not
   * a number, and a RangeError if it is NaN.
   */
  constructor(
    limit: ConcurrencyLimit,
    capacity: number,
    now: () => number = () => performance.now(),
  ) {
    this.#limit = limit;
    this.#capacity = capacity;
    this.#now = now;
    limit.bind?.(capacity);
    this.#current = this.#read();
  }

  /** The calls allowed in flight: a whole number from 1 to capacity. */
  get limit(): number {
    return this.#current;
  }

  /** The clock, for the start time that {@linkcode record} takes back. */
  now(): number {
    return this.#now();
  }

  /**
   * Records one ended attempt. `inFlight` is the number of calls in flight
   * when it started, itself included. May run the limit's `update`, and
   * throws what it throws.
   *
   * @returns Whether the limit changed.
   */
  record(startedAt: number, inFlight: number, outcome: SampleOutcome): boolean {
    const now = this.#now();
    if (this.#calls === 0) this.#opened = now;
    this.#calls++;
    this.#rttSum += now - startedAt;
    if (inFlight > this.#maxInFlight) this.#maxInFlight = inFlight;
    if (outcome !== SUCCEEDED) this.#dropped++;
    if (outcome === TIMED_OUT) this.#timedOut++;
    if (
      this.#calls < MIN_WINDOW_SAMPLES || now - this.#opened < MIN_WINDOW_MS
    ) return false;
    return this.#close();
  }

  #close(): boolean {
    const sample = {
      rtt: this.#rttSum / this.#calls,
      inFlight: this.#maxInFlight,
      calls: this.#calls,
      dropped: this.#dropped,
      timedOut: this.#timedOut,
    };
    this.#calls = this.#rttSum = this.#maxInFlight = 0;
    this.#dropped = this.#timedOut = 0;
    const before = this.#current;
    this.#limit.update(sample);
    let next = this.#read();
    // An under-used limit says nothing about the backend: do not raise it.
    if (next > before && sample.inFlight < before / 2) next = before;
    this.#current = next;
    return next !== before;
  }

  #read(): number {
    const value = this.#limit.limit;
    if (typeof value !== "number" || Number.isNaN(value)) {
      const message =
        `Cannot use the concurrency limit as its limit must be a number: current value is ${
          describe(value)
        }`;
      throw typeof value === "number"
        ? new RangeError(message)
        : new TypeError(message);
    }
    return Math.max(1, Math.min(this.#capacity, Math.floor(value)));
  }
}
