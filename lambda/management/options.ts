/**
 * Retries and timeouts of the Management API calls (PostToConnection, DeleteConnection), shared by
 * the publisher's options and the `$default` handler's, settled here once for both.
 */
import { DEFAULT_TIMEOUTS, settleTimeouts, type TimeoutOptions } from '../util/deadline';

export { DEFAULT_TIMEOUTS, type TimeoutOptions };

/** Retries of Management API calls: throttling (429), transient 5xx and network errors. */
export interface RetryOptions {
  /**
   * Attempts per call, including the first. 410 (gone) and 413 (too large) are never retried.
   * @default 5
   */
  readonly maxAttempts?: number;
  /**
   * Base of the exponential backoff, in milliseconds (full jitter: a random delay up to
   * `min(maxDelayMs, baseDelayMs * 2^attempt)`).
   * @default 50
   */
  readonly baseDelayMs?: number;
  /**
   * Longest delay between attempts, in milliseconds.
   * @default 2000
   */
  readonly maxDelayMs?: number;
}

/** Retry and timeout options with every default applied. */
export interface ManagementCallSettings {
  readonly retry: Required<RetryOptions>;
  readonly timeouts: Required<TimeoutOptions>;
}

/** Default retry options of Management API calls. */
export const DEFAULT_RETRY: Required<RetryOptions> = { maxAttempts: 5, baseDelayMs: 50, maxDelayMs: 2000 };


function positiveInteger(name: string, option: number | undefined, fallback: number, min = 1): number {
  const value = option ?? fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`\`${name}\` must be an integer of at least ${min}, got: ${String(option)}`);
  }
  return value;
}

/**
 * Applies the defaults and checks the values.
 * @throws RangeError naming the option when a value is not a positive integer (a delay may be 0)
 */
export function settleManagementCalls(retry: RetryOptions = {}, timeouts: TimeoutOptions = {}): ManagementCallSettings {
  return {
    retry: {
      maxAttempts: positiveInteger('retry.maxAttempts', retry.maxAttempts, DEFAULT_RETRY.maxAttempts),
      baseDelayMs: positiveInteger('retry.baseDelayMs', retry.baseDelayMs, DEFAULT_RETRY.baseDelayMs, 0),
      maxDelayMs: positiveInteger('retry.maxDelayMs', retry.maxDelayMs, DEFAULT_RETRY.maxDelayMs, 0),
    },
    timeouts: settleTimeouts(timeouts),
  };
}
