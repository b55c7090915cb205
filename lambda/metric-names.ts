/**
 * The one source of truth for the runtime's CloudWatch metrics: their names and units, the
 * default namespace, the dimensions the construct sets, and the environment variables that
 * configure emission.
 *
 * This module must stay free of imports: the construct (`src/`) names the same metrics in its
 * `metric*()` methods, alarms and dashboard, and the runtime (`lambda/`) prints them as Embedded
 * Metric Format lines inside users' Lambda bundles.
 */

/** A CloudWatch unit the runtime's metrics use (a subset of EMF's units). */
export type RuntimeMetricUnit = 'Count' | 'Milliseconds';

/** Name and unit of one runtime metric. */
export interface RuntimeMetricDefinition {
  /** Metric name in CloudWatch. */
  readonly name: string;
  /** CloudWatch unit. */
  readonly unit: RuntimeMetricUnit;
}

/**
 * Every metric the runtime emits. Counts are summed per period; durations are per publish (the
 * fan-out worker's: per delivery batch). The worker counts the delivery metrics as `publish()`
 * does, plus the queue's own.
 */
export const RUNTIME_METRICS = {
  /** `$connect` accepted (the connection row was written). */
  connectionsOpened: { name: 'ConnectionsOpened', unit: 'Count' },
  /** `$disconnect` handled (the connection's rows were removed). */
  connectionsClosed: { name: 'ConnectionsClosed', unit: 'Count' },
  /** `$connect` refused (`createContext` threw, or the request was invalid). */
  connectionsRefused: { name: 'ConnectionsRefused', unit: 'Count' },
  /** Subscriptions stored and answered with `started`. */
  subscriptionsStarted: { name: 'SubscriptionsStarted', unit: 'Count' },
  /** Subscriptions ended by the client (`subscription.stop`). */
  subscriptionsStopped: { name: 'SubscriptionsStopped', unit: 'Count' },
  /** Subscriptions refused because the connection reached its subscription cap. */
  subscriptionsRefused: { name: 'SubscriptionsRefused', unit: 'Count' },
  /** Calls of `publish()`. */
  publishes: { name: 'Publishes', unit: 'Count' },
  /** Subscriptions a publish matched (before delivery; the fan-out worker counts them when it splits). */
  subscribersMatched: { name: 'SubscribersMatched', unit: 'Count' },
  /** Frames posted to a connection successfully. */
  messagesDelivered: { name: 'MessagesDelivered', unit: 'Count' },
  /** Matched subscriptions whose connection was gone (410); their rows are removed. */
  connectionsGone: { name: 'ConnectionsGone', unit: 'Count' },
  /** Frames that could not be delivered (after retries), other than gone connections. */
  postsFailed: { name: 'PostsFailed', unit: 'Count' },
  /** PostToConnection answers of 429 (each throttled attempt, retried or not). */
  postsThrottled: { name: 'PostsThrottled', unit: 'Count' },
  /** PostToConnection calls that timed out. */
  postsTimedOut: { name: 'PostsTimedOut', unit: 'Count' },
  /** Time from the start of a publish (the worker: of a delivery batch) to its last delivery, in milliseconds. */
  fanOutDuration: { name: 'FanOutDuration', unit: 'Milliseconds' },
  /** Queued publishes (from `enqueue()` or mapped EventBridge events) the fan-out worker split into delivery batches. */
  queuedPublishes: { name: 'QueuedPublishes', unit: 'Count' },
  /** Delivery batches the fan-out worker sent to the queue (for other instances, or to retry its own later). */
  deliveryBatchesQueued: { name: 'DeliveryBatchesQueued', unit: 'Count' },
  /** Delivery batches the fan-out worker posted (each attempt of a batch once). */
  deliveryBatches: { name: 'DeliveryBatches', unit: 'Count' },
  /** Delivery batch attempts that left targets to retry (throttled or failed posts); SQS hands them out again. */
  deliveryBatchesUnfinished: { name: 'DeliveryBatchesUnfinished', unit: 'Count' },
} as const satisfies Record<string, RuntimeMetricDefinition>;

/** Key of a runtime metric in {@link RUNTIME_METRICS}. */
export type RuntimeMetricKey = keyof typeof RUNTIME_METRICS;

/**
 * The CloudWatch name of a runtime metric, from its key alone: the key capitalised. The runtime
 * prints names with this rather than reading {@link RUNTIME_METRICS}, so that a function's bundle
 * does not carry the whole table (about 1 KB minified) for the two or three metrics it counts;
 * the table lists the same names (test/lambda/util/emf.test.ts checks every key).
 */
export function metricNameOf(key: RuntimeMetricKey): string {
  return key[0].toUpperCase() + key.slice(1);
}

/** The CloudWatch unit of a runtime metric, from its key alone: durations in milliseconds, the rest counts (as in {@link RUNTIME_METRICS}). */
export function metricUnitOf(key: RuntimeMetricKey): RuntimeMetricUnit {
  return key.endsWith('Duration') ? 'Milliseconds' : 'Count';
}

/** Namespace of the runtime's metrics unless configured. */
export const DEFAULT_METRICS_NAMESPACE = 'TrpcSubscriptions';

/** Dimension naming the WebSocket API (the same name as in `AWS/ApiGateway`). */
export const API_ID_DIMENSION = 'ApiId';

/** Dimension naming the stage (the same name as in `AWS/ApiGateway`). */
export const STAGE_DIMENSION = 'Stage';

/**
 * Environment variable switching the runtime's metrics: `off` (or `false`, `0`) prints none;
 * anything else, or unset, prints them.
 */
export const METRICS_ENV = 'TRPC_SUBSCRIPTIONS_METRICS';

/** Environment variable holding the metrics namespace. */
export const METRICS_NAMESPACE_ENV = 'TRPC_SUBSCRIPTIONS_METRICS_NAMESPACE';

/**
 * Environment variable holding the metrics' dimensions as a JSON object of names to values
 * (the construct sets `ApiId` and `Stage`, plus any extra dimensions).
 */
export const METRICS_DIMENSIONS_ENV = 'TRPC_SUBSCRIPTIONS_METRICS_DIMENSIONS';

/**
 * Keys every metrics line carries besides its metrics and dimensions, so a dimension cannot use
 * them: Lambda's log-level filter reads `level` and `timestamp` from a JSON line.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html
 */
export const METRICS_LINE_KEYS = ['level', 'timestamp'] as const;

/**
 * CloudWatch accepts at most 30 dimensions per metric.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
export const MAX_METRIC_DIMENSIONS = 30;
