import {
  AlarmStatusWidget, Dashboard, GraphWidget, type IAlarm, type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { TrpcSubscriptionFanOut } from './fan-out-queue';
import type { TrpcSubscriptionDashboardOptions } from './operations-props';
import type { TrpcSubscriptionApiMetrics } from './trpc-subscription-api-metrics';

const WIDTH = 8;
const HEIGHT = 6;

function graph(title: string, left: IMetric[], right: IMetric[] = []): GraphWidget {
  return new GraphWidget({ title, left, right, width: WIDTH, height: HEIGHT });
}

/**
 * The opt-in dashboard of a `TrpcSubscriptionApi` (construct `Dashboard` below it). Rows:
 * traffic (connections, messages, subscriptions), publishing (outcomes, fan-out time, API
 * latency), errors (API, handlers, throttling), with `queuedFanOut` a row for the queue and its
 * worker, and the alarms when there are any. Runtime metrics are left out when `metrics.enabled`
 * is false.
 *
 * @param api the construct whose metrics are shown
 * @param handlers the three handler functions
 * @param alarms the alarms to show as a status row
 * @param options the dashboard's name
 * @param fanOut the queued fan-out, when there is one
 */
export function createDashboard(
  api: TrpcSubscriptionApiMetrics, handlers: readonly IFunction[], alarms: readonly IAlarm[], options: TrpcSubscriptionDashboardOptions,
  fanOut?: TrpcSubscriptionFanOut,
): Dashboard {
  const runtime = (...metrics: IMetric[]) => (api.metricsEnabled ? metrics : []);
  const dashboard = new Dashboard(api, 'Dashboard', { dashboardName: options.dashboardName });
  dashboard.addWidgets(
    graph('Connections', [
      api.metricConnectCount({ label: 'Connect requests' }),
      ...runtime(api.metricConnectionsOpened(), api.metricConnectionsClosed(), api.metricConnectionsRefused()),
    ]),
    graph('Messages and subscriptions', [
      api.metricMessageCount({ label: 'Messages' }),
      ...runtime(api.metricSubscriptionsStarted(), api.metricSubscriptionsStopped(), api.metricSubscriptionsRefused()),
    ]),
    graph('Publishes', runtime(
      api.metricPublishes(), api.metricSubscribersMatched(), api.metricMessagesDelivered(), api.metricConnectionsGone(),
    ), runtime(api.metricPostsFailed(), api.metricPostsThrottled(), api.metricPostsTimedOut())),
  );
  dashboard.addWidgets(
    graph('Latency (ms)', [
      api.metricIntegrationLatency({ statistic: 'p50', label: 'Integration p50' }),
      api.metricIntegrationLatency({ label: 'Integration p99' }),
    ], runtime(api.metricFanOutDuration({ label: 'Fan-out p99' }))),
    graph('API errors', [api.metricClientError(), api.metricIntegrationError(), api.metricExecutionError()]),
    graph(
      'Handlers: errors (left), throttles (right)',
      handlers.map((fn) => fn.metricErrors({ label: `${fn.node.id} errors` })),
      handlers.map((fn) => fn.metricThrottles({ label: `${fn.node.id} throttles` })),
    ),
  );
  dashboard.addWidgets(graph(
    'Handlers: duration p99 (ms)',
    handlers.map((fn) => fn.metricDuration({ statistic: 'p99', label: fn.node.id })),
  ));
  if (fanOut) {
    dashboard.addWidgets(
      graph('Queued fan-out: publishes and batches', runtime(
        api.metricQueuedPublishes(), api.metricDeliveryBatches(), api.metricDeliveryBatchesQueued(), api.metricDeliveryBatchesUnfinished(),
      )),
      graph('Fan-out queue', [
        fanOut.queue.metricApproximateNumberOfMessagesVisible({ label: 'Queued', statistic: 'Maximum' }),
        fanOut.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ label: 'Dead letters', statistic: 'Maximum' }),
      ], [fanOut.queue.metricApproximateAgeOfOldestMessage({ label: 'Oldest message age (s)', statistic: 'Maximum' })]),
      graph(
        'Fan-out worker: errors, throttles (left), duration p99 (right)',
        [fanOut.worker.metricErrors({ label: 'Errors' }), fanOut.worker.metricThrottles({ label: 'Throttles' })],
        [fanOut.worker.metricDuration({ statistic: 'p99', label: 'Duration p99 (ms)' })],
      ),
    );
  }
  if (alarms.length > 0) {
    dashboard.addWidgets(new AlarmStatusWidget({ title: 'Alarms', alarms: [...alarms], width: 3 * WIDTH }));
  }
  return dashboard;
}
