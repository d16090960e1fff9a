// Deadlines that all share one duration arrive in the order they were added,
// so a FIFO list and a single timer serve any number of them.
//
// Reading the clock costs about as much as the rest of an element's
// bookkeeping, so an add does not read it: nodes are stamped in batches, with
// a reading taken after they were added (every STAMP_EVERY adds, or by a
// short timer at most `slack` ms later). A deadline may so be late by up to
// `slack`, never early.
import { MAX_TIMER_DELAY } from "./_timer.ts";

/** A node that can wait in a {@linkcode DeadlineQueue}; the links are intrusive. */
export interface DeadlineNode<T> {
  /** When the node expires; Infinity until the queue stamps it. */
  deadline: number;
  prevDue: T | undefined;
  nextDue: T | undefined;
  /**
   * Called for every due node before any of them expires, so that nodes
   * can let go of their calls first; what it returns goes to `expire`.
   */
  prepareExpiry?(): unknown;
  /** Called once, when the node's deadline has passed. */
  expire(prepared?: unknown): void;
}

const now = () => performance.now();

/** The most adds between two readings of the clock. */
const STAMP_EVERY = 64;

export class DeadlineQueue<T extends DeadlineNode<T>> {
  readonly duration: number;
  /** How long a node may wait for its stamp: 1/32 of the duration, 1 to 8 ms. */
  readonly slack: number;
  #head: T | undefined = undefined;
  #tail: T | undefined = undefined;
  /** The oldest node not stamped yet; all the nodes after it are unstamped. */
  #unstamped: T | undefined = undefined;
  #addsSinceReading = 0;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  #stampTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  #disposed = false;
  /** Set between hold() and release(). */
  #held = false;
  /** Changes whenever a batch of nodes is stamped. */
  #generation = 0;

  constructor(duration: number) {
    this.duration = duration;
    this.slack = Math.min(8, Math.max(1, duration / 32));
  }

  /**
   * Nodes added while this stays the same get one deadline: they are
   * stamped together.
   */
  get generation(): number {
    return this.#generation;
  }

  add(node: T): void {
    node.deadline = Infinity;
    node.prevDue = this.#tail;
    node.nextDue = undefined;
    if (this.#tail === undefined) this.#head = node;
    else this.#tail.nextDue = node;
    this.#tail = node;
    if (this.#unstamped === undefined) this.#unstamped = node;
    if (++this.#addsSinceReading >= STAMP_EVERY && !this.#held) {
      this.#stampNow();
    } else if (this.#stampTimer === undefined) {
      this.#stampTimer = setTimeout(this.#onStampTimer, Math.ceil(this.slack));
    }
  }

  /** Until release(), nodes added are stamped together, however many. */
  hold(): void {
    this.#held = true;
  }

  release(): void {
    this.#held = false;
    if (this.#addsSinceReading >= STAMP_EVERY) this.#stampNow();
  }

  /** Unlinks a node; a node that is not queued is left as it is. */
  remove(node: T): void {
    if (node.prevDue === undefined && this.#head !== node) return;
    const { prevDue, nextDue } = node;
    if (prevDue === undefined) this.#head = nextDue;
    else prevDue.nextDue = nextDue;
    if (nextDue === undefined) this.#tail = prevDue;
    else nextDue.prevDue = prevDue;
    if (this.#unstamped === node) this.#unstamped = nextDue;
    node.prevDue = node.nextDue = undefined;
    // The timer stays armed: it will find the new head when it fires, which
    // is cheaper than re-arming on every removal.
  }

  /** Clears the timers for good, so nothing of ours keeps the process alive. */
  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#stampTimer);
    this.#timer = this.#stampTimer = undefined;
    this.#head = this.#tail = this.#unstamped = undefined;
  }

  /** Gives every unstamped node a deadline from `time`, read after its add. */
  #stamp(time: number): void {
    if (this.#unstamped !== undefined) this.#generation++;
    const deadline = time + this.duration;
    for (let node = this.#unstamped; node !== undefined; node = node.nextDue) {
      node.deadline = deadline;
    }
    this.#unstamped = undefined;
    this.#addsSinceReading = 0;
  }

  #stampNow(): void {
    const time = now();
    this.#stamp(time);
    if (this.#timer === undefined && this.#head !== undefined) {
      this.#arm(this.#head.deadline - time);
    }
  }

  #onStampTimer = (): void => {
    this.#stampTimer = undefined;
    if (this.#unstamped !== undefined && !this.#disposed) this.#stampNow();
  };

  #arm(delay: number): void {
    // Capped, since setTimeout fires at once past 2^31 - 1 ms: a long
    // deadline is re-armed by #fire until it is due.
    const wait = Math.min(MAX_TIMER_DELAY, Math.max(0, Math.ceil(delay)));
    this.#timer = setTimeout(this.#fire, wait);
  }

  #fire = (): void => {
    this.#timer = undefined;
    const time = now();
    this.#stamp(time);
    const due: T[] = [];
    let head = this.#head;
    while (head !== undefined && head.deadline <= time) {
      this.remove(head);
      due.push(head);
      head = this.#head;
    }
    // Nodes stamped together share a deadline, and may share a signal: all
    // of them let go of their calls before any signal aborts.
    const prepared = due.map((node) => node.prepareExpiry?.());
    for (let i = 0; i < due.length; i++) due[i]!.expire(prepared[i]);
    head = this.#head;
    // Nodes added by the expiries are unstamped; their stamp timer re-arms us.
    if (
      head !== undefined && head.deadline !== Infinity && !this.#disposed &&
      this.#timer === undefined
    ) {
      this.#arm(head.deadline - time);
    }
  };
}
