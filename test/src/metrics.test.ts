import { Stack } from 'aws-cdk-lib';
import type { Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { logicalId, realtimeStack } from './helpers';
import { RUNTIME_METRICS, type RuntimeMetricKey } from '../../lambda/metric-names';
import type { TrpcSubscriptionApi } from '../../src';

/** The metric*() method of each runtime metric, by its key in RUNTIME_METRICS. */
const RUNTIME_METHODS: Record<RuntimeMetricKey, (api: TrpcSubscriptionApi) => Metric> = {
  connectionsOpened: (api) => api.metricConnectionsOpened(),
  connectionsClosed: (api) => api.metricConnectionsClosed(),
  connectionsRefused: (api) => api.metricConnectionsRefused(),
  subscriptionsStarted: (api) => api.metricSubscriptionsStarted(),
  subscriptionsStopped: (api) => api.metricSubscriptionsStopped(),
  subscriptionsRefused: (api) => api.metricSubscriptionsRefused(),
  publishes: (api) => api.metricPublishes(),
  subscribersMatched: (api) => api.metricSubscribersMatched(),
  messagesDelivered: (api) => api.metricMessagesDelivered(),
  connectionsGone: (api) => api.metricConnectionsGone(),
  postsFailed: (api) => api.metricPostsFailed(),
  postsThrottled: (api) => api.metricPostsThrottled(),
  postsTimedOut: (api) => api.metricPostsTimedOut(),
  fanOutDuration: (api) => api.metricFanOutDuration(),
  queuedPublishes: (api) => api.metricQueuedPublishes(),
  deliveryBatchesQueued: (api) => api.metricDeliveryBatchesQueued(),
  deliveryBatches: (api) => api.metricDeliveryBatches(),
  deliveryBatchesUnfinished: (api) => api.metricDeliveryBatchesUnfinished(),
};

describe('runtime metrics', () => {
  test.each(Object.keys(RUNTIME_METRICS) as RuntimeMetricKey[])('GIVEN %s WHEN its metric*() method is called THEN it names the runtime metric in the namespace and dimensions', (key) => {
    const { stack, realtime } = realtimeStack({ stageName: 'live', metrics: { dimensions: { Team: 'chat' } } });

    const metric = RUNTIME_METHODS[key](realtime);

    expect(metric.namespace).toBe('TrpcSubscriptions');
    expect(metric.metricName).toBe(RUNTIME_METRICS[key].name);
    expect(stack.resolve(metric.dimensions)).toEqual({
      ApiId: { Ref: logicalId(stack, realtime.webSocketApi) }, Stage: 'live', Team: 'chat',
    });
    expect(metric.period.toMinutes()).toBe(5);
    expect(metric.statistic).toBe(RUNTIME_METRICS[key].unit === 'Count' ? 'Sum' : 'p99');
  });

  test('GIVEN a custom namespace WHEN a metric is made THEN it is in that namespace', () => {
    const { realtime } = realtimeStack({ metrics: { namespace: 'Acme/Chat' } });

    expect(realtime.metricPublishes().namespace).toBe('Acme/Chat');
    expect(realtime.metricsNamespace).toBe('Acme/Chat');
  });

  test('GIVEN options WHEN a metric is made THEN they override the defaults', () => {
    const { realtime } = realtimeStack();

    const metric = realtime.metricFanOutDuration({ statistic: 'p50', label: 'median' });

    expect(metric.statistic).toBe('p50');
    expect(metric.label).toBe('median');
  });
});

describe('WebSocket API metrics', () => {
  const cases: Array<[string, (api: TrpcSubscriptionApi) => Metric, string]> = [
    ['ConnectCount', (api) => api.metricConnectCount(), 'Sum'],
    ['MessageCount', (api) => api.metricMessageCount(), 'Sum'],
    ['ClientError', (api) => api.metricClientError(), 'Sum'],
    ['IntegrationError', (api) => api.metricIntegrationError(), 'Sum'],
    ['ExecutionError', (api) => api.metricExecutionError(), 'Sum'],
    ['IntegrationLatency', (api) => api.metricIntegrationLatency(), 'p99'],
  ];

  test.each(cases)('GIVEN %s WHEN its metric*() method is called THEN it is the AWS/ApiGateway metric of this API and stage', (name, method, statistic) => {
    const { stack, realtime } = realtimeStack();

    const metric = method(realtime);

    expect(metric.namespace).toBe('AWS/ApiGateway');
    expect(metric.metricName).toBe(name);
    expect(metric.statistic).toBe(statistic);
    expect(Stack.of(realtime).resolve(metric.dimensions)).toEqual({ ApiId: { Ref: logicalId(stack, realtime.webSocketApi) }, Stage: 'prod' });
  });
});
