// Deadlines that all share one duration arrive in the order they were added,
// so a FIFO list and a single timer serve any number of them.

/** A node that can wait in a {@linkcode DeadlineQueue}; the links are intrusive. */
export interface DeadlineNode<T> {
  deadline: number;
  prevDue: T | undefined;
  nextDue: T | undefined;
  /** Called once, when the node's deadline has passed. */
  expire(): void;
}

const now = () => performance.now();

export class DeadlineQueue<T extends DeadlineNode<T>> {
  readonly duration: number;
  #head: T | undefined = undefined;
  #tail: T | undefined = undefined;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  #disposed = false;

  constructor(duration: number) {
    this.duration = duration;
  }

  add(node: T): void {
    node.deadline = now() + this.duration;
    node.prevDue = this.#tail;
    node.nextDue = undefined;
    if (this.#tail === undefined) this.#head = node;
    else this.#tail.nextDue = node;
    this.#tail = node;
    if (this.#timer === undefined) this.#arm(this.duration);
  }

  /** Unlinks a node; a node that is not queued is left as it is. */
  remove(node: T): void {
    if (node.prevDue === undefined && this.#head !== node) return;
    const { prevDue, nextDue } = node;
    if (prevDue === undefined) this.#head = nextDue;
    else prevDue.nextDue = nextDue;
    if (nextDue === undefined) this.#tail = prevDue;
    else nextDue.prevDue = prevDue;
    node.prevDue = node.nextDue = undefined;
    // The timer stays armed: it will find the new head when it fires, which
    // is cheaper than re-arming on every removal.
  }

  /** Clears the timer for good, so nothing of ours keeps the process alive. */
  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#head = this.#tail = undefined;
  }

  #arm(delay: number): void {
    this.#timer = setTimeout(this.#fire, Math.max(0, Math.ceil(delay)));
  }

  #fire = (): void => {
    this.#timer = undefined;
    const time = now();
    let head = this.#head;
    while (head !== undefined && head.deadline <= time && !this.#disposed) {
      this.remove(head);
      head.expire();
      head = this.#head;
    }
    if (head !== undefined && !this.#disposed && this.#timer === undefined) {
      this.#arm(head.deadline - time);
    }
  };
}
