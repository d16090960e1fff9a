// Test helpers for batching: batch calls that the test settles by hand.
import type { CallContext, ResultFuture } from "../mod.ts";
import { type Deferred, deferred } from "./_deferred.ts";

/** One recorded call of a {@linkcode controlledBatchFn}. */
export interface BatchCallRecord<I, O> extends Deferred<O[]> {
  inputs: I[];
  context: CallContext;
}

/** One recorded call of a {@linkcode controlledBatchObject}. */
export interface FutureCallRecord<I, O> extends Deferred<void> {
  inputs: I[];
  futures: ResultFuture<O>[];
}

/** Resolves once `calls` holds `count` calls. */
function reacher(calls: unknown[]) {
  let onCall: (() => void) | undefined;
  const called = () => onCall?.();
  const callsReach = async (count: number): Promise<void> => {
    while (calls.length < count) {
      const next = deferred();
      onCall = next.resolve;
      await next.promise;
    }
  };
  return { called, callsReach };
}

/** A batch function whose calls stay pending until the test settles them. */
export function controlledBatchFn<I, O>() {
  const calls: BatchCallRecord<I, O>[] = [];
  const { called, callsReach } = reacher(calls);
  const fn = (inputs: I[], context: CallContext): Promise<O[]> => {
    const call = { ...deferred<O[]>(), inputs, context };
    calls.push(call);
    called();
    return call.promise;
  };
  return { fn, calls, callsReach };
}

/** An AsyncBatchFunction whose futures the test completes by hand. */
export function controlledBatchObject<I, O>() {
  const calls: FutureCallRecord<I, O>[] = [];
  const { called, callsReach } = reacher(calls);
  const fn = {
    asyncInvokeBatch(inputs: I[], futures: ResultFuture<O>[]): Promise<void> {
      const call = { ...deferred<void>(), inputs, futures };
      calls.push(call);
      called();
      return call.promise;
    },
  };
  return { fn, calls, callsReach };
}
