/**
 * The fan-out of one queued publish: reads the matching subscribers page by page and cuts them
 * into delivery batches with stable ids (`{publish id}#{index}`, in the store's order), sends
 * every batch but the first to the queue (so that other worker instances deliver them in
 * parallel) and returns the first for this worker to deliver.
 */
import type { WorkerSettings } from './settings';
import { MAX_QUEUE_MESSAGE_BYTES } from '../constants';
import { resumedAfter } from '../publisher/fan-out';
import { QUEUE_MESSAGE_VERSION, type DeliverMessage, type DeliveryTarget, type PublishMessage } from '../queue/messages';
import { sendQueueMessages } from '../queue/sqs';
import type { SubscriberRef } from '../store/store';

/** Room left in a message for everything but the targets. */
const ENVELOPE_BYTES = 1024;
/** Delivery batches sent per round of SendMessageBatch requests. */
const SEND_GROUP = 50;

/** Result of a split. */
export interface SplitOutcome {
  /** The first batch (undefined: no subscriber matched). */
  readonly first?: DeliverMessage;
  /** Batches sent to the queue. */
  readonly queued: number;
  /** Targets over every batch. */
  readonly targets: number;
}

/**
 * The target of a subscriber: its Region only when the rows carry one (multi-region reads), and
 * `null` in the `jsonrpc` place only when a Region follows, so single-region targets keep the
 * shape of older messages.
 */
export function deliveryTarget(ref: SubscriberRef): DeliveryTarget {
  const { connectionId, subscriptionId, jsonrpc, region } = ref;
  if (region !== undefined) return [connectionId, subscriptionId, jsonrpc ?? null, region];
  return jsonrpc ? [connectionId, subscriptionId, jsonrpc] : [connectionId, subscriptionId];
}

/** Splits a publish into delivery batches (see the module comment). */
export async function splitPublish(settings: WorkerSettings, message: PublishMessage, publishId: string): Promise<SplitOutcome> {
  const { path, result, filter, excludeConnectionId, eventId } = message;
  const fixedBytes = ENVELOPE_BYTES + Buffer.byteLength(result) + Buffer.byteLength(publishId) + Buffer.byteLength(path);
  const maxTargetBytes = MAX_QUEUE_MESSAGE_BYTES - fixedBytes;
  const withRegion = settings.router().multiRegion;
  let first: DeliverMessage | undefined;
  let queued = 0;
  let total = 0;
  let index = 0;
  let targets: DeliveryTarget[] = [];
  let bytes = 0;
  let outbox: string[] = [];
  const flushOutbox = async () => {
    if (outbox.length === 0) return;
    const bodies = outbox;
    outbox = [];
    await sendQueueMessages(await settings.sqsClient(), settings.queueUrl(), bodies);
    queued += bodies.length;
  };
  const closeBatch = async () => {
    if (targets.length === 0) return;
    const batch: DeliverMessage = {
      v: QUEUE_MESSAGE_VERSION, kind: 'deliver', batchId: `${publishId}#${index++}`, path, result, targets, ...(eventId === undefined ? {} : { eventId }),
    };
    targets = [];
    bytes = 0;
    if (!first) {
      first = batch;
      return;
    }
    outbox.push(JSON.stringify(batch));
    if (outbox.length >= SEND_GROUP) await flushOutbox();
  };
  for await (const page of settings.store().findSubscribers(withRegion ? { path, filter, withRegion } : { path, filter })) {
    for (const ref of page) {
      if (ref.connectionId === excludeConnectionId) continue;
      // A subscription that resumed after the event got it in its replay: the rule `publish()`
      // applies while delivering (this read is the publish's subscriber query).
      if (resumedAfter(ref, eventId)) continue;
      const target = deliveryTarget(ref);
      const targetBytes = Buffer.byteLength(JSON.stringify(target)) + 1;
      if (targets.length >= settings.deliveryBatchSize || bytes + targetBytes > maxTargetBytes) await closeBatch();
      targets.push(target);
      bytes += targetBytes;
      total++;
    }
  }
  await closeBatch();
  await flushOutbox();
  return { first, queued, targets: total };
}
