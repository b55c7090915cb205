/**
 * The delivery path: sends one encoded frame per matched subscription, bounded in flight and in
 * time (the Management API client retries throttling, 5xx and network errors), removing the rows of gone connections and counting every outcome.
 * Independent of how the publish was asked for, so a queue worker can deliver the same way.
 */
import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { endConnectionWithHooks, type HookRegistry } from '../core/hooks';
import { sendToConnection, type PostFailure } from '../management/client';
import type { ConnectionRouter } from '../management/routing';
import type { FrameBuilder } from '../protocol/encode';
import type { FilterEntry, RequestId, SubscriberRef, SubscriptionStore } from '../store/store';
import type { MetricsRecorder } from '../util/emf';
import { forEachInLanes } from '../util/lanes';
import type { Logger } from '../util/logger';
import { forEachBounded } from '../util/pool';
import type { RateGate } from '../util/rate-gate';

/** A delivery that failed (not counted as delivered or gone). */
export interface PublishFailure {
  readonly connectionId: string;
  readonly subscriptionId: RequestId;
  readonly statusCode?: number;
  readonly name: string;
  readonly message: string;
  readonly attempts: number;
  /** The connection's Region (multi-region set-ups). */
  readonly region?: string;
}

/** The outcomes of the subscriptions connected in one Region. */
export interface RegionPublishResult {
  readonly matched: number;
  readonly delivered: number;
  readonly gone: number;
  readonly failed: number;
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
  /**
   * The id the route's history gave the event (routes with `.history()`; clients receive it as the
   * tracked event id).
   * @default - none: the route keeps no history
   */
  readonly eventId?: string;
  /**
   * Multi-region set-ups: the outcomes per Region of the subscribers' connections.
   * @default - absent in a single-region set-up
   */
  readonly regions?: Readonly<Record<string, RegionPublishResult>>;
  /**
   * Multi-region set-ups: the Regions where at least one delivery failed (unreachable API, no
   * endpoint configured, errors), sorted; empty when every Region was reached.
   * @default - absent in a single-region set-up
   */
  readonly failedRegions?: readonly string[];
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
  /**
   * The event's id in its route's history: skips subscriptions that resumed after it (their
   * replay sent it; see {@link SubscriberRef.liveAfter}).
   */
  readonly eventId?: string;
}

/** How deliveries are made. */
export interface DeliveryContext {
  readonly store: SubscriptionStore;
  /** The Management API client of every connection, unless `router` is given. */
  readonly client: ApiGatewayManagementApiClient;
  /**
   * Picks the Management API of each connection's Region (multi-region set-ups).
   * @default - `client` for every connection
   */
  readonly router?: ConnectionRouter;
  readonly logger: Logger;
  /**
   * The app's lifecycle hooks: a connection found gone (410) ends with reason `gone`.
   * @default - none
   */
  readonly hooks?: HookRegistry;
  readonly concurrency: number;
  /** Deadline of one PostToConnection call, retries included (the client retries by itself). */
  readonly callTimeoutMs: number;
  /**
   * Where the outcomes are counted (matched, delivered, gone, failed, throttled and timed-out
   * posts, fan-out duration). The caller counts what it delivers for (a publish; a queue
   * worker's batch) and prints the metrics.
   */
  readonly metrics?: MetricsRecorder;
  /**
   * Paces every PostToConnection and slows down on throttling (the fan-out worker's).
   * @default - no pacing beyond `concurrency`
   */
  readonly gate?: RateGate;
}

/** How one target ended: `throttled` is a failure still worth another attempt later. */
export type TargetOutcome = 'delivered' | 'gone' | 'throttled' | 'failed';

/** A delivery to given targets (pages of subscribers), e.g. one batch of the fan-out worker. */
export interface TargetDelivery {
  readonly path: string;
  readonly targets: AsyncIterable<readonly SubscriberRef[]> | Iterable<readonly SubscriberRef[]>;
  readonly frameFor: FrameBuilder;
  readonly excludeConnectionId?: string;
  /**
   * The event's id in its route's history: skips targets that resumed after it.
   * @default - none: every target is delivered to
   */
  readonly eventId?: string;
  /** Called once per target with its outcome. */
  readonly onOutcome?: (ref: SubscriberRef, outcome: TargetOutcome) => void;
}

