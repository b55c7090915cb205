/**
 * Bounded exponential backoff, the one policy behind every retry loop of the runtime: store
 * transactions and batch deletes, throttled PostToConnection calls, and waiting for a
 * connection's `connectionParams`.
 * @see https://aws.amazon.com/builders-library/timeouts-retries-and-backoff-with-jitter/
 */
import { setTimeout as sleep } from 'node:timers/promises';

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

/** The delay cap of an attempt: `min(maxDelayMs, baseDelayMs * 2^attempt)`. */
export function backoffCapMs(attempt: number, options: BackoffOptions = {}): number {
  return Math.min(options.maxDelayMs ?? 1000, (options.baseDelayMs ?? 25) * 2 ** attempt);
}

/** A random delay in `[0, backoffCapMs(attempt))` (full jitter). */
export function backoffDelayMs(attempt: number, options: BackoffOptions = {}): number {
  return Math.floor(Math.random() * backoffCapMs(attempt, options));
}

/** Sleeps for {@link backoffDelayMs}. */
export async function backoff(attempt: number, options?: BackoffOptions): Promise<void> {
  await sleep(backoffDelayMs(attempt, options));
}
