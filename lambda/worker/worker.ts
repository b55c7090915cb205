/**
 * The fan-out worker: the handler of the queue's SQS event source. A `publish` message (from
 * `enqueue()`) or an EventBridge event (mapped by `worker({ events })`) is split into delivery
 * batches; a `deliver` message is delivered through the ledger. It answers with a partial batch
 * response, so SQS makes visible again only the messages with something left to deliver (after
 * the visibility timeout; after `maxReceiveCount` receives, the dead-letter queue).
 */
import { deliverBatch } from './deliver-batch';
import { publishesOf, type EventMapper } from './events';
import type { WorkerOptions } from './options';
import { settleWorkerOptions, type WorkerSettings } from './settings';
import { splitPublish } from './split';
import type { SubscriptionsConfig } from '../core/config';
import { publishMessage } from '../publisher/enqueue';
import { isEventBridgeEvent, parseQueueBody, type PublishMessage, type QueueMessage } from '../queue/messages';
import { sendQueueMessages } from '../queue/sqs';
import type { QueueHandler, QueueRecord } from '../queue/sqs-event';

/** Creates the queue handler of `appSubscriptions.worker()`. @internal */
export function createQueueHandler(config: SubscriptionsConfig, options: WorkerOptions = {}, mapper?: EventMapper): QueueHandler {
  const settings = settleWorkerOptions(config, options);
  return async (event, context) => {
    const leaseMs = leaseFor(settings, context);
    const records = Array.isArray(event?.Records) ? event.Records : [];
    const perRecord = Math.max(1, Math.ceil(settings.concurrency / Math.max(1, records.length)));
    const failed: string[] = [];
    await Promise.all(records.map(async (record) => {
      try {
        if (!(await handleRecord({ ...settings, leaseMs }, config, mapper, record, perRecord))) failed.push(record.messageId);
      } catch (error) {
        settings.logger.error('fan-out worker: message failed', { messageId: record.messageId, error });
        failed.push(record.messageId);
      }
    }));
    return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
  };
}

/** @returns true when the message is finished (acknowledge it), false to have SQS retry it */
async function handleRecord(
  settings: WorkerSettings, config: SubscriptionsConfig, mapper: EventMapper | undefined, record: QueueRecord, concurrency: number,
): Promise<boolean> {
  const body: QueueMessage | ReturnType<typeof parseQueueBody> = parseQueueBody(record.body);
  if (isEventBridgeEvent(body)) {
    const publishes = await publishesOf(mapper, body);
    const messages = publishes.map(({ path, args }) => publishMessage(config, path, args));
    let finished = true;
    for (const [index, message] of messages.entries()) {
      finished = (await fanOut(settings, message, `${record.messageId}#e${index}`, concurrency)) && finished;
    }
    return finished;
  }
  if (body.kind === 'publish') return fanOut(settings, body, record.messageId, concurrency);
  const outcome = await deliverBatch(settings, body, concurrency);
  return outcome.done;
}

/**
 * Splits a publish and delivers its first batch here; when that batch is left unfinished it goes
 * to the queue with its ledger entry, so the publish itself is finished either way.
 */
async function fanOut(settings: WorkerSettings, message: PublishMessage, publishId: string, concurrency: number): Promise<boolean> {
  const { first } = await splitPublish(settings, message, publishId);
  if (!first) return true;
  const outcome = await deliverBatch(settings, first, concurrency);
  if (outcome.done) return true;
  await sendQueueMessages(await settings.sqsClient(), settings.queueUrl(), [JSON.stringify(first)]);
  return true;
}

/**
 * The lease of this invocation's batches: the time Lambda gives it (the function timeout) plus a
 * second, so no other worker takes a batch over while this one may still post; else `leaseMs`.
 */
function leaseFor(settings: WorkerSettings, context: unknown): number {
  const remaining = (context as { getRemainingTimeInMillis?: () => number } | undefined)?.getRemainingTimeInMillis?.();
  return typeof remaining === 'number' && remaining > 0 ? remaining + 1000 : settings.leaseMs;
}
