/**
 * `dev`'s fan-out queue: when the handlers module exports `worker` (the construct's
 * `queuedFanOut.handlerName` default), a local queue with SQS semantics (`queue.ts`) feeds it, and
 * the environment points `enqueue()` and the worker's SQS client at it, as the construct's
 * `queuedFanOut` does on AWS. The queue speaks the SQS JSON protocol on loopback, so a publish
 * script in another terminal can enqueue too.
 */
import { QUEUE_URL_ENV } from '../constants';
import type { LocalLogger } from './logger';
import { startLocalQueue, type LocalQueue, type LocalQueueOptions } from './queue';
import type { QueueBatchResponse, QueueEvent } from '../queue/sqs-event';

/** A running dev queue and the variables that reach it. */
export interface DevQueue {
  readonly queue: LocalQueue;
  /** `TRPC_SUBSCRIPTIONS_QUEUE_URL` and `AWS_ENDPOINT_URL_SQS`. */
  readonly env: Readonly<Record<string, string>>;
}

/** Starts the queue; `worker()` is the module's current `worker` export (a reload may swap it). */
export async function startDevQueue(options: {
  readonly worker: () => ((event: QueueEvent) => Promise<QueueBatchResponse | void>) | undefined;
  readonly logger: LocalLogger;
  readonly onEvent?: LocalQueueOptions['onEvent'];
}): Promise<DevQueue> {
  const queue = await startLocalQueue({
    handler: async (event) => {
      const worker = options.worker();
      // Failed, not dropped: the messages come back after the visibility timeout, as on AWS.
      if (!worker) throw new Error('The handlers module no longer exports `worker`');
      return worker(event);
    },
    logger: options.logger,
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  });
  return { queue, env: { [QUEUE_URL_ENV]: queue.url, AWS_ENDPOINT_URL_SQS: queue.endpoint } };
}
