/**
 * Helpers of the queued fan-out tests: a local queue whose handler is a fan-out worker made once
 * the queue's URL is known, with the real SQS client pointed at it, and virtual subscribers (rows
 * in the store, connections in the local gateway that record what is posted to them).
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type { QueueEvent, QueueHandler, SubscriptionStore } from '../../../lambda';
import { LOCAL_AWS_SETTINGS, silentLogger, startLocalQueue, type LocalGateway, type LocalQueue } from '../../../lambda/local';
import type { RequestId } from '../../../lambda/store/store';
import { forEachBounded } from '../../../lambda/util/pool';

/** A local queue feeding a fan-out worker, and the SQS client that reaches it. */
export interface WorkerQueue {
  readonly queue: LocalQueue;
  readonly sqsClient: SQSClient;
  close(): Promise<void>;
}

/** Options of {@link startWorkerQueue}. */
export interface WorkerQueueOptions {
  /** Runs around each worker invocation (e.g. crash injection). */
  readonly around?: (event: QueueEvent, run: () => Promise<unknown>) => Promise<unknown>;
  /** @default 300 (above the workers' lease in these tests, so a crashed batch is taken over) */
  readonly visibilityTimeoutMs?: number;
  /** @default 4 */
  readonly maxReceiveCount?: number;
  /** @default 4 */
  readonly concurrency?: number;
  /** Most messages per worker invocation. @default 10 */
  readonly batchSize?: number;
}

/** Starts a local queue whose handler is the worker `makeWorker` returns (given the queue's URL and client). */
export async function startWorkerQueue(
  makeWorker: (queue: { readonly url: string; readonly sqsClient: SQSClient }) => QueueHandler, options: WorkerQueueOptions = {},
): Promise<WorkerQueue> {
  let worker: QueueHandler | undefined;
  const around = options.around ?? ((_event, run) => run());
  const queue = await startLocalQueue({
    handler: async (event) => around(event, () => worker!(event)) as never,
    visibilityTimeoutMs: options.visibilityTimeoutMs ?? 300,
    maxReceiveCount: options.maxReceiveCount ?? 4,
    concurrency: options.concurrency ?? 4,
    batchSize: options.batchSize ?? 10,
    logger: silentLogger,
  });
  const sqsClient = new SQSClient({ endpoint: queue.endpoint, ...LOCAL_AWS_SETTINGS });
  worker = makeWorker({ url: queue.url, sqsClient });
  return {
    queue,
    sqsClient,
    close: async () => {
      await queue.close();
      sqsClient.destroy();
    },
  };
}

/** What each virtual subscriber's subscription is. */
export interface VirtualSubscription {
  readonly path: string;
  readonly filters: ReadonlyArray<{ readonly name: string; readonly values: readonly string[] }>;
  /** @default 1 */
  readonly subscriptionId?: RequestId;
  /** The subscriptions whose request carried `jsonrpc: "2.0"`. @default none */
  readonly jsonrpc?: (index: number) => boolean;
  /** The Region written on the rows (multi-region). @default none */
  readonly region?: string;
}

/** Subscribers stored at once: hundreds in parallel overrun a loaded machine's DynamoDB Local (calls past their deadline). */
const SUBSCRIBE_CONCURRENCY = 10;

/** Virtual connections of `gateway`, each with one stored subscription; resolves with their ids. */
export async function addVirtualSubscribers(
  gateway: LocalGateway, store: SubscriptionStore, count: number, subscription: VirtualSubscription,
): Promise<string[]> {
  const ids = gateway.virtualConnections.add(count);
  const expireAt = Math.floor(Date.now() / 1000) + 3600;
  const { region } = subscription;
  await forEachBounded([ids.map((connectionId, index) => ({ connectionId, index }))], SUBSCRIBE_CONCURRENCY, async ({ connectionId, index }) => {
    await store.putConnection({
      connectionId, connectedAt: Date.now(), expireAt, awaitingConnectionParams: false, connect: {}, ...(region ? { region } : {}),
    });
    const added = await store.addSubscription({
      connectionId,
      subscriptionId: subscription.subscriptionId ?? 1,
      path: subscription.path,
      expireAt,
      filters: subscription.filters,
      ...(subscription.jsonrpc?.(index) ? { jsonrpc: '2.0' as const } : {}),
      ...(region ? { region } : {}),
    });
    if (added !== 'created') throw new Error(`virtual subscriber ${connectionId}: addSubscription answered ${added}`);
  });
  return ids;
}

/** A data frame as a virtual connection received it, parsed. */
export interface ReceivedFrame {
  readonly id: RequestId;
  readonly jsonrpc?: string;
  readonly result: { readonly type: string; readonly id?: string; readonly data: unknown };
}

/** The data frames a virtual connection received, parsed. */
export function framesOf(gateway: LocalGateway, connectionId: string): ReceivedFrame[] {
  return gateway.virtualConnections.received(connectionId).map((frame) => JSON.parse(frame));
}
