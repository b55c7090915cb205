/**
 * Delivers one batch of exact targets exactly once per target across retries: a ledger claim
 * returns what earlier attempts delivered, only the rest is sent, and the outcome is recorded
 * before the batch is acknowledged. A crash between a post and the record re-sends at most the
 * targets of that batch that this attempt delivered (docs/performance.md, "Queued fan-out").
 */
import type { WorkerSettings } from './settings';
import { framesFromResult } from '../protocol/encode';
import { deliverTo, type TargetOutcome } from '../publisher/fan-out';
import type { DeliverMessage } from '../queue/messages';
import type { SubscriberRef } from '../store/store';
import type { MetricsRecorder } from '../util/emf';

/** Outcome of one batch: `done` when no target is left to try. */
export interface BatchOutcome {
  readonly done: boolean;
  /** Targets delivered (or gone) by this attempt. */
  readonly delivered: number;
  /** Targets left for a later attempt (failed, or still throttled). */
  readonly pending: number;
  /** Another worker holds the batch right now. */
  readonly busy: boolean;
  /** This attempt posted (false: the batch was busy, or finished before). */
  readonly attempted: boolean;
}

/**
 * Delivers the targets of `message` not delivered before, and records the progress. Each target is
 * posted through its Region's Management API when the router is multi-region (one lane per Region).
 * @param metrics counts the delivery outcomes (not `SubscribersMatched`: the split counted the targets)
 */
export async function deliverBatch(
  settings: WorkerSettings, message: DeliverMessage, concurrency: number, metrics?: MetricsRecorder,
): Promise<BatchOutcome> {
  const ledger = settings.ledger();
  const claim = await ledger.claim(message.batchId, settings.leaseMs);
  if (claim.busy) return { done: false, delivered: 0, pending: message.targets.length - claim.delivered.size, busy: true, attempted: false };
  if (claim.done) return { done: true, delivered: 0, pending: 0, busy: false, attempted: false };
  const indexOf = new Map<SubscriberRef, number>();
  const refs: SubscriberRef[] = [];
  message.targets.forEach(([connectionId, subscriptionId, jsonrpc, region], index) => {
    if (claim.delivered.has(index)) return;
    const ref: SubscriberRef = {
      connectionId, subscriptionId, ...(jsonrpc === '2.0' ? { jsonrpc } : {}), ...(typeof region === 'string' ? { region } : {}),
    };
    indexOf.set(ref, index);
    refs.push(ref);
  });
  const finished: number[] = [];
  let pending = 0;
  const onOutcome = (ref: SubscriberRef, outcome: TargetOutcome) => {
    if (outcome === 'delivered' || outcome === 'gone') finished.push(indexOf.get(ref)!);
    else pending++;
  };
  try {
    const router = settings.router();
    await deliverTo(
      {
        store: settings.store(),
        client: router.accessFor(router.localRegion)!.client,
        router,
        logger: settings.logger,
        hooks: settings.hooks,
        concurrency,
        callTimeoutMs: settings.calls.timeouts.callTimeoutMs,
        gate: settings.gate,
        ...(metrics ? { metrics: withoutMatched(metrics) } : {}),
      },
      {
        path: message.path,
        frameFor: framesFromResult(message.path, message.result),
        targets: [refs],
        onOutcome,
        ...(message.eventId === undefined ? {} : { eventId: message.eventId }),
      },
    );
  } finally {
    // Whatever happened, what was delivered is recorded (and the lease released).
    await ledger.record(message.batchId, finished, pending === 0 && finished.length === refs.length, settings.ledgerRetentionSeconds);
  }
  return { done: pending === 0, delivered: finished.length, pending, busy: false, attempted: true };
}

/** `metrics` without `SubscribersMatched`, which the worker counts once per publish when it splits. */
function withoutMatched(metrics: MetricsRecorder): MetricsRecorder {
  return {
    count: (key, value) => (key === 'subscribersMatched' ? undefined : metrics.count(key, value)),
    value: (key, value) => metrics.value(key, value),
    flush: () => metrics.flush(),
  };
}
