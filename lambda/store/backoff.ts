/**
 * Bounded exponential backoff with full jitter, for what the AWS SDK does not retry by itself:
 * unprocessed batch items and cancelled transactions.
 * @see https://aws.amazon.com/builders-library/timeouts-retries-and-backoff-with-jitter/
 */

/** Tuning of {@link backoffDelayMs}. */
export interface BackoffOptions {
  /**
   * Delay cap of the first retry, in milliseconds; it doubles per attempt.
   * @default 25
   */
  readonly baseDelayMs?: number;
  /**
   * Largest delay cap, in milliseconds.
   * @default 1000
   */
  readonly maxDelayMs?: number;
}

/** A random delay in `[0, min(maxDelayMs, baseDelayMs * 2^attempt))` (attempt counts from 0). */
export function backoffDelayMs(attempt: number, options: BackoffOptions = {}): number {
  const cap = Math.min(options.maxDelayMs ?? 1000, (options.baseDelayMs ?? 25) * 2 ** attempt);
  return Math.floor(Math.random() * cap);
}

/** Sleep for {@link backoffDelayMs}. */
export async function backoff(attempt: number, options?: BackoffOptions): Promise<void> {
  const ms = backoffDelayMs(attempt, options);
  await new Promise((resolve) => setTimeout(resolve, ms));
}
