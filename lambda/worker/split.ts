/**
 * The fan-out of one queued publish: reads the matching subscribers page by page and cuts them
 * into delivery batches with stable ids (`{publish id}#{index}`, in the store's order), sends
 * every batch but the first to the queue (so that other worker instances deliver them in
 * parallel) and hands the first to this worker as soon as it is cut.
 *
 * A publish small enough to hold (at most `instances x deliveryBatchSize x 4` targets) is read
 * whole and cut evenly into a multiple of `instances` batches, so that every instance posts the
 * same share and no last round is left to a few; a larger one is cut as it is read, each full
 * batch sent within a SendMessageBatch of 10, so that other instances start while it is read.
 *
 * Every batch is saved in the ledger before it is queued or delivered. A split SQS hands out
 * again (the earlier attempt failed or died part-way) cannot cut the audience the same way: the
 * shards answer in another order and subscribers come and go. So it delivers the saved batches
 * as they were cut (the ledger's delivered indexes refer to them), and cuts only the subscribers
 * they do not hold, into batches numbered after them.
 */
import { createOutbox } from './outbox';
import type { WorkerSettings } from './settings';
import { MAX_QUEUE_MESSAGE_BYTES } from '../constants';
import { resumedAfter } from '../publisher/fan-out';
import { QUEUE_MESSAGE_VERSION, type DeliverMessage, type DeliveryTarget, type PublishMessage } from '../queue/messages';
import { sendQueueMessages } from '../queue/sqs';
import type { CutBatch } from '../store/ledger';
import type { SubscriberRef } from '../store/store';

/** Room left in a message for everything but the targets. */
const ENVELOPE_BYTES = 1024;
/** Delivery batches sent per SendMessageBatch request (SQS's maximum), saved by one BatchWriteItem. */
const SEND_GROUP = 10;
/** Groups being saved and queued while the split reads on. */
const GROUPS_IN_FLIGHT = 4;
/** Publishes of up to this many rounds of full batches over every instance are cut evenly. */
const EVEN_CUT_ROUNDS = 4;
/** An even cut makes batches no smaller than this share of `deliveryBatchSize`. */
const EVEN_CUT_MIN_SHARE = 4;

/** Result of a split. */
export interface SplitOutcome {
  /** Batches sent to the queue (those an earlier attempt cut included). */
  readonly queued: number;
  /** Targets over every batch. */
  readonly targets: number;
}

