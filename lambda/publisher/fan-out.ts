import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { postToConnection, type PostFailure } from '../management/client';

/** Retry policy for throttled PostToConnection calls (429 LimitExceeded, throttling). */
export interface RetryOptions {
  /**
   * Attempts per frame, including the first.
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

/** The outcome of sending one frame. */
export interface SendOutcome {
  readonly failure?: PostFailure;
  readonly attempts: number;
}

/** Sends one frame, retrying throttling with jittered exponential backoff (bounded attempts). */
export async function sendWithRetry(
  client: ApiGatewayManagementApiClient, connectionId: string, frame: string, retry: RetryOptions = {},
): Promise<SendOutcome> {
  const maxAttempts = Math.max(1, retry.maxAttempts ?? 5);
  const baseDelayMs = retry.baseDelayMs ?? 50;
  const maxDelayMs = retry.maxDelayMs ?? 2000;
  for (let attempt = 1; ; attempt++) {
    const failure = await postToConnection(client, connectionId, frame);
    if (!failure) return { attempts: attempt };
    if (failure.kind !== 'throttled' || attempt >= maxAttempts) return { failure, attempts: attempt };
    await sleep(Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** attempt));
  }
}

/**
 * Runs `worker` over every item of every page with at most `concurrency` in flight, reading the
 * next page only when a slot frees up. `worker` must not reject.
 */
export async function forEachBounded<T>(
  pages: AsyncIterable<readonly T[]>, concurrency: number, worker: (item: T) => Promise<void>,
): Promise<void> {
  const limit = Math.max(1, Math.floor(concurrency));
  const inFlight = new Set<Promise<void>>();
  for await (const page of pages) {
    for (const item of page) {
      const task: Promise<void> = worker(item).finally(() => inFlight.delete(task));
      inFlight.add(task);
      if (inFlight.size >= limit) await Promise.race(inFlight);
    }
  }
  await Promise.all(inFlight);
}