/** A failed post that was a timeout (the SDK's request timeout, the call deadline, or the socket's). */
function isTimeout(failure: PostFailure): boolean {
  return failure.kind === 'other' && /time(d)?\s?out|ETIMEDOUT/i.test(`${failure.name} ${failure.message}`);
}

/**
 * Multi-region: after this many deliveries to one Region failed without an HTTP answer (refused,
 * reset), or after one timed out, the rest of that publish's deliveries to the Region fail at once
 * (`RegionUnavailableError`) instead of each waiting for a timeout.
 */
export const UNREACHABLE_REGION_FAILURES = 3;

/** The Regions one operation (a publish, a stop...) stopped calling because they did not answer. */
export interface RegionReachability {
  /** The failure to report instead of calling `region`; `undefined` while it may still answer. */
  unavailable(region: string | undefined): PostFailure | undefined;
  /** Notes a failed call to `region`: one without an HTTP answer counts, a timeout at once. */
  failed(region: string | undefined, failure: PostFailure): void;
}

/**
 * Creates the {@link RegionReachability} of one operation. In one Region every call goes to this
 * Region's API, which is never skipped: a bundle without multi-region (MULTI_REGION_DEFINE in
 * ../constants.ts) carries that answer only.
 */
export function regionReachability(): RegionReachability {
  if (process.env.TRPC_SUBSCRIPTIONS_MULTI_REGION === 'off') {
    return { unavailable: () => undefined, failed: () => undefined };
  } else {
    const unanswered = new Map<string, number>();
    return {
      unavailable: (region) => (region !== undefined && (unanswered.get(region) ?? 0) >= UNREACHABLE_REGION_FAILURES
        ? { kind: 'other', name: 'RegionUnavailableError', message: `Region ${region} did not answer ${UNREACHABLE_REGION_FAILURES} calls: skipped` }
        : undefined),
      failed: (region, failure) => {
        if (region === undefined || failure.statusCode !== undefined) return;
        // A timeout is decisive (the Region's API took longer than the remote client's limit).
        unanswered.set(region, failure.name === 'TimeoutError' ? UNREACHABLE_REGION_FAILURES : (unanswered.get(region) ?? 0) + 1);
      },
    };
  }
}

/**
 * Whether a subscriber resumed from its route's history after the event `eventId`: its replay
 * sent the event, so a delivery of that event skips it. Event ids of a route have equal length,
 * so string order is id order.
 */
export function resumedAfter(ref: Pick<SubscriberRef, 'liveAfter'>, eventId: string | undefined): boolean {
  return eventId !== undefined && ref.liveAfter !== undefined && ref.liveAfter >= eventId;
}

/** Delivers to every matched subscription and counts the outcomes (per Region with a multi-region router). */
export async function deliver(dc: DeliveryContext, delivery: Delivery): Promise<PublishResult> {
  const { path, filter, frameFor, excludeConnectionId, eventId } = delivery;
  const withRegion = process.env.TRPC_SUBSCRIPTIONS_MULTI_REGION !== 'off' && dc.router?.multiRegion === true;
  const targets = dc.store.findSubscribers(withRegion ? { path, filter, withRegion } : { path, filter });
  return deliverTo(dc, { path, frameFor, excludeConnectionId, eventId, targets });
}

