import { Duration, Token, type RemovalPolicy } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { CfnEventSourceMapping, type Architecture, type Runtime } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledgeTracingWildcard, createExecutionRole, functionOperationOptions } from './handler-operations';
import { acknowledgeRule } from './nag-acknowledgements';
import type { TrpcSubscriptionOperationsProps } from './operations-props';
import { PropValidationError } from './prop-validation-error';
import type { TrpcSubscriptionQueuedFanOut } from './trpc-subscription-api-props';
import {
  DEFAULT_CONNECTIONS_QUOTA_PER_SECOND, DELIVERY_BATCH_SIZE_ENV, QUEUE_URL_ENV, WORKER_INSTANCES_ENV, WORKER_RATE_ENV,
} from '../lambda/constants';

const JS_IDENTIFIER_PATTERN = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
/** Lambda's longest timeout. */
const MAX_WORKER_TIMEOUT = Duration.minutes(15);
/** AWS recommends a visibility timeout of six times the function timeout for SQS event sources. */
const VISIBILITY_TIMEOUT_FACTOR = 6;

/** What {@link TrpcSubscriptionFanOut} needs from the API construct. @internal */
export interface TrpcSubscriptionFanOutProps {
  readonly options: TrpcSubscriptionQueuedFanOut;
  readonly entry: string;
  readonly runtime: Runtime;
  readonly architecture: Architecture;
  readonly bundling: BundlingOptions;
  /** The worker's environment besides the queue's own variables. */
  readonly environment: Record<string, string>;
  readonly logRetention: RetentionDays;
  /** Removal policy of the worker's log group (the handlers' log groups have the same). */
  readonly removalPolicy: RemovalPolicy;
  /**
   * The API's operations props: the worker honours every one that applies to a function as the
   * handlers do (tracing, logging controls, VPC, log encryption, permissions boundary); `role` and
   * `reservedConcurrency` are the handlers' own (the worker's concurrency is `maxConcurrency`).
   */
  readonly operations: TrpcSubscriptionOperationsProps;
}

/**
 * The queued fan-out of a `TrpcSubscriptionApi`: the queue (SQS-managed encryption, TLS only)
 * with its dead-letter queue, and the worker function consuming it with partial batch responses.
 */
export class TrpcSubscriptionFanOut extends Construct {
  /** The queue `enqueue()` and EventBridge rules send to. */
  public readonly queue: Queue;
  /** Where messages go after `maxReceiveCount` receives. */
  public readonly deadLetterQueue: Queue;
  /** The worker (the entry's `worker` export). */
  public readonly worker: NodejsFunction;
  /** The worker's execution role. */
  public readonly role: iam.IRole;

