/**
 * The fan-out worker: the handler of the queue's SQS event source. A `publish` message (from
 * `enqueue()`) or an EventBridge event (mapped by `worker({ events })`) is split into delivery
 * batches; a `deliver` message is delivered through the ledger. It answers with a partial batch
 * response, so SQS makes visible again only the messages with something left to deliver (after
 * the visibility timeout; after `maxReceiveCount` receives, the dead-letter queue). Each
 * invocation prints one EMF line of metrics.
 */
import { appendOnce } from './append-once';
import { deliverBatch } from './deliver-batch';
import { publishesOf, type EventMapper } from './events';
import type { WorkerOptions } from './options';
import { settleWorkerOptions, type WorkerSettings } from './settings';
import { splitPublish } from './split';
import type { SubscriptionsConfig } from '../core/config';
import { historyOf } from '../core/history';
import { publishMessage } from '../publisher/enqueue';
import { checkPublishArgs } from '../publisher/publisher';
import {
  isEventBridgeEvent, parseQueueBody, type DeliverMessage, type EventBridgeEvent, type PublishMessage, type QueueMessage,
} from '../queue/messages';
import { sendQueueMessages } from '../queue/sqs';
import type { QueueHandler, QueueRecord } from '../queue/sqs-event';
import { createMetricsRecorder, type MetricsRecorder } from '../util/emf';

/** Creates the queue handler of `appSubscriptions.worker()`. @internal */
export function createQueueHandler(config: SubscriptionsConfig, options: WorkerOptions = {}, mapper?: EventMapper): QueueHandler {
  const settings = settleWorkerOptions(config, options);
  return async (event, context) => {
    const leaseMs = leaseFor(settings, context);
    const records = Array.isArray(event?.Records) ? event.Records : [];
    const perRecord = Math.max(1, Math.ceil(settings.concurrency / Math.max(1, records.length)));
    const metrics = createMetricsRecorder(settings.metrics);
    const failed: string[] = [];
    try {
      await Promise.all(records.map(async (record) => {
        try {
          if (!(await handleRecord({ ...settings, leaseMs }, config, mapper, record, perRecord, metrics))) failed.push(record.messageId);
        } catch (error) {
          settings.logger.error('fan-out worker: message failed', { messageId: record.messageId, error });
          failed.push(record.messageId);
        }
      }));
    } finally {
      metrics.flush();
    }
    return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
  };
}

/** @returns true when the message is finished (acknowledge it), false to have SQS retry it */
async function handleRecord(
  settings: WorkerSettings, config: SubscriptionsConfig, mapper: EventMapper | undefined, record: QueueRecord, concurrency: number,
  metrics: MetricsRecorder,
): Promise<boolean> {
  const body: QueueMessage | ReturnType<typeof parseQueueBody> = parseQueueBody(record.body);
  if (isEventBridgeEvent(body)) {
    const publishes = await publishesOf(mapper, body);
    // Every publish is checked before any is appended to a history or delivered.
    for (const { path, args } of publishes) checkPublishArgs(config, path, args);
    let finished = true;
    for (const [index, { path, args }] of publishes.entries()) {
      const publishId = eventPublishId(body, record.messageId, index);
      // On a route with a history the event is appended here (once across retries), as `enqueue()` does.
      // HISTORY_DEFINE (../constants.ts): a bundle without history never appends.
      const message = process.env.TRPC_SUBSCRIPTIONS_HISTORY !== 'off' && historyOf(config, path)
        ? await appendOnce(settings, config, path, args, publishId)
        : await publishMessage(config, settings.store, path, args);
      finished = (await fanOut(settings, message, publishId, concurrency, metrics)) && finished;
    }
    return finished;
  }
  if (body.kind === 'publish') return fanOut(settings, body, record.messageId, concurrency, metrics);
  return (await deliverCounted(settings, body, concurrency, metrics)).done;
}

/**
 * The id of the `index`-th publish an EventBridge event maps to. EventBridge delivers an event at
 * least once, and a second copy reaches the queue as another SQS message with the same event
 * `id`: keyed on that id, the copy finds the ledger's record of the first (split done, history
 * append made) and publishes nothing again. An event without an id falls back to the SQS message.
 */
function eventPublishId(event: EventBridgeEvent, messageId: string, index: number): string {
  const source = typeof event.id === 'string' && event.id !== '' ? `event:${event.id}` : messageId;
  return `${source}#e${index}`;
}

/**
 * Splits a publish and delivers its first batch here, while the rest is still read and queued;
 * when that batch is left unfinished it goes to the queue with its ledger entry, so the publish
 * itself is finished either way. The split holds a lease in the ledger and is marked done at the
 * end, so a duplicate of the message publishes nothing again; a split that failed or died is
 * retried by SQS and delivers the batches this attempt saved as they were cut (`splitPublish`).
 * @returns false when another worker is splitting the same publish (SQS retries it later)
 */
async function fanOut(
  settings: WorkerSettings, message: PublishMessage, publishId: string, concurrency: number, metrics: MetricsRecorder,
): Promise<boolean> {
  const ledger = settings.ledger();
  const claim = await ledger.claimSplit(publishId, settings.leaseMs);
  if (claim.done) return true;
  if (claim.busy) return false;
  let firstDelivery: Promise<void> | undefined;
  const deliverFirst = async (first: DeliverMessage) => {
    const outcome = await deliverCounted(settings, first, concurrency, metrics);
    if (outcome.done) return;
    await sendQueueMessages(await settings.sqsClient(), settings.queueUrl(), [JSON.stringify(first)]);
    metrics.count('deliveryBatchesQueued');
  };
  try {
    const earlier = claim.resumed ? await ledger.readCut(publishId) : [];
    const split = await splitPublish(settings, message, publishId, earlier, (first) => {
      firstDelivery = deliverFirst(first);
      // Awaited below; until then its failure must not be an unhandled rejection (which ends a Lambda runtime).
      firstDelivery.catch(() => undefined);
    });
    metrics.count('queuedPublishes');
    metrics.count('subscribersMatched', split.targets);
    metrics.count('deliveryBatchesQueued', split.queued);
    await firstDelivery;
  } catch (error) {
    // The first batch's delivery ends before the lease is released, so no retry overlaps it.
    await firstDelivery?.catch(() => undefined);
    await ledger.finishSplit(publishId, false, settings.ledgerRetentionSeconds).catch((releaseError: unknown) => {
      settings.logger.warn('fan-out worker: the lease of a failed split was not released; it expires on its own', { publishId, error: releaseError });
    });
    throw error;
  }
  await ledger.finishSplit(publishId, true, settings.ledgerRetentionSeconds);
  return true;
}

/** Delivers a batch and counts it (a batch another worker holds, or one finished before, is not counted). */
async function deliverCounted(settings: WorkerSettings, message: DeliverMessage, concurrency: number, metrics: MetricsRecorder) {
  const outcome = await deliverBatch(settings, message, concurrency, metrics);
  if (!outcome.attempted) return outcome;
  metrics.count('deliveryBatches');
  if (!outcome.done) metrics.count('deliveryBatchesUnfinished');
  return outcome;
}

/**
 * The lease of this invocation's batches: the time Lambda gives it (the function timeout) plus a
 * second, so no other worker takes a batch over while this one may still post; else `leaseMs`.
 */
function leaseFor(settings: WorkerSettings, context: unknown): number {
  const remaining = (context as { getRemainingTimeInMillis?: () => number } | undefined)?.getRemainingTimeInMillis?.();
  return typeof remaining === 'number' && remaining > 0 ? remaining + 1000 : settings.leaseMs;
}
