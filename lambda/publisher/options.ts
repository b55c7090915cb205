import type { SQSClient } from '@aws-sdk/client-sqs';
import type { ManagementClientFactory } from '../management/client';
import type { SubscriptionStore } from '../store/store';
import type { MetricsOptions } from '../util/emf';
import type { Logger } from '../util/logger';

/** Retry policy for throttled PostToConnection calls (429 LimitExceeded, throttling). */
export interface RetryOptions {
  /**
   * Attempts per frame, including the first.
   * @default 5
   */
  readonly maxAttempts?: number;
  /**
   * Base of the exponential backoff, in milliseconds (full jitter: a random delay up to
   * `min(maxDelayMs, baseDelayMs * 2^attempt)`).
   * @default 50
   */
  readonly baseDelayMs?: number;
  /**
   * Longest delay between attempts, in milliseconds.
   * @default 2000
   */
  readonly maxDelayMs?: number;
}

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
   * Creates the Management API client.
   * @default - the `$default` invocation's client, else one `ApiGatewayManagementApiClient` per endpoint
   */
  readonly managementClient?: ManagementClientFactory;
  /**
   * Most PostToConnection calls in flight per publish.
   * @default 50
   */
  readonly concurrency?: number;
  /**
   * Retries of throttled sends.
   * @default - 5 attempts, 50 ms base, 2 s cap, full jitter
   */
  readonly retry?: RetryOptions;
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
