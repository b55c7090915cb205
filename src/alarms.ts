import { Duration } from 'aws-cdk-lib';
import {
  Alarm, ComparisonOperator, MathExpression, TreatMissingData, type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { TrpcSubscriptionFanOut } from './fan-out-queue';
import type { TrpcSubscriptionAlarmOptions } from './operations-props';
import type { TrpcSubscriptionApiMetrics } from './trpc-subscription-api-metrics';

/** One alarm to create: what it watches and what its description tells the person paged. */
interface AlarmSpec {
  readonly id: string;
  readonly metric: IMetric;
  readonly threshold: number;
  readonly datapoints?: number;
  readonly description: string;
}

/**
 * The opt-in alarms of a `TrpcSubscriptionApi`, in a construct `Alarms` below it. Each alarm's
 * description says what to look at first (README, "Operating it").
 *
 * @param api the construct whose metrics are watched
 * @param handlers the three handler functions
 * @param options thresholds and actions
 * @param fanOut the queued fan-out, when there is one (its worker and dead-letter queue are watched too)
 * @returns the alarms, in a stable order
 */
export function createAlarms(
  api: TrpcSubscriptionApiMetrics, handlers: readonly IFunction[], options: TrpcSubscriptionAlarmOptions, fanOut?: TrpcSubscriptionFanOut,
): Alarm[] {
  const scope = new Construct(api, 'Alarms');
  const sumOfHandlers = (label: string, metric: (fn: IFunction) => IMetric) => new MathExpression({
    expression: handlers.map((_, i) => `m${i}`).join(' + '),
    usingMetrics: Object.fromEntries(handlers.map((fn, i) => [`m${i}`, metric(fn)])),
    label,
    period: Duration.minutes(5),
  });
  const specs: AlarmSpec[] = [
    {
      id: 'HandlerErrors',
      metric: sumOfHandlers('Handler errors', (fn) => fn.metricErrors({ period: Duration.minutes(5) })),
      threshold: options.handlerErrors ?? 1,
      description: 'tRPC subscription handlers threw. Read the handlers\' error log lines (level error) '
        + 'for the route, connection id and request id; check DynamoDB and the Management API.',
    },
    {
      id: 'HandlerThrottles',
      metric: sumOfHandlers('Handler throttles', (fn) => fn.metricThrottles({ period: Duration.minutes(5) })),
      threshold: options.handlerThrottles ?? 1,
      description: 'Lambda throttled tRPC subscription handlers: raise reservedConcurrency of the route '
        + 'or the account\'s concurrency quota.',
    },
    {
      id: 'ExecutionErrors',
      metric: api.metricExecutionError(),
      threshold: options.executionErrors ?? 1,
      description: 'API Gateway could not run a route\'s integration. Check the stage\'s access log '
        + '(errorMessage, integrationError) and the handlers\' permissions.',
    },
    {
      id: 'IntegrationErrors',
      metric: api.metricIntegrationError(),
      threshold: options.integrationErrors ?? 5,
      description: 'Handlers answered API Gateway with errors or timed out. Check HandlerErrors, '
        + 'the handlers\' Duration against their timeout, and the access log.',
    },
    {
      id: 'IntegrationLatency',
      metric: api.metricIntegrationLatency(),
      threshold: (options.integrationLatencyP99 ?? Duration.seconds(1)).toMilliseconds(),
      datapoints: 2,
      description: 'p99 integration latency is above the clients\' PONG timeout: cold starts or slow '
        + 'DynamoDB. Raise memorySize, check throttling and the table\'s latency.',
    },
  ];
  if (api.metricsEnabled) {
    specs.push(
      {
        id: 'PostsFailed',
        metric: api.metricPostsFailed(),
        threshold: options.postsFailed ?? 1,
        description: 'Published frames could not be delivered (not gone connections). Read the '
          + '"publish could not be delivered" log lines for the status code.',
      },
      {
        id: 'PostsThrottled',
        metric: api.metricPostsThrottled(),
        threshold: options.postsThrottled ?? 10,
        description: 'The @connections API throttled PostToConnection: publishes exceed the account\'s '
          + 'API Gateway request rate. Lower the publisher\'s concurrency or ask for a quota increase.',
      },
      {
        id: 'SubscriptionsRefused',
        metric: api.metricSubscriptionsRefused(),
        threshold: options.subscriptionsRefused ?? 10,
        description: 'Connections hit the per-connection subscription cap: a client leaks subscriptions '
          + 'or the cap is too low for the app.',
      },
    );
  }
  if (fanOut) {
    specs.push(
      {
        id: 'FanOutDeadLetters',
        metric: fanOut.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
        threshold: options.fanOutDeadLetters ?? 1,
        description: 'Queued publishes or delivery batches reached the fan-out dead-letter queue: some targets were '
          + 'not delivered after maxReceiveCount receives. Read the worker\'s "publish could not be delivered" and '
          + '"fan-out worker: message failed" log lines (status code, region), fix the cause, then redrive the queue.',
      },
      {
        id: 'FanOutWorkerErrors',
        metric: fanOut.worker.metricErrors({ period: Duration.minutes(5) }),
        threshold: options.fanOutWorkerErrors ?? 1,
        description: 'The fan-out worker failed whole invocations (a crash or its timeout; message failures are '
          + 'reported per message instead). Check its Duration against queuedFanOut.timeout and its log.',
      },
    );
  }
  return specs.map((spec) => {
    const alarm = new Alarm(scope, spec.id, {
      metric: spec.metric,
      threshold: spec.threshold,
      evaluationPeriods: spec.datapoints ? 3 : 1,
      datapointsToAlarm: spec.datapoints ?? 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: spec.description,
    });
    if (options.actions) alarm.addAlarmAction(...options.actions);
    return alarm;
  });
}