/** Delivers to the given targets and counts the outcomes (the path behind {@link deliver}). */
export async function deliverTo(dc: DeliveryContext, delivery: TargetDelivery): Promise<PublishResult> {
  const { store, logger, router } = dc;
  const { path, frameFor, excludeConnectionId, eventId, onOutcome } = delivery;
  const startedAt = performance.now();
  let throttled = 0;
  let timedOut = 0;
  const total = tally();
  const byRegion = new Map<string, Tally>();
  const failures: PublishFailure[] = [];
  const goneConnections = new Set<string>();
  const withRegion = process.env.TRPC_SUBSCRIPTIONS_MULTI_REGION !== 'off' && router?.multiRegion === true;
  const reachability = regionReachability();
  const deliverOne = async (ref: SubscriberRef): Promise<void> => {
    if (ref.connectionId === excludeConnectionId) return;
    if (resumedAfter(ref, eventId)) return;
    // MULTI_REGION_DEFINE (../constants.ts), written out in full at each use: a bundle without
    // multi-region leaves out the counts by Region.
    const region = process.env.TRPC_SUBSCRIPTIONS_MULTI_REGION !== 'off' ? router?.regionOf(ref.region) : undefined;
    const count = (outcome: keyof Tally) => {
      if (outcome !== 'matched') onOutcome?.(ref, outcome);
      total[outcome]++;
      if (process.env.TRPC_SUBSCRIPTIONS_MULTI_REGION === 'off' || region === undefined) return;
      let regional = byRegion.get(region);
      if (!regional) byRegion.set(region, (regional = tally()));
      regional[outcome]++;
    };
    const fail = (failure: PostFailure, attempts: number) => {
      if (failure.kind === 'throttled') onOutcome?.(ref, 'throttled');
      total.failed++;
      if (process.env.TRPC_SUBSCRIPTIONS_MULTI_REGION !== 'off' && region !== undefined) {
        let regional = byRegion.get(region);
        if (!regional) byRegion.set(region, (regional = tally()));
        regional.failed++;
      }
      if (failure.kind !== 'throttled') onOutcome?.(ref, 'failed');
      const { statusCode, name, message } = failure;
      failures.push({
        connectionId: ref.connectionId, subscriptionId: ref.subscriptionId, statusCode, name, message, attempts, ...(region ? { region } : {}),
      });
      logger.error('publish could not be delivered', { path, connectionId: ref.connectionId, region, statusCode, name, message, attempts });
    };
    count('matched');
    if (goneConnections.has(ref.connectionId)) {
      count('gone');
      return;
    }
    const unavailable = reachability.unavailable(region);
    if (unavailable) {
      fail(unavailable, 0);
      return;
    }
    const client = router ? router.accessFor(ref.region)?.client : dc.client;
    if (!client) {
      fail({ kind: 'other', name: 'UnknownRegionError', message: `No Management API endpoint for Region ${String(region)}` }, 0);
      return;
    }
    const outcome = await sendToConnection(client, ref.connectionId, frameFor(ref.subscriptionId, ref.jsonrpc), dc.callTimeoutMs, dc.gate);
    throttled += outcome.throttledAttempts;
    if (!outcome.failure) {
      count('delivered');
      return;
    }
    if (outcome.failure.kind === 'gone') {
      count('gone');
      if (!goneConnections.has(ref.connectionId)) {
        goneConnections.add(ref.connectionId);
        try {
          await endConnectionWithHooks(store, dc.hooks, logger, ref.connectionId, 'gone');
        } catch (error) {
          logger.error('rows of a gone connection could not be removed', { connectionId: ref.connectionId, error });
        }
      }
      return;
    }
    if (isTimeout(outcome.failure)) timedOut++;
    reachability.failed(region, outcome.failure);
    fail(outcome.failure, outcome.attempts);
  };
  if (process.env.TRPC_SUBSCRIPTIONS_MULTI_REGION !== 'off' && withRegion) {
    // One lane per Region, each with `concurrency` in flight: a Region that does not answer cannot
    // hold the slots of the others.
    await forEachInLanes(delivery.targets, (ref) => router.regionOf(ref.region) ?? '', dc.concurrency, deliverOne);
  } else {
    await forEachBounded(delivery.targets, dc.concurrency, deliverOne);
  }
  const { metrics } = dc;
  if (metrics) {
    metrics.count('subscribersMatched', total.matched);
    metrics.count('messagesDelivered', total.delivered);
    metrics.count('connectionsGone', total.gone);
    metrics.count('postsFailed', failures.length);
    metrics.count('postsThrottled', throttled);
    metrics.count('postsTimedOut', timedOut);
    metrics.value('fanOutDuration', Math.round((performance.now() - startedAt) * 100) / 100);
  }
  const result: PublishResult = { ...total, failed: failures.length, failures };
  if (process.env.TRPC_SUBSCRIPTIONS_MULTI_REGION === 'off' || !withRegion) return result;
  const regions = Object.fromEntries([...byRegion].sort(([a], [b]) => a.localeCompare(b)).map(([name, counts]) => [name, { ...counts }]));
  const failedRegions = Object.keys(regions).filter((name) => regions[name].failed > 0);
  return { ...result, regions, failedRegions };
}

interface Tally {
  matched: number;
  delivered: number;
  gone: number;
  failed: number;
}

function tally(): Tally {
  return { matched: 0, delivered: 0, gone: 0, failed: 0 };
}
