/**
 * `publisher.routes.<path>.enqueue()`: the same publish as `publish()`, checked and serialized
 * here, then sent to the fan-out queue; it resolves once SQS has stored the message, and the
 * fan-out worker delivers it.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { PublisherOptions } from './options';
import { checkPublishArgs, type PublishArgsRuntime } from './publisher';
import { QUEUE_URL_ENV } from '../constants';
import type { SubscriptionsConfig } from '../core/config';
import { queueUrlFromEnvironment } from '../core/environment';
import { historyOf } from '../core/history';
import { dataResultJson, framesFromResult } from '../protocol/encode';
import { QUEUE_MESSAGE_VERSION, type PublishMessage } from '../queue/messages';
import { defaultSqsClient, sendQueueMessage } from '../queue/sqs';

/** Outcome of `enqueue()`. */
export interface EnqueueResult {
  /** The SQS message id of the queued publish. */
  readonly messageId: string;
}

/** Queues a publish to one route. @internal */
export type EnqueueFn = (path: string, args: PublishArgsRuntime) => Promise<EnqueueResult>;

/** Builds the message of a queued publish (checked like `publish()`). @internal */
export function publishMessage(config: SubscriptionsConfig, path: string, args: PublishArgsRuntime): PublishMessage {
  const filter = checkPublishArgs(config, path, args);
  if (historyOf(config, path)) {
    throw new Error(`Enqueue to "${path}": the route keeps a history (\`.history()\`), which queued publishes do not append to; use publish()`);
  }
  const result = dataResultJson(config, args.data, args.id);
  // Refuses a frame over API Gateway's message quota now, not in the worker.
  framesFromResult(path, result);
  return {
    v: QUEUE_MESSAGE_VERSION,
    kind: 'publish',
    path,
    result,
    ...(filter ? { filter } : {}),
    ...(args.excludeConnectionId === undefined ? {} : { excludeConnectionId: args.excludeConnectionId }),
  };
}

/** Creates the function behind `publisher.routes.<path>.enqueue()`. @internal */
export function createEnqueueFn(config: SubscriptionsConfig, options: PublisherOptions = {}): EnqueueFn {
  return async (path, args) => {
    const message = publishMessage(config, path, args);
    const queueUrl = options.queueUrl ?? queueUrlFromEnvironment();
    if (!queueUrl) {
      throw new Error(`Enqueue to "${path}": no fan-out queue; pass \`queueUrl\` to publisher() or set ${QUEUE_URL_ENV} (the construct's \`queuedFanOut\`)`);
    }
    const client: SQSClient = options.sqsClient ?? await defaultSqsClient();
    return { messageId: await sendQueueMessage(client, queueUrl, JSON.stringify(message)) };
  };
}