  constructor(scope: Construct, id: string, props: TrpcSubscriptionFanOutProps) {
    super(scope, id);
    const options = props.options;
    const handlerName = options.handlerName ?? 'worker';
    const memorySize = options.memorySize ?? 1024;
    const timeout = options.timeout ?? Duration.minutes(1);
    const batchSize = options.batchSize ?? 1;
    const deliveryBatchSize = options.deliveryBatchSize ?? 100;
    const maxConcurrency = options.maxConcurrency ?? 20;
    const share = options.connectionsQuotaShare ?? 0.5;
    const quota = options.connectionsQuota ?? DEFAULT_CONNECTIONS_QUOTA_PER_SECOND;
    const maxReceiveCount = options.maxReceiveCount ?? 5;

    if (!JS_IDENTIFIER_PATTERN.test(handlerName)) {
      throw new PropValidationError('queuedFanOut.handlerName', 'must be a JavaScript identifier', JSON.stringify(handlerName));
    }
    checkInteger('queuedFanOut.memorySize', memorySize, 128, 10_240, ' (MB)');
    checkInteger('queuedFanOut.batchSize', batchSize, 1, 10);
    checkInteger('queuedFanOut.deliveryBatchSize', deliveryBatchSize, 1, 1000);
    checkInteger('queuedFanOut.maxConcurrency', maxConcurrency, 2, 1000);
    checkInteger('queuedFanOut.maxReceiveCount', maxReceiveCount, 1, 1000);
    if (!(share > 0 && share <= 1)) {
      throw new PropValidationError('queuedFanOut.connectionsQuotaShare', 'must be more than 0 and at most 1', String(share));
    }
    if (!(Number.isFinite(quota) && quota > 0)) {
      throw new PropValidationError('queuedFanOut.connectionsQuota', 'must be a positive number (requests per second)', String(quota));
    }
    if (!timeout.isUnresolved() && (timeout.toMilliseconds() > MAX_WORKER_TIMEOUT.toMilliseconds() || timeout.toMilliseconds() < 1000)) {
      throw new PropValidationError('queuedFanOut.timeout', 'must be from 1 second to 15 minutes (the Lambda limit)', timeout.toHumanString());
    }

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledgeRule(
      this.deadLetterQueue,
      'AwsSolutions-SQS3',
      'This is the dead-letter queue of the fan-out queue; a dead-letter queue needs none of its own.',
    );
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });

    const role = createExecutionRole(this, 'WorkerRole', 'Execution role of the tRPC subscriptions fan-out worker', props.operations);
    this.role = role;
    const logGroup = new LogGroup(this, 'WorkerLogs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
      encryptionKey: props.operations.logEncryptionKey,
    });
    logGroup.grantWrite(role);
    this.worker = new NodejsFunction(this, 'Worker', {
      ...functionOperationOptions(props.operations),
      entry: props.entry,
      handler: handlerName,
      description: 'tRPC subscriptions: queued fan-out worker',
      runtime: props.runtime,
      architecture: props.architecture,
      memorySize,
      timeout,
      role,
      logGroup,
      environment: {
        ...props.environment,
        [QUEUE_URL_ENV]: this.queue.queueUrl,
        [WORKER_RATE_ENV]: String((quota * share) / maxConcurrency),
        [DELIVERY_BATCH_SIZE_ENV]: String(deliveryBatchSize),
        [WORKER_INSTANCES_ENV]: String(maxConcurrency),
      },
      bundling: props.bundling,
    });
    // Delivery batches go back on the queue for other instances.
    this.queue.grantSendMessages(role);
    this.worker.addEventSource(new SqsEventSource(this.queue, { batchSize, maxConcurrency, reportBatchItemFailures: true }));
    acknowledgeTracingWildcard(role, props.operations.tracing);
    this.acknowledgeQueueDesign();
  }

  /**
   * cdk-nag's findings that follow from SQS being the worker's only trigger: failures are kept by
   * the queue's redrive policy, not by the function or the event source mapping.
   */
  private acknowledgeQueueDesign(): void {
    acknowledgeRule(
      this.deadLetterQueue,
      'Serverless-SQSRedrivePolicy',
      'This is the dead-letter queue of the fan-out queue; it keeps what it holds 14 days (with `alarms`, FanOutDeadLetters watches it).',
    );
    acknowledgeRule(
      this.worker,
      'Serverless-LambdaDLQ',
      'The worker is only invoked by its SQS event source mapping: a failed message returns to the queue and, after maxReceiveCount receives, goes to its dead-letter queue.',
    );
    for (const mapping of this.worker.node.findAll().filter((c): c is CfnEventSourceMapping => c instanceof CfnEventSourceMapping)) {
      acknowledgeRule(
        mapping,
        'Serverless-LambdaEventSourceMappingDestination',
        'SQS event source mappings take no on-failure destination; the queue\'s redrive policy sends failed messages to the dead-letter queue.',
      );
    }
  }
}

function checkInteger(prop: string, value: number, min: number, max: number, unit = ''): void {
  if (Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new PropValidationError(prop, `must be an integer from ${min} to ${max}${unit}`, String(value));
  }
}
