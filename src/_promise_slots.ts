// Following a call's native promise costs two closures per call, made for
// that call alone. A slot is a pair of handlers made once and reused: it
// follows one promise at a time and goes back to its pool when that promise
// settles. The intrinsic `then` calls exactly one of its handlers, exactly
// once, so a slot is free again only then, and a slot whose promise never
// settles (a stopped or timed-out call) is simply never reused.
import type { ResultTarget } from "./_user_code.ts";

const PROMISE_THEN = Promise.prototype.then;

class Slot<T> {
  readonly #pool: PromiseSlots<T>;
  target: ResultTarget<T> | undefined = undefined;
  nextFree: Slot<T> | undefined = undefined;

  constructor(pool: PromiseSlots<T>) {
    this.#pool = pool;
  }

  readonly fulfilled = (value: T): void => {
    const target = this.target!;
    this.#pool.release(this);
    target.resolve(value);
  };

  readonly rejected = (error: unknown): void => {
    const target = this.target!;
    this.#pool.release(this);
    target.reject(error);
  };
}

export class PromiseSlots<T> {
  #free: Slot<T> | undefined = undefined;

  /**
   * Hands `promise`'s outcome to `target`: through a reused slot when its
   * `then` is the intrinsic one, the only one whose callbacks a slot may
   * rely on, and through two closures otherwise (`then` is read once).
   * Throws what `then` throws (a subclass's species constructor may): a
   * slot is then dropped, as its handlers may or may not be registered.
   */
  follow(promise: Promise<T>, target: ResultTarget<T>): void {
    const then = promise.then;
    if (then !== PROMISE_THEN) {
      Reflect.apply(then, promise, [
        (value: T) => target.resolve(value),
        (error: unknown) => target.reject(error),
      ]);
      return;
    }
    const slot = this.#free ?? new Slot<T>(this);
    this.#free = slot.nextFree;
    slot.nextFree = undefined;
    slot.target = target;
    PROMISE_THEN.call(promise, slot.fulfilled, slot.rejected);
  }

  release(slot: Slot<T>): void {
    slot.target = undefined;
    slot.nextFree = this.#free;
    this.#free = slot;
  }
}
