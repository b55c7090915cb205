/**
 * `publisher.routes.<path>.enqueue()`: the same publish as `publish()`, checked and serialized
 * here (on a route with a history, also appended to it, which gives the event its id), then sent
 * to the fan-out queue; it resolves once SQS has stored the message, and the fan-out worker
 * delivers it.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { appendToHistory } from './history';
import type { PublisherOptions } from './options';
import { checkPublishArgs, type PublishArgsRuntime } from './publisher';
import { settlePublisherOptions } from './settings';
import { QUEUE_URL_ENV } from '../constants';
import type { SubscriptionsConfig } from '../core/config';
import { queueUrlFromEnvironment } from '../core/environment';
import { historyOf } from '../core/history';
import { dataResultJson, framesFromResult } from '../protocol/encode';
import { QUEUE_MESSAGE_VERSION, type PublishMessage } from '../queue/messages';
import { defaultSqsClient, sendQueueMessage } from '../queue/sqs';
import type { FilterEntry, SubscriptionStore } from '../store/store';

/** Outcome of `enqueue()`. */
export interface EnqueueResult {
  /** The SQS message id of the queued publish. */
  readonly messageId: string;
  /**
   * The id the route's history gave the event (routes with `.history()`): it was appended before
   * the publish was queued, and clients receive it as the tracked event id.
   * @default - none: the route keeps no history
   */
  readonly eventId?: string;
}

/** Queues a publish to one route. @internal */
export type EnqueueFn = (path: string, args: PublishArgsRuntime) => Promise<EnqueueResult>;

/**
 * Builds the message of a queued publish (checked like `publish()`). On a route with a history the
 * event is appended first, with the conditional write `publish()` makes, and the message carries
 * its id (in `eventId` and in the frames' `result`). @internal
 */
export async function publishMessage(
  config: SubscriptionsConfig, store: () => SubscriptionStore, path: string, args: PublishArgsRuntime,
): Promise<PublishMessage> {
  const filter = checkPublishArgs(config, path, args);
  const history = historyOf(config, path);
  // HISTORY_DEFINE (../constants.ts), written out in full: a bundle without history never appends.
  if (process.env.TRPC_SUBSCRIPTIONS_HISTORY !== 'off' && history) {
    const { result, eventId } = await appendToHistory(store(), config, path, args, filter, history);
    return queuedMessage(path, result, args, filter, eventId);
  }
  const result = dataResultJson(config, args.data, args.id);
  // Refuses a frame over API Gateway's message quota now, not in the worker.
  framesFromResult(path, result);
  return queuedMessage(path, result, args, filter, undefined);
}

/**
 * The message of a publish to a route with a history whose event was appended before as `eventId`
 * (the fan-out worker's retry of a mapped EventBridge event): the same message, appended nothing. @internal
 */
export function appendedPublishMessage(config: SubscriptionsConfig, path: string, args: PublishArgsRuntime, eventId: string): PublishMessage {
  const filter = checkPublishArgs(config, path, args);
  return queuedMessage(path, dataResultJson(config, args.data, eventId), args, filter, eventId);
}

function queuedMessage(
  path: string, result: string, args: PublishArgsRuntime, filter: FilterEntry | undefined, eventId: string | undefined,
): PublishMessage {
  return {
    v: QUEUE_MESSAGE_VERSION,
    kind: 'publish',
    path,
    result,
    ...(filter ? { filter } : {}),
    ...(args.excludeConnectionId === undefined ? {} : { excludeConnectionId: args.excludeConnectionId }),
    ...(eventId === undefined ? {} : { eventId }),
  };
}

/** Creates the function behind `publisher.routes.<path>.enqueue()`. @internal */
export function createEnqueueFn(config: SubscriptionsConfig, options: PublisherOptions = {}): EnqueueFn {
  const settings = settlePublisherOptions(config, options);
  return async (path, args) => {
    const queueUrl = options.queueUrl ?? queueUrlFromEnvironment();
    if (!queueUrl) {
      // Checked first: nothing is appended to a history for a publish that cannot be queued.
      checkPublishArgs(config, path, args);
      throw new Error(`Enqueue to "${path}": no fan-out queue; pass \`queueUrl\` to publisher() or set ${QUEUE_URL_ENV} (the construct's \`queuedFanOut\`)`);
    }
    const message = await publishMessage(config, settings.store, path, args);
    const client: SQSClient = options.sqsClient ?? await defaultSqsClient();
    const messageId = await sendQueueMessage(client, queueUrl, JSON.stringify(message));
    return message.eventId === undefined ? { messageId } : { messageId, eventId: message.eventId };
  };
}
