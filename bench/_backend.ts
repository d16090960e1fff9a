// A simulated backend for bench/adaptive.ts: `servers` workers take calls
// from one FIFO queue, each for a lognormal service time. Past `servers`
// calls in flight, latency grows with the queue. Like most HTTP servers and
// databases it never learns that a caller gave up, so a call that timed out
// still holds its place in the queue and then a worker.
import { lcg } from "./_stats.ts";

export interface BackendOptions {
  servers: number;
  /** The median service time, in ms. */
  medianMs: number;
  /** The σ of the service time's logarithm. */
  sigma: number;
  seed: number;
}

export class Backend {
  #servers: number;
  #busy = 0;
  readonly #queue: (() => void)[] = [];
  #head = 0;
  readonly #medianMs: number;
  readonly #sigma: number;
  readonly #random: () => number;
  #spare: number | undefined = undefined;

  constructor({ servers, medianMs, sigma, seed }: BackendOptions) {
    this.#servers = servers;
    this.#medianMs = medianMs;
    this.#sigma = sigma;
    this.#random = lcg(seed);
  }

  get servers(): number {
    return this.#servers;
  }

  /** Changes the number of workers; busy ones finish their call first. */
  set servers(servers: number) {
    this.#servers = servers;
    this.#serve();
  }

  /** Calls waiting for a worker. */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  /** Resolves once a worker has served the call. */
  call(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#queue.push(resolve);
      this.#serve();
    });
  }

  #serve(): void {
    while (this.#busy < this.#servers && this.#head < this.#queue.length) {
      const resolve = this.#queue[this.#head++]!;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue.splice(0, this.#head);
        this.#head = 0;
      }
      this.#busy++;
      setTimeout(() => {
        this.#busy--;
        resolve();
        this.#serve();
      }, this.#serviceTime());
    }
  }

  #serviceTime(): number {
    return this.#medianMs * Math.exp(this.#sigma * this.#normal());
  }

  /** Box–Muller, both halves used. */
  #normal(): number {
    if (this.#spare !== undefined) {
      const spare = this.#spare;
      this.#spare = undefined;
      return spare;
    }
    const radius = Math.sqrt(-2 * Math.log(1 - this.#random()));
    const angle = 2 * Math.PI * this.#random();
    this.#spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }
}
