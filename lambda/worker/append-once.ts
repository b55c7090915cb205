/**
 * Publishes that an EventBridge mapping makes to a route with a history are appended by the
 * worker. SQS hands a message out again when its handling failed, so the append is recorded in
 * the ledger (`{publish id}#append`, the event's sequence number as its one delivered index): a
 * retry rebuilds the same message with that event id instead of appending the event again. Only a
 * crash between the append and that record (two consecutive requests) can append it twice.
 */
import type { WorkerSettings } from './settings';
import type { SubscriptionsConfig } from '../core/config';
import { appendedPublishMessage, publishMessage } from '../publisher/enqueue';
import type { PublishArgsRuntime } from '../publisher/publisher';
import type { PublishMessage } from '../queue/messages';
import { formatEventId, parseEventId } from '../store/history';

/** The message of a mapped publish to a route with a history, appended once across retries of `publishId`. */
export async function appendOnce(
  settings: WorkerSettings, config: SubscriptionsConfig, path: string, args: PublishArgsRuntime, publishId: string,
): Promise<PublishMessage> {
  const ledger = settings.ledger();
  const key = `${publishId}#append`;
  const claim = await ledger.claim(key, settings.leaseMs);
  if (claim.busy) throw new Error(`the history append of ${publishId} is in progress in another worker`);
  const [appended] = claim.delivered;
  if (appended !== undefined) {
    await ledger.record(key, [], true, settings.ledgerRetentionSeconds);
    return appendedPublishMessage(config, path, args, formatEventId(appended));
  }
  let message: PublishMessage;
  try {
    message = await publishMessage(config, settings.store, path, args);
  } catch (error) {
    await ledger.record(key, [], false, settings.ledgerRetentionSeconds);
    throw error;
  }
  await ledger.record(key, [parseEventId(message.eventId)!], true, settings.ledgerRetentionSeconds);
  return message;
}
