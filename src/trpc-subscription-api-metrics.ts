import { Duration, Stack } from 'aws-cdk-lib';
import type { IWebSocketApi, IWebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { Metric, type MetricOptions } from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import type { TrpcSubscriptionOperationsProps } from './operations-props';
import {
  API_ID_DIMENSION, DEFAULT_METRICS_NAMESPACE, METRICS_DIMENSIONS_ENV, METRICS_ENV, METRICS_NAMESPACE_ENV, RUNTIME_METRICS,
  STAGE_DIMENSION, type RuntimeMetricKey,
} from '../lambda/metric-names';

const FIVE_MINUTES = Duration.minutes(5);

/**
 * The metrics of a {@link TrpcSubscriptionApi}: the runtime's own (printed by the handlers and
 * publishers in Embedded Metric Format, named in `lambda/metric-names.ts`) and the WebSocket
 * API's `AWS/ApiGateway` metrics of the stage. Every method returns a `cloudwatch.Metric` with
 * a 5-minute period; counts are sums, latencies the p99 unless `props` says otherwise.
 */
export abstract class TrpcSubscriptionApiMetrics extends Construct {
  /** The WebSocket API. */
  public abstract readonly webSocketApi: IWebSocketApi;
  /** The stage clients connect to. */
  public abstract readonly stage: IWebSocketStage;
  /** Whether the runtime prints its metrics (the `metrics.enabled` prop). */
  public readonly metricsEnabled: boolean;
  /** CloudWatch namespace of the runtime's metrics. */
  public readonly metricsNamespace: string;
  private readonly extraDimensions: Record<string, string>;

  protected constructor(scope: Construct, id: string, props: TrpcSubscriptionOperationsProps) {
    super(scope, id);
    this.metricsEnabled = props.metrics?.enabled ?? true;
    this.metricsNamespace = props.metrics?.namespace ?? DEFAULT_METRICS_NAMESPACE;
    this.extraDimensions = { ...props.metrics?.dimensions };
  }

  /** Dimensions of every runtime metric: `ApiId`, `Stage` and the extra `metrics.dimensions`. */
  public get metricsDimensions(): Record<string, string> {
    return {
      ...this.extraDimensions,
      [API_ID_DIMENSION]: this.webSocketApi.apiId,
      [STAGE_DIMENSION]: this.stage.stageName,
    };
  }

  /**
   * A runtime metric by its key in `RUNTIME_METRICS`, in this API's namespace and dimensions.
   * @param key e.g. `'connectionsOpened'`
   * @param props overrides (statistic, period, label...)
   */
  public metricRuntime(key: RuntimeMetricKey, props?: MetricOptions): Metric {
    const definition = RUNTIME_METRICS[key];
    return new Metric({
      namespace: this.metricsNamespace,
      metricName: definition.name,
      dimensionsMap: this.metricsDimensions,
      statistic: definition.unit === 'Count' ? 'Sum' : 'p99',
      period: FIVE_MINUTES,
      ...props,
    });
  }

  /** Connections accepted by `$connect` (`ConnectionsOpened`, sum). */
  public metricConnectionsOpened(props?: MetricOptions): Metric {
    return this.metricRuntime('connectionsOpened', props);
  }

  /** Connections whose `$disconnect` was handled (`ConnectionsClosed`, sum). */
  public metricConnectionsClosed(props?: MetricOptions): Metric {
    return this.metricRuntime('connectionsClosed', props);
  }

  /** Connections refused by `$connect` (`ConnectionsRefused`, sum). */
  public metricConnectionsRefused(props?: MetricOptions): Metric {
    return this.metricRuntime('connectionsRefused', props);
  }

  /** Subscriptions started (`SubscriptionsStarted`, sum). */
  public metricSubscriptionsStarted(props?: MetricOptions): Metric {
    return this.metricRuntime('subscriptionsStarted', props);
  }

  /** Subscriptions stopped by clients (`SubscriptionsStopped`, sum). */
  public metricSubscriptionsStopped(props?: MetricOptions): Metric {
    return this.metricRuntime('subscriptionsStopped', props);
  }

  /** Subscriptions refused at the per-connection cap (`SubscriptionsRefused`, sum). */
  public metricSubscriptionsRefused(props?: MetricOptions): Metric {
    return this.metricRuntime('subscriptionsRefused', props);
  }

  /** Calls of `publish()` (`Publishes`, sum). */
  public metricPublishes(props?: MetricOptions): Metric {
    return this.metricRuntime('publishes', props);
  }

  /** Subscriptions matched by publishes (`SubscribersMatched`, sum). */
  public metricSubscribersMatched(props?: MetricOptions): Metric {
    return this.metricRuntime('subscribersMatched', props);
  }

  /** Frames delivered by publishes (`MessagesDelivered`, sum). */
  public metricMessagesDelivered(props?: MetricOptions): Metric {
    return this.metricRuntime('messagesDelivered', props);
  }

  /** Matched subscriptions whose connection was gone (`ConnectionsGone`, sum). */
  public metricConnectionsGone(props?: MetricOptions): Metric {
    return this.metricRuntime('connectionsGone', props);
  }

  /** Frames that could not be delivered (`PostsFailed`, sum). */
  public metricPostsFailed(props?: MetricOptions): Metric {
    return this.metricRuntime('postsFailed', props);
  }

  /** Throttled `PostToConnection` attempts (`PostsThrottled`, sum). */
  public metricPostsThrottled(props?: MetricOptions): Metric {
    return this.metricRuntime('postsThrottled', props);
  }

  /** `PostToConnection` calls that timed out (`PostsTimedOut`, sum). */
  public metricPostsTimedOut(props?: MetricOptions): Metric {
    return this.metricRuntime('postsTimedOut', props);
  }

  /** Duration of a publish's fan-out (the fan-out worker's: of a delivery batch) in milliseconds (`FanOutDuration`, p99). */
  public metricFanOutDuration(props?: MetricOptions): Metric {
    return this.metricRuntime('fanOutDuration', props);
  }

  /** Queued publishes the fan-out worker split into delivery batches (`QueuedPublishes`, sum; `queuedFanOut`). */
  public metricQueuedPublishes(props?: MetricOptions): Metric {
    return this.metricRuntime('queuedPublishes', props);
  }

  /** Delivery batches the fan-out worker sent to the queue (`DeliveryBatchesQueued`, sum; `queuedFanOut`). */
  public metricDeliveryBatchesQueued(props?: MetricOptions): Metric {
    return this.metricRuntime('deliveryBatchesQueued', props);
  }

  /** Delivery batch attempts of the fan-out worker (`DeliveryBatches`, sum; `queuedFanOut`). */
  public metricDeliveryBatches(props?: MetricOptions): Metric {
    return this.metricRuntime('deliveryBatches', props);
  }

  /** Delivery batch attempts that left targets to retry (`DeliveryBatchesUnfinished`, sum; `queuedFanOut`). */
  public metricDeliveryBatchesUnfinished(props?: MetricOptions): Metric {
    return this.metricRuntime('deliveryBatchesUnfinished', props);
  }

  /**
   * A metric of the stage in `AWS/ApiGateway` (dimensions `ApiId` and `Stage`), sum by default.
   * @param metricName e.g. `'ConnectCount'`
   * @param props overrides (statistic, period, label...)
   * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-logging.html
   */
  public metricApi(metricName: string, props?: MetricOptions): Metric {
    return new Metric({
      namespace: 'AWS/ApiGateway',
      metricName,
      dimensionsMap: { [API_ID_DIMENSION]: this.webSocketApi.apiId, [STAGE_DIMENSION]: this.stage.stageName },
      statistic: 'Sum',
      period: FIVE_MINUTES,
      ...props,
    });
  }

  /** Connection requests sent to `$connect` (`ConnectCount`, sum). */
  public metricConnectCount(props?: MetricOptions): Metric {
    return this.metricApi('ConnectCount', props);
  }

  /** Messages sent to the routes, from clients (`MessageCount`, sum). */
  public metricMessageCount(props?: MetricOptions): Metric {
    return this.metricApi('MessageCount', props);
  }

  /** Requests answered with 4XX before the integration ran (`ClientError`, sum). */
  public metricClientError(props?: MetricOptions): Metric {
    return this.metricApi('ClientError', props);
  }

  /** Integration answers that were errors (`IntegrationError`, sum). */
  public metricIntegrationError(props?: MetricOptions): Metric {
    return this.metricApi('IntegrationError', props);
  }

  /** Errors while running an integration (`ExecutionError`, sum). */
  public metricExecutionError(props?: MetricOptions): Metric {
    return this.metricApi('ExecutionError', props);
  }

  /** Time from request to integration answer in milliseconds (`IntegrationLatency`, p99). */
  public metricIntegrationLatency(props?: MetricOptions): Metric {
    return this.metricApi('IntegrationLatency', { statistic: 'p99', ...props });
  }

  /**
   * The environment that configures the runtime's metrics like this construct's `metric*()`
   * methods: the off switch, the namespace and the dimensions as JSON.
   */
  protected metricsEnvironment(): Record<string, string> {
    if (!this.metricsEnabled) {
      return { [METRICS_ENV]: 'off' };
    }
    return {
      [METRICS_NAMESPACE_ENV]: this.metricsNamespace,
      [METRICS_DIMENSIONS_ENV]: Stack.of(this).toJsonString(this.metricsDimensions),
    };
  }
}
