/**
 * An outer deadline for calls that must not hang. The AWS SDK's `requestTimeout` is known not to
 * fire in some versions (aws-sdk-js-v3 issues 6896 and 7632), so every AWS call also races a timer
 * that aborts it and settles the caller's promise, whatever the HTTP layer does.
 */

/** Timeouts of an AWS client's calls, so that no call can hang. */
export interface TimeoutOptions {
  /**
   * Longest wait for a TCP connection, in milliseconds.
   * @default 1000
   */
  readonly connectionTimeoutMs?: number;
  /**
   * Longest wait for the answer of one attempt once connected (socket idle), in milliseconds.
   * @default 3000
   */
  readonly requestTimeoutMs?: number;
  /**
   * Deadline of a whole call, retries included, in milliseconds: the call fails with a
   * `TimeoutError` when it has not settled, even if the SDK's own timeout does not fire.
   * @default 6000
   */
  readonly callTimeoutMs?: number;
}

/** The defaults of {@link TimeoutOptions}. */
export const DEFAULT_TIMEOUTS: Required<TimeoutOptions> = { connectionTimeoutMs: 1000, requestTimeoutMs: 3000, callTimeoutMs: 6000 };

/**
 * Applies the defaults and checks the values.
 * @throws RangeError naming the option when a value is not a positive integer
 */
export function settleTimeouts(timeouts: TimeoutOptions = {}, prefix = 'timeouts'): Required<TimeoutOptions> {
  const settle = (name: keyof TimeoutOptions): number => {
    const value = timeouts[name] ?? DEFAULT_TIMEOUTS[name];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`\`${prefix}.${name}\` must be a positive integer of milliseconds, got: ${String(timeouts[name])}`);
    }
    return value;
  };
  return { connectionTimeoutMs: settle('connectionTimeoutMs'), requestTimeoutMs: settle('requestTimeoutMs'), callTimeoutMs: settle('callTimeoutMs') };
}

/**
 * The HTTP handler options of an AWS SDK v3 client for these timeouts. Without
 * `throwOnRequestTimeout`, recent SDKs only log a warning when `requestTimeout` passes.
 */
export function requestHandlerOptions(timeouts: Required<TimeoutOptions>) {
  return { connectionTimeout: timeouts.connectionTimeoutMs, requestTimeout: timeouts.requestTimeoutMs, throwOnRequestTimeout: true };
}

/** A call that did not settle within its deadline. */
export class CallTimeoutError extends Error {
  constructor(readonly what: string, readonly timeoutMs: number) {
    super(`${what} did not answer within ${timeoutMs} ms`);
    this.name = 'TimeoutError';
  }
}

/**
 * Runs `call` with an AbortSignal that fires after `timeoutMs`; rejects with
 * {@link CallTimeoutError} at that moment even if `call` ignores the signal.
 */
export async function withDeadline<T>(timeoutMs: number, what: string, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new CallTimeoutError(what, timeoutMs);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    return await Promise.race([call(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}
