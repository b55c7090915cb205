import type { SQSClient } from '@aws-sdk/client-sqs';
import type { ManagementClientFactory } from '../management/client';
import type { DeliveryLedger } from '../store/ledger';
import type { SubscriptionStore } from '../store/store';
import type { MetricsOptions } from '../util/emf';
import type { Logger } from '../util/logger';

/** Options of `appSubscriptions.worker()`, the fan-out worker consuming the queue. */
export interface WorkerOptions {
  /**
   * The store to read subscribers from.
   * @default - the builder's store, else the default store
   */
  readonly store?: SubscriptionStore;
  /**
   * Where delivery progress is kept, so that a retried batch sends only what was not delivered.
   * @default - `dynamodbLedger()` on the subscriptions table (`memoryLedger()` with `TRPC_SUBSCRIPTIONS_STORE=memory`)
   */
  readonly ledger?: DeliveryLedger;
  /**
   * Management API endpoint (the stage's callback URL). In a multi-region set-up (`.regions()` or
   * the construct's `multiRegion`) each target is posted through its connection's Region's
   * endpoint instead, as `publish()` does.
   * @default - `TRPC_SUBSCRIPTIONS_ENDPOINT`
   */
  readonly endpoint?: string;
  /**
   * Creates the Management API client.
   * @default - one `ApiGatewayManagementApiClient` per endpoint
   */
  readonly managementClient?: ManagementClientFactory;
  /**
   * URL of the fan-out queue (delivery batches are sent there).
   * @default - `TRPC_SUBSCRIPTIONS_QUEUE_URL`
   */
  readonly queueUrl?: string;
  /**
   * The SQS client.
   * @default - one `SQSClient` per Lambda instance
   */
  readonly sqsClient?: SQSClient;
  /**
   * Most PostToConnection calls in flight per invocation.
   * @default 50
   */
  readonly concurrency?: number;
  /**
   * Targets per delivery batch: a fan-out larger than this is split into batches on the queue,
   * which worker instances deliver in parallel (1 to 1000).
   * @default - `TRPC_SUBSCRIPTIONS_DELIVERY_BATCH_SIZE` (the construct's `queuedFanOut.deliveryBatchSize`), else 100
   */
  readonly deliveryBatchSize?: number;
  /**
   * Worker instances that may run at once (the queue event source's maximum concurrency). A
   * publish with at most `instances x deliveryBatchSize x 4` targets is read whole, then cut into a
   * multiple of `instances` batches of even size (none above `deliveryBatchSize`), so that every
   * instance posts the same share and the last round is not left to a few; a larger one is cut
   * as it is read, in batches of `deliveryBatchSize`.
   * @default - `TRPC_SUBSCRIPTIONS_WORKER_INSTANCES` (the construct's `queuedFanOut.maxConcurrency`), else 1
   */
  readonly instances?: number;
  /**
   * Most PostToConnection calls per second of one worker instance; throttling (429) lowers the
   * pace further and it recovers gradually.
   * @default - `TRPC_SUBSCRIPTIONS_WORKER_RATE` (set by the construct from `connectionsQuotaShare`), else unpaced
   */
  readonly maxPostsPerSecond?: number;
  /**
   * Attempts per frame within one delivery (the SDK retry strategy: throttling, 5xx, network
   * errors); what is still throttled after them is retried by the queue, never dropped.
   * @default 5
   */
  readonly maxAttempts?: number;
  /**
   * How long a worker holds a batch before another may take it over, when the invocation's
   * remaining time is unknown (in Lambda the lease is the remaining time plus a second). Keep it
   * below the queue's visibility timeout and above the time a batch takes.
   * @default 60000
   */
  readonly leaseMs?: number;
  /**
   * Receives failed deliveries and worker errors.
   * @default - JSON lines on stderr
   */
  readonly logger?: Logger;
  /**
   * The worker's CloudWatch metrics: one Embedded Metric Format line per invocation, with the
   * publisher's delivery metrics and the queue's own (`QueuedPublishes`, `DeliveryBatches`...).
   * @default - on, with the namespace and dimensions of `TRPC_SUBSCRIPTIONS_METRICS*` (set by
   *   the construct), else namespace 'TrpcSubscriptions' and no dimensions
   */
  readonly metrics?: MetricsOptions;
}
