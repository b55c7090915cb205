import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { Function as LambdaFunction, Code, Runtime } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { appWithoutBundling, HANDLERS_ENTRY, logicalId, realtimeStack } from './helpers';
import { TrpcSubscriptionApi } from '../../src';

describe('queuedFanOut', () => {
  test('GIVEN queuedFanOut WHEN synthesised THEN a queue with a dead-letter queue feeds the worker with partial batch responses', () => {
    const { stack, realtime, template } = realtimeStack({ queuedFanOut: { maxConcurrency: 10, batchSize: 5, maxReceiveCount: 3 } });
    const t = template();
    const fanOut = realtime.fanOut!;
    t.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 360,
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(stack, fanOut.deadLetterQueue), 'Arn'] }, maxReceiveCount: 3 },
    });
    t.hasResourceProperties('AWS::SQS::Queue', { MessageRetentionPeriod: 14 * 24 * 3600 });
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(stack, fanOut.worker) },
      BatchSize: 5,
      ScalingConfig: { MaximumConcurrency: 10 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.worker',
      MemorySize: 1024,
      Timeout: 60,
      Environment: {
        Variables: Match.objectLike({
          TRPC_SUBSCRIPTIONS_QUEUE_URL: { Ref: logicalId(stack, fanOut.queue) },
          // 10,000/s * 0.5 shared by 10 instances.
          TRPC_SUBSCRIPTIONS_WORKER_RATE: '500',
          TRPC_SUBSCRIPTIONS_DELIVERY_BATCH_SIZE: '100',
          TRPC_SUBSCRIPTIONS_WORKER_INSTANCES: '10',
          TRPC_SUBSCRIPTIONS_TABLE_NAME: Match.anyValue(),
          TRPC_SUBSCRIPTIONS_ENDPOINT: Match.anyValue(),
        }),
      },
    });
  });

  test('GIVEN queuedFanOut WHEN synthesised THEN the worker role may send to its queue, update ledger rows, append history events and post to connections', () => {
    const { stack, realtime, template } = realtimeStack({ queuedFanOut: {} });
    const statements = template().findResources('AWS::IAM::Policy');
    const workerPolicy = Object.values(statements).find((policy: any) =>
      policy.Properties.Roles.some((role: any) => role.Ref === logicalId(stack, realtime.fanOut!.role as never)));
    const actions = (workerPolicy as any).Properties.PolicyDocument.Statement.flatMap((s: any) => [s.Action].flat());
    expect(actions).toEqual(expect.arrayContaining([
      'sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage',
      'dynamodb:Query', 'dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem', 'execute-api:ManageConnections',
    ]));
    // A gone connection's rows go with BatchWriteItem, the connection row included; with lifecycle
    // hooks one by one with conditional DeleteItems (exactly one removal runs each hook).
    expect(actions).toContain('dynamodb:DeleteItem');
    // Nothing that reads whole rows or writes outside a ledger update, a history append and removals.
    expect(actions).not.toContain('dynamodb:GetItem');
    expect(actions).not.toContain('dynamodb:Scan');
  });

  test('GIVEN queuedFanOut WHEN a function is granted publish THEN it may send to the queue and knows its URL', () => {
    const { stack, realtime, template } = realtimeStack({ queuedFanOut: {} });
    const producer = new LambdaFunction(stack, 'Producer', { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('exports.handler = async () => {};') });
    realtime.grantPublish(producer);
    const t = template();
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ TRPC_SUBSCRIPTIONS_QUEUE_URL: { Ref: logicalId(stack, realtime.fanOut!.queue) } }) },
      Handler: 'index.handler',
      Runtime: 'nodejs22.x',
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('ProducerServiceRole') }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: Match.arrayWith(['sqs:SendMessage']), Resource: { 'Fn::GetAtt': [logicalId(stack, realtime.fanOut!.queue), 'Arn'] } })]) },
    });
  });

  test('GIVEN an EventBridge rule WHEN publishOnEvent THEN the rule targets the fan-out queue, which lets that rule send', () => {
    const { stack, realtime, template } = realtimeStack({ queuedFanOut: {} });
    const rule = new Rule(stack, 'Orders', { eventBus: new EventBus(stack, 'Bus'), eventPattern: { source: ['shop.orders'] } });
    realtime.publishOnEvent(rule);
    const t = template();
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['shop.orders'] },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(stack, realtime.fanOut!.queue), 'Arn'] } })],
    });
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
          Principal: { Service: 'events.amazonaws.com' },
          Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [logicalId(stack, rule), 'Arn'] } } },
        })]),
      },
    });
  });

  test('GIVEN no queuedFanOut WHEN publishOnEvent THEN a clear error', () => {
    const { stack, realtime } = realtimeStack();
    const rule = new Rule(stack, 'Orders', { eventPattern: { source: ['shop.orders'] } });
    expect(() => realtime.publishOnEvent(rule)).toThrow('`queuedFanOut` must be set to publish from EventBridge rules (publishOnEvent), got: undefined');
    expect(realtime.fanOut).toBeUndefined();
  });

  test.each([
    [{ batchSize: 11 }, '`queuedFanOut.batchSize` must be an integer from 1 to 10, got: 11'],
    [{ deliveryBatchSize: 0 }, '`queuedFanOut.deliveryBatchSize` must be an integer from 1 to 1000, got: 0'],
    [{ maxConcurrency: 1 }, '`queuedFanOut.maxConcurrency` must be an integer from 2 to 1000, got: 1'],
    [{ memorySize: 64 }, '`queuedFanOut.memorySize` must be an integer from 128 to 10240 (MB), got: 64'],
    [{ maxReceiveCount: 0 }, '`queuedFanOut.maxReceiveCount` must be an integer from 1 to 1000, got: 0'],
    [{ connectionsQuotaShare: 1.5 }, '`queuedFanOut.connectionsQuotaShare` must be more than 0 and at most 1, got: 1.5'],
    [{ connectionsQuotaShare: 0 }, '`queuedFanOut.connectionsQuotaShare` must be more than 0 and at most 1, got: 0'],
    [{ connectionsQuota: -1 }, '`queuedFanOut.connectionsQuota` must be a positive number (requests per second), got: -1'],
    [{ timeout: Duration.minutes(16) }, '`queuedFanOut.timeout` must be from 1 second to 15 minutes (the Lambda limit), got: 16 minutes'],
    [{ handlerName: 'my-worker' }, '`queuedFanOut.handlerName` must be a JavaScript identifier, got: "my-worker"'],
  ])('GIVEN queuedFanOut %j WHEN synthesised THEN %s', (queuedFanOut, message) => {
    expect(() => realtimeStack({ queuedFanOut })).toThrow(message);
  });

  test('GIVEN queuedFanOut and an event rule WHEN checked by cdk-nag THEN no unacknowledged findings on the queues and the worker', () => {
    const stack = new Stack(appWithoutBundling(), 'Stack');
    const realtime = new TrpcSubscriptionApi(stack, 'Realtime', { entry: HANDLERS_ENTRY, queuedFanOut: {} });
    realtime.publishOnEvent(new Rule(stack, 'Orders', { eventPattern: { source: ['shop.orders'] } }));
    const report = new AwsSolutionsChecks().validateScope(stack);
    const findings = report.violations
      .filter((v) => v.violatingResources.some((r) => (r.constructPath ?? '').includes('FanOut')))
      .map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
    expect(findings).toEqual([]);
    expect(Template.fromStack(stack).resourceCountIs('AWS::SQS::Queue', 2)).toBeUndefined();
  });
});
