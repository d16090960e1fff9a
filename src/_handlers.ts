// The handlers that user code may give for an element its calls did not
// complete: the timeout handler and the error handler. Each is called behind
// a guard, and its verdict goes back to the element, which counts it only
// while the handler's attempt is still its current one.
import type { Attempt } from "./_attempt.ts";
import type { TimeoutHandler } from "./_config.ts";
import { adopt, isThenable } from "./_user_code.ts";
import type { CallContext } from "./call_context.ts";
import type { ErrorHandler } from "./error_policy.ts";

/**
 * Calls the timeout handler with `future`, whose signal aborted already. The
 * handler may complete it; whatever else it does settles it with an error.
 */
export function callTimeoutHandler<I, O>(
  handler: TimeoutHandler<I, O>,
  input: I,
  future: Attempt<I, O>,
  timeoutError: DOMException,
): void {
  let returned: unknown;
  try {
    returned = handler(input, future.future());
  } catch (error) {
    return future.reject(error);
  }
  // Left incomplete by the handler: the element fails with the timeout.
  if (isThenable(returned)) {
    adopt(returned).then(
      () => future.reject(timeoutError),
      (error) => future.reject(error),
    );
  } else {
    future.reject(timeoutError);
  }
}

/**
 * Calls the error handler, then `ended` with what it returned or resolved
 * to, or `failed` with what it threw or rejected with.
 */
export function callErrorHandler<I, O>(
  handler: ErrorHandler<I, O>,
  error: unknown,
  input: I,
  context: CallContext,
  ended: (returned: unknown) => void,
  failed: (thrown: unknown) => void,
): void {
  let returned: unknown;
  try {
    returned = handler(error, input, context);
  } catch (thrown) {
    return failed(thrown);
  }
  if (!isThenable(returned)) return ended(returned);
  adopt(returned).then(ended, failed);
}