/** The identity of a target's subscription, whatever else the target carries. */
function subscriptionOf(target: DeliveryTarget): string {
  return JSON.stringify([target[0], target[1]]);
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

/**
 * Splits a publish into delivery batches (see the module comment); `onFirst` gets the first batch
 * as soon as it is saved (never called when no subscriber matched).
 * @param earlier the batches earlier attempts of this split saved (empty on the first attempt)
 */
export async function splitPublish(
  settings: WorkerSettings, message: PublishMessage, publishId: string, earlier: readonly CutBatch[], onFirst: (first: DeliverMessage) => void,
): Promise<SplitOutcome> {
  const { path, result, filter, excludeConnectionId, eventId } = message;
  const fixedBytes = ENVELOPE_BYTES + Buffer.byteLength(result) + Buffer.byteLength(publishId) + Buffer.byteLength(path);
  const maxTargetBytes = MAX_QUEUE_MESSAGE_BYTES - fixedBytes;
  const withRegion = settings.router().multiRegion;
  const ledger = settings.ledger();
  const deliverMessage = ({ index, targets: batchTargets }: CutBatch): DeliverMessage => ({
    v: QUEUE_MESSAGE_VERSION, kind: 'deliver', batchId: `${publishId}#${index}`, path, result, targets: batchTargets, ...(eventId === undefined ? {} : { eventId }),
  });
  let queued = 0;
  let total = 0;
  const queue = async (batches: readonly CutBatch[]) => {
    if (batches.length === 0) return;
    await sendQueueMessages(await settings.sqsClient(), settings.queueUrl(), batches.map((batch) => JSON.stringify(deliverMessage(batch))));
    queued += batches.length;
  };
  // The batches an earlier attempt saved go out again as they were: the first is delivered here,
  // the rest queued (the ledger skips what was delivered of them); their subscribers are not cut again.
  const [firstEarlier, ...restEarlier] = [...earlier].sort((a, b) => a.index - b.index);
  const cutBefore = new Set<string>();
  for (const batch of earlier) {
    total += batch.targets.length;
    for (const target of batch.targets) cutBefore.add(subscriptionOf(target));
  }
  let index = earlier.reduce((last, batch) => Math.max(last, batch.index + 1), 0);
  let firstCut = firstEarlier !== undefined;
  if (firstEarlier) onFirst(deliverMessage(firstEarlier));
  await queue(restEarlier);

  let targets: DeliveryTarget[] = [];
  let bytes = 0;
  // Saved before queued: a retry must find every batch that may be delivered.
  const outbox = createOutbox(async (batches) => {
    await ledger.saveCut(publishId, batches, settings.ledgerRetentionSeconds);
    await queue(batches);
  }, SEND_GROUP, GROUPS_IN_FLIGHT);
  const closeBatch = async () => {
    if (targets.length === 0) return;
    const batch: CutBatch = { index: index++, targets };
    targets = [];
    bytes = 0;
    if (!firstCut) {
      firstCut = true;
      await ledger.saveCut(publishId, [batch], settings.ledgerRetentionSeconds);
      onFirst(deliverMessage(batch));
      return;
    }
    await outbox.add(batch);
  };
  const add = async (target: DeliveryTarget, targetBytes: number, batchSize: number) => {
    if (targets.length >= batchSize || bytes + targetBytes > maxTargetBytes) await closeBatch();
    targets.push(target);
    bytes += targetBytes;
  };
  try {
    // Held for an even cut until there are too many to hold (`undefined`: cutting as read).
    let held: Array<[DeliveryTarget, number]> | undefined = settings.instances > 1 ? [] : undefined;
    const holdLimit = settings.instances * settings.deliveryBatchSize * EVEN_CUT_ROUNDS;
    for await (const page of settings.store().findSubscribers(withRegion ? { path, filter, withRegion } : { path, filter })) {
      for (const ref of page) {
        if (ref.connectionId === excludeConnectionId) continue;
        // A subscription that resumed after the event got it in its replay: the rule `publish()`
        // applies while delivering (this read is the publish's subscriber query).
        if (resumedAfter(ref, eventId)) continue;
        const target = deliveryTarget(ref);
        if (cutBefore.size > 0 && cutBefore.has(subscriptionOf(target))) continue;
        const targetBytes = Buffer.byteLength(JSON.stringify(target)) + 1;
        total++;
        if (held) {
          held.push([target, targetBytes]);
          if (held.length <= holdLimit) continue;
          const release = held;
          held = undefined;
          for (const [heldTarget, heldBytes] of release) await add(heldTarget, heldBytes, settings.deliveryBatchSize);
          continue;
        }
        await add(target, targetBytes, settings.deliveryBatchSize);
      }
    }
    if (held) {
      const sizes = evenBatchSizes(held.length, settings.deliveryBatchSize, settings.instances);
      let next = 0;
      for (const size of sizes) {
        for (const [target, targetBytes] of held.slice(next, next + size)) await add(target, targetBytes, size);
        next += size;
        await closeBatch();
      }
    }
    await closeBatch();
    await outbox.flush();
  } finally {
    // A failed split returns only once nothing of it is on its way: its lease is released next,
    // and a retry must read every batch this attempt saved.
    await outbox.settled();
  }
  return { queued, targets: total };
}

/**
 * Sizes of an even cut of `count` targets: a multiple of `instances` batches when that keeps them
 * at least a quarter of `maxSize`, else as many as that minimum allows (never fewer than
 * `count / maxSize`); sizes differ by at most one. @internal
 */
export function evenBatchSizes(count: number, maxSize: number, instances: number): number[] {
  if (count === 0) return [];
  const fewest = Math.ceil(count / maxSize);
  const minSize = Math.max(1, Math.ceil(maxSize / EVEN_CUT_MIN_SHARE));
  const rounded = Math.ceil(fewest / instances) * instances;
  const batches = count / rounded >= minSize ? rounded : Math.max(fewest, Math.floor(count / minSize));
  const size = Math.floor(count / batches);
  const larger = count % batches;
  return Array.from({ length: batches }, (_, index) => (index < larger ? size + 1 : size));
}
