// Timers of any length. setTimeout stores its delay in 32 bits: a longer one
// fires at once. As std's `delay` does, a long wait is a chain of shorter ones.

/** The longest delay that setTimeout honours, about 24.8 days. */
export const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** A one-shot timer that may wait longer than {@linkcode MAX_TIMER_DELAY}. */
export class Timer {
  readonly #callback: () => void;
  /** What is left to wait after the link now armed. */
  #remaining = 0;
  #handle: ReturnType<typeof setTimeout> | undefined = undefined;

  constructor(callback: () => void) {
    this.#callback = callback;
  }

  get armed(): boolean {
    return this.#handle !== undefined;
  }

  /**
   * Arms the timer `delay` ms from now (replacing any earlier arming). A NaN
   * delay waits for ever, as Infinity does, rather than firing at once as
   * setTimeout would: a bad delay must not turn a wait into a busy loop.
   */
  set(delay: number): void {
    this.clear();
    this.#arm(Number.isNaN(delay) ? Infinity : Math.max(0, Math.ceil(delay)));
  }

  clear(): void {
    clearTimeout(this.#handle);
    this.#handle = undefined;
  }

  #arm(delay: number): void {
    const link = Math.min(delay, MAX_TIMER_DELAY);
    this.#remaining = delay - link;
    this.#handle = setTimeout(this.#fire, link);
  }

  #fire = (): void => {
    if (this.#remaining > 0) return this.#arm(this.#remaining);
    this.#handle = undefined;
    this.#callback();
  };
}
