import type { SQSClient } from '@aws-sdk/client-sqs';
import type { ManagementClientFactory } from '../management/client';
import type { RetryOptions, TimeoutOptions } from '../management/options';
import type { SubscriptionStore } from '../store/store';
import type { MetricsOptions } from '../util/emf';
import type { Logger } from '../util/logger';

export type { RetryOptions, TimeoutOptions } from '../management/options';

/** Options of `appSubscriptions.publisher()`. */
export interface PublisherOptions {
  /**
   * Management API endpoint (the stage's callback URL).
   * @default - `TRPC_SUBSCRIPTIONS_ENDPOINT`, else the endpoint of the `$default` invocation in progress
   */
  readonly endpoint?: string;
  /**
   * The store to read subscribers from.
   * @default - inside a `$default` invocation its handler's store, else the builder's, else the
   * default store (`dynamodb()`, or `memory()` when `TRPC_SUBSCRIPTIONS_STORE=memory`)
   */
  readonly store?: SubscriptionStore;
  /**
   * Creates the Management API client. Its own retry strategy and HTTP timeouts apply (`retry`
   * and the connection and request timeouts configure the default clients only); `callTimeoutMs`
   * bounds every call whatever the client.
   * @default - the `$default` invocation's client, else one `ApiGatewayManagementApiClient` per
   * endpoint with `retry` and `timeouts`
   */
  readonly managementClient?: ManagementClientFactory;
  /**
   * Most PostToConnection calls in flight per publish.
   * @default 50
   */
  readonly concurrency?: number;
  /**
   * Retries of PostToConnection: throttling (429), transient 5xx and network errors (ECONNRESET,
   * socket hang up), with the SDK's standard retry strategy on this backoff; never 410 or 413.
   * @default - 5 attempts, 50 ms base, 2 s cap, full jitter
   */
  readonly retry?: RetryOptions;
  /**
   * Timeouts of PostToConnection, so that a publish cannot hang: a delivery that does not settle
   * within `callTimeoutMs` is reported in `failures` as a `TimeoutError`.
   * @default - connection 1 s, request 3 s, whole call (retries included) 6 s
   */
  readonly timeouts?: TimeoutOptions;
  /**
   * Receives failed deliveries.
   * @default - JSON lines on stderr
   */
  readonly logger?: Logger;
  /**
   * The publisher's CloudWatch metrics: one Embedded Metric Format line per publish.
   * @default - on, with the namespace and dimensions of `TRPC_SUBSCRIPTIONS_METRICS*` (set by
   *   the construct and `grantPublish`), else namespace 'TrpcSubscriptions' and no dimensions
   */
  readonly metrics?: MetricsOptions;
  /**
   * URL of the fan-out queue that `enqueue()` sends to.
   * @default - `TRPC_SUBSCRIPTIONS_QUEUE_URL` (set by the construct's `queuedFanOut` on `grantPublish` grantees)
   */
  readonly queueUrl?: string;
  /**
   * The SQS client of `enqueue()`.
   * @default - one `SQSClient` per Lambda instance (the SDK's standard retries)
   */
  readonly sqsClient?: SQSClient;
}
