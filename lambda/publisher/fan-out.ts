/**
 * The delivery path: sends one encoded frame per matched subscription, bounded in flight,
 * retrying throttling, removing the rows of gone connections and counting every outcome.
 * Independent of how the publish was asked for, so a queue worker can deliver the same way.
 */
import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import type { RetrySettings } from './settings';
import { postToConnection, type PostFailure } from '../management/client';
import type { FrameBuilder } from '../protocol/encode';
import type { FilterEntry, RequestId, SubscriberRef, SubscriptionStore } from '../store/store';
import { backoff } from '../util/backoff';
import type { MetricsRecorder } from '../util/emf';
import type { Logger } from '../util/logger';
import { forEachBounded } from '../util/pool';

/** A delivery that failed (not counted as delivered or gone). */
export interface PublishFailure {
  readonly connectionId: string;
  readonly subscriptionId: RequestId;
  readonly statusCode?: number;
  readonly name: string;
  readonly message: string;
  readonly attempts: number;
}

/**
 * Outcome of a publish. Every matched subscription ends in exactly one of `delivered`, `gone`
 * (its connection answered 410 and was removed) or `failed` (see `failures`).
 */
export interface PublishResult {
  /** Subscriptions found (after `excludeConnectionId`). */
  readonly matched: number;
  readonly delivered: number;
  readonly gone: number;
  readonly failed: number;
  readonly failures: readonly PublishFailure[];
}

/** The outcome of sending one frame. */
export interface SendOutcome {
  readonly failure?: PostFailure;
  readonly attempts: number;
}

/** Sends one frame, retrying throttling with jittered exponential backoff (bounded attempts). */
export async function sendWithRetry(
  client: ApiGatewayManagementApiClient, connectionId: string, frame: string, retry: RetrySettings,
): Promise<SendOutcome> {
  const { maxAttempts, baseDelayMs, maxDelayMs } = retry;
  for (let attempt = 1; ; attempt++) {
    const failure = await postToConnection(client, connectionId, frame);
    if (!failure) return { attempts: attempt };
    if (failure.kind !== 'throttled' || attempt >= maxAttempts) return { failure, attempts: attempt };
    await backoff(attempt, { baseDelayMs, maxDelayMs });
  }
}

/** One delivery: an encoded event for the subscribers of a route. */
export interface Delivery {
  readonly path: string;
  /** The filter entry to match (none: every subscription of the route). */
  readonly filter?: FilterEntry;
  /** The frame of each subscription id. */
  readonly frameFor: FrameBuilder;
  /** Skips this connection (e.g. the sender). */
  readonly excludeConnectionId?: string;
}

/** How deliveries are made. */
export interface DeliveryContext {
  readonly store: SubscriptionStore;
  readonly client: ApiGatewayManagementApiClient;
  readonly logger: Logger;
  readonly concurrency: number;
  readonly retry: RetrySettings;
  /**
   * Where the outcomes are counted (matched, delivered, gone, failed, throttled and timed-out
   * posts, fan-out duration). The caller counts what it delivers for (a publish; a queue
   * worker's batch) and prints the metrics.
   */
  readonly metrics?: MetricsRecorder;
}

/** A failed post that was a timeout (the SDK's request timeout, or the socket's). */
function isTimeout(failure: PostFailure): boolean {
  return failure.kind === 'other' && /time(d)?\s?out|ETIMEDOUT/i.test(`${failure.name} ${failure.message}`);
}

/** Every attempt but the last was throttled (only throttling is retried); the last one may be. */
function throttledAttempts(outcome: SendOutcome): number {
  return outcome.attempts - 1 + (outcome.failure?.kind === 'throttled' ? 1 : 0);
}

/** Delivers to every matched subscription and counts the outcomes. */
export async function deliver(dc: DeliveryContext, delivery: Delivery): Promise<PublishResult> {
  const { store, client, logger } = dc;
  const { path, filter, frameFor, excludeConnectionId } = delivery;
  const startedAt = performance.now();
  let throttled = 0;
  let timedOut = 0;
  let matched = 0;
  let delivered = 0;
  let gone = 0;
  const failures: PublishFailure[] = [];
  const goneConnections = new Set<string>();
  await forEachBounded(store.findSubscribers({ path, filter }), dc.concurrency, async (ref: SubscriberRef) => {
    if (ref.connectionId === excludeConnectionId) return;
    matched++;
    if (goneConnections.has(ref.connectionId)) {
      gone++;
      return;
    }
    const outcome = await sendWithRetry(client, ref.connectionId, frameFor(ref.subscriptionId), dc.retry);
    throttled += throttledAttempts(outcome);
    if (!outcome.failure) {
      delivered++;
      return;
    }
    if (outcome.failure.kind === 'gone') {
      gone++;
      if (!goneConnections.has(ref.connectionId)) {
        goneConnections.add(ref.connectionId);
        try {
          await store.removeConnection(ref.connectionId);
        } catch (error) {
          logger.error('rows of a gone connection could not be removed', { connectionId: ref.connectionId, error });
        }
      }
      return;
    }
    if (isTimeout(outcome.failure)) timedOut++;
    const { statusCode, name, message } = outcome.failure;
    failures.push({ connectionId: ref.connectionId, subscriptionId: ref.subscriptionId, statusCode, name, message, attempts: outcome.attempts });
    logger.error('publish could not be delivered', { path, connectionId: ref.connectionId, statusCode, name, message, attempts: outcome.attempts });
  });
  const { metrics } = dc;
  if (metrics) {
    metrics.count('subscribersMatched', matched);
    metrics.count('messagesDelivered', delivered);
    metrics.count('connectionsGone', gone);
    metrics.count('postsFailed', failures.length);
    metrics.count('postsThrottled', throttled);
    metrics.count('postsTimedOut', timedOut);
    metrics.value('fanOutDuration', Math.round((performance.now() - startedAt) * 100) / 100);
  }
  return { matched, delivered, gone, failed: failures.length, failures };
}
