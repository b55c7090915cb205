import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { SecurityGroup, SubnetType, Vpc } from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { ApplicationLogLevel, LoggingFormat, SystemLogLevel, Tracing } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { HANDLERS_ENTRY, appWithoutBundling, logicalId, realtimeStack } from './helpers';
import { METRICS_DIMENSIONS_ENV, METRICS_ENV, METRICS_NAMESPACE_ENV } from '../../lambda/metric-names';
import { TrpcSubscriptionApi, type TrpcSubscriptionApiProps } from '../../src';

function handlerFunctions(template: Template): Array<{ Properties: Record<string, any> }> {
  return Object.values(template.findResources('AWS::Lambda::Function', {
    Properties: { Description: Match.stringLikeRegexp('^tRPC subscriptions') },
  })) as never;
}

function stackWith(build: (stack: Stack) => Partial<TrpcSubscriptionApiProps>): { stack: Stack; realtime: TrpcSubscriptionApi; template: Template } {
  const stack = new Stack(appWithoutBundling(), 'Stack');
  const realtime = new TrpcSubscriptionApi(stack, 'Realtime', { entry: HANDLERS_ENTRY, ...build(stack) });
  return { stack, realtime, template: Template.fromStack(stack) };
}

describe('tracing and logging', () => {
  test('GIVEN defaults WHEN synthesised THEN no tracing config, no logging config, no reserved concurrency, no VPC', () => {
    const functions = handlerFunctions(realtimeStack().template());

    expect(functions).toHaveLength(4); // the three handlers and the rollover
    for (const fn of functions) {
      expect(fn.Properties.TracingConfig).toBeUndefined();
      expect(fn.Properties.LoggingConfig).toEqual({ LogGroup: expect.anything() });
      expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
      expect(fn.Properties.VpcConfig).toBeUndefined();
    }
  });

  test('GIVEN tracing ACTIVE WHEN synthesised THEN every handler traces and the role may upload segments', () => {
    const { template } = realtimeStack({ tracing: Tracing.ACTIVE });

    for (const fn of handlerFunctions(template())) {
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
    }
    template().hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          { Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Effect: 'Allow', Resource: '*' },
        ]),
      },
    });
  });

  test('GIVEN JSON logs with application and system levels WHEN synthesised THEN every handler has those logging controls', () => {
    const { template } = realtimeStack({
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevel: ApplicationLogLevel.WARN,
      systemLogLevel: SystemLogLevel.WARN,
    });

    for (const fn of handlerFunctions(template())) {
      expect(fn.Properties.LoggingConfig).toEqual({
        LogFormat: 'JSON', ApplicationLogLevel: 'WARN', SystemLogLevel: 'WARN', LogGroup: expect.anything(),
      });
    }
  });
});

describe('access logs', () => {
  test('GIVEN defaults WHEN synthesised THEN the access log format is JSON with the WebSocket fields', () => {
    const stage = Object.values(realtimeStack().template().findResources('AWS::ApiGatewayV2::Stage'))[0] as { Properties: any };

    const format = JSON.parse(stage.Properties.AccessLogSettings.Format);
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      connectionId: '$context.connectionId',
      eventType: '$context.eventType',
      routeKey: '$context.routeKey',
      status: '$context.status',
      integrationLatency: '$context.integrationLatency',
    });
  });

  test('GIVEN a custom access log format WHEN synthesised THEN the stage uses it', () => {
    const { template } = realtimeStack({ accessLogFormat: AccessLogFormat.clf() });

    template().hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      AccessLogSettings: { Format: AccessLogFormat.clf().toString() },
    });
  });
});

describe('reserved concurrency', () => {
  test('GIVEN reserved concurrency for two handlers WHEN synthesised THEN those handlers reserve it and the third does not', () => {
    const { stack, realtime, template } = stackWith(() => ({ reservedConcurrency: { connect: 5, message: 50 } }));
    const resources = template.toJSON().Resources;
    const reserved = (fn: { node: { defaultChild?: unknown } }) => resources[logicalId(stack, fn)].Properties.ReservedConcurrentExecutions;

    expect(reserved(realtime.connectHandler)).toBe(5);
    expect(reserved(realtime.messageHandler)).toBe(50);
    expect(reserved(realtime.disconnectHandler)).toBeUndefined();
  });
});

describe('VPC placement', () => {
  test('GIVEN a vpc, subnets and a security group WHEN synthesised THEN every handler runs there and the role may manage network interfaces', () => {
    let groupId = '';
    const { template } = stackWith((s) => {
      const vpc = new Vpc(s, 'Vpc', { maxAzs: 2 });
      const group = new SecurityGroup(s, 'Handlers', { vpc });
      groupId = logicalId(s, group);
      return { vpc, vpcSubnets: { subnetType: SubnetType.PRIVATE_WITH_EGRESS }, securityGroups: [group] };
    });

    for (const fn of handlerFunctions(template)) {
      expect(fn.Properties.VpcConfig.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [groupId, 'GroupId'] }]);
      expect(fn.Properties.VpcConfig.SubnetIds).toHaveLength(2);
    }
    template.hasResourceProperties('AWS::IAM::Role', {
      Description: 'Execution role of the tRPC subscription handlers',
      ManagedPolicyArns: [{
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole']],
      }],
    });
  });
});

describe('log encryption', () => {
  test('GIVEN a log key and queuedFanOut WHEN synthesised THEN the worker\'s log group uses it too, and follows removalPolicy', () => {
    const { template } = stackWith((s) => ({ logEncryptionKey: new Key(s, 'LogKey'), queuedFanOut: {}, removalPolicy: RemovalPolicy.DESTROY }));

    const groups = Object.values(template.findResources('AWS::Logs::LogGroup')) as Array<{ Properties: any; DeletionPolicy?: string }>;
    expect(groups).toHaveLength(6); // access log, three handlers, rollover, worker
    for (const group of groups) {
      expect(group.Properties.KmsKeyId).toBeDefined();
      expect(group.DeletionPolicy).toBe('Delete');
    }
  });

  test('GIVEN a log key WHEN synthesised THEN the five log groups use it and CloudWatch Logs may use the key', () => {
    let keyId = '';
    const { template } = stackWith((s) => {
      const logEncryptionKey = new Key(s, 'LogKey');
      keyId = logicalId(s, logEncryptionKey);
      return { logEncryptionKey };
    });

    const groups = Object.values(template.findResources('AWS::Logs::LogGroup')) as Array<{ Properties: any }>;
    expect(groups).toHaveLength(5); // access log, three handlers, rollover
    for (const group of groups) {
      expect(group.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    }
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([Match.objectLike({
          Effect: 'Allow',
          Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
          Action: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
          Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': Match.anyValue() } },
        })]),
      },
    });
  });
});

describe('role escape hatches', () => {
  test('GIVEN a role WHEN synthesised THEN the handlers use it, no role is created, and the grants go to it', () => {
    let roleId = '';
    const { realtime, template } = stackWith((s) => {
      const role = new iam.Role(s, 'Own', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
      roleId = logicalId(s, role);
      return { role };
    });

    template.resourceCountIs('AWS::IAM::Role', 1);
    for (const fn of handlerFunctions(template)) {
      expect(fn.Properties.Role).toEqual({ 'Fn::GetAtt': [roleId, 'Arn'] });
    }
    expect(realtime.handlerRole.node.id).toBe('Own');
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: roleId }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'execute-api:ManageConnections' })]) },
    });
  });

  test('GIVEN a permissions boundary WHEN synthesised THEN the handler role carries it', () => {
    let boundaryId = '';
    const { template } = stackWith((s) => {
      const permissionsBoundary = new iam.ManagedPolicy(s, 'Boundary', {
        statements: [new iam.PolicyStatement({ actions: ['dynamodb:GetItem'], resources: ['*'] })],
      });
      boundaryId = logicalId(s, permissionsBoundary);
      return { permissionsBoundary };
    });

    template.hasResourceProperties('AWS::IAM::Role', {
      Description: 'Execution role of the tRPC subscription handlers',
      PermissionsBoundary: { Ref: boundaryId },
    });
  });
});

describe('the fan-out worker honours the operations props the handlers honour', () => {
  function workerOf(build: (stack: Stack) => Partial<TrpcSubscriptionApiProps>) {
    const { stack, realtime, template } = stackWith((s) => ({ queuedFanOut: {}, ...build(s) }));
    const resources = template.toJSON().Resources;
    const worker = resources[logicalId(stack, realtime.fanOut!.worker)].Properties;
    const role = resources[logicalId(stack, realtime.fanOut!.role as never)].Properties;
    const logGroupId = worker.LoggingConfig.LogGroup.Ref;
    return { stack, realtime, template, worker, role, logGroup: resources[logGroupId] };
  }

  test('GIVEN tracing ACTIVE WHEN synthesised THEN the worker traces and its role may upload segments', () => {
    const { stack, realtime, template, worker } = workerOf(() => ({ tracing: Tracing.ACTIVE }));

    expect(worker.TracingConfig).toEqual({ Mode: 'Active' });
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalId(stack, realtime.fanOut!.role as never) }],
      PolicyDocument: { Statement: Match.arrayWith([{ Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Effect: 'Allow', Resource: '*' }]) },
    });
  });

  test('GIVEN JSON logs with application and system levels WHEN synthesised THEN the worker has those logging controls', () => {
    const { worker } = workerOf(() => ({
      loggingFormat: LoggingFormat.JSON, applicationLogLevel: ApplicationLogLevel.DEBUG, systemLogLevel: SystemLogLevel.WARN,
    }));

    expect(worker.LoggingConfig).toEqual({ LogFormat: 'JSON', ApplicationLogLevel: 'DEBUG', SystemLogLevel: 'WARN', LogGroup: expect.anything() });
  });

  test('GIVEN a vpc, subnets and a security group WHEN synthesised THEN the worker runs there and its role may manage network interfaces', () => {
    let groupId = '';
    const { worker, role } = workerOf((s) => {
      const vpc = new Vpc(s, 'Vpc', { maxAzs: 2 });
      const group = new SecurityGroup(s, 'Functions', { vpc });
      groupId = logicalId(s, group);
      return { vpc, vpcSubnets: { subnetType: SubnetType.PRIVATE_WITH_EGRESS }, securityGroups: [group] };
    });

    expect(worker.VpcConfig.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [groupId, 'GroupId'] }]);
    expect(worker.VpcConfig.SubnetIds).toHaveLength(2);
    expect(role.ManagedPolicyArns).toEqual([{
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole']],
    }]);
  });

  test('GIVEN a log key and a removal policy WHEN synthesised THEN the worker\'s log group uses both', () => {
    let keyId = '';
    const { logGroup, template } = workerOf((s) => {
      const logEncryptionKey = new Key(s, 'LogKey');
      keyId = logicalId(s, logEncryptionKey);
      return { logEncryptionKey, removalPolicy: RemovalPolicy.DESTROY };
    });

    expect(logGroup.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    expect(logGroup.DeletionPolicy).toBe('Delete');
    // Every log group of the construct: access log, three handlers, rollover, worker.
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup')) as Array<{ Properties: any }>;
    expect(groups.map((group) => group.Properties.KmsKeyId)).toEqual(Array(6).fill({ 'Fn::GetAtt': [keyId, 'Arn'] }));
  });

  test('GIVEN a permissions boundary WHEN synthesised THEN the worker role carries it too', () => {
    let boundaryId = '';
    const { role, template } = workerOf((s) => {
      const permissionsBoundary = new iam.ManagedPolicy(s, 'Boundary', {
        statements: [new iam.PolicyStatement({ actions: ['dynamodb:GetItem'], resources: ['*'] })],
      });
      boundaryId = logicalId(s, permissionsBoundary);
      return { permissionsBoundary };
    });

    expect(role.PermissionsBoundary).toEqual({ Ref: boundaryId });
    // Every role the construct creates carries it.
    const roles = Object.values(template.findResources('AWS::IAM::Role')) as Array<{ Properties: any }>;
    expect(roles.length).toBeGreaterThanOrEqual(2);
    expect(roles.filter((r) => r.Properties.PermissionsBoundary === undefined)
      .map((r) => r.Properties.Description ?? JSON.stringify(r.Properties.AssumeRolePolicyDocument.Statement[0].Principal))).toEqual([]);
  });

  test('GIVEN defaults WHEN synthesised THEN the worker has no tracing, logging controls, VPC or reserved concurrency', () => {
    const { worker, role } = workerOf(() => ({ reservedConcurrency: { connect: 5, message: 5, disconnect: 5 } }));

    expect(worker.TracingConfig).toBeUndefined();
    expect(worker.LoggingConfig).toEqual({ LogGroup: expect.anything() });
    expect(worker.VpcConfig).toBeUndefined();
    // Its concurrency is the event source mapping's maxConcurrency, not a handler's reservation.
    expect(worker.ReservedConcurrentExecutions).toBeUndefined();
    expect(role.ManagedPolicyArns).toBeUndefined();
  });
});

describe('metrics environment', () => {
  test('GIVEN defaults WHEN synthesised THEN handlers get the namespace and the ApiId/Stage dimensions', () => {
    const { stack, realtime, template } = stackWith(() => ({ stageName: 'live' }));
    const api = logicalId(stack, realtime.webSocketApi);

    for (const fn of handlerFunctions(template)) {
      const env = fn.Properties.Environment.Variables;
      expect(env[METRICS_NAMESPACE_ENV]).toBe('TrpcSubscriptions');
      expect(env[METRICS_ENV]).toBeUndefined();
      expect(env[METRICS_DIMENSIONS_ENV]).toEqual({ 'Fn::Join': ['', ['{"ApiId":"', { Ref: api }, '","Stage":"live"}']] });
    }
  });

  test('GIVEN a namespace and extra dimensions WHEN synthesised THEN handlers get them', () => {
    const { template } = realtimeStack({ metrics: { namespace: 'Acme/Chat', dimensions: { Team: 'chat' } } });

    for (const fn of handlerFunctions(template())) {
      const env = fn.Properties.Environment.Variables;
      expect(env[METRICS_NAMESPACE_ENV]).toBe('Acme/Chat');
      expect(JSON.stringify(env[METRICS_DIMENSIONS_ENV])).toContain('{\\"Team\\":\\"chat\\",\\"ApiId\\":\\"');
    }
  });

  test('GIVEN metrics disabled WHEN synthesised THEN handlers get the off switch and no namespace', () => {
    const { template } = realtimeStack({ metrics: { enabled: false } });

    for (const fn of handlerFunctions(template())) {
      const env = fn.Properties.Environment.Variables;
      expect(env[METRICS_ENV]).toBe('off');
      expect(env[METRICS_NAMESPACE_ENV]).toBeUndefined();
    }
  });
});

describe('alarms', () => {
  test('GIVEN defaults WHEN synthesised THEN there are no alarms and no dashboard', () => {
    const { realtime, template } = realtimeStack();

    template().resourceCountIs('AWS::CloudWatch::Alarm', 0);
    template().resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(realtime.alarms).toEqual([]);
    expect(realtime.dashboard).toBeUndefined();
  });

  test('GIVEN alarms: true WHEN synthesised THEN eight alarms with the default thresholds are exposed', () => {
    const { realtime, template } = realtimeStack({ alarms: true });

    expect(realtime.alarms.map((alarm) => alarm.node.id)).toEqual([
      'HandlerErrors', 'HandlerThrottles', 'ExecutionErrors', 'IntegrationErrors', 'IntegrationLatency',
      'PostsFailed', 'PostsThrottled', 'SubscriptionsRefused',
    ]);
    template().resourceCountIs('AWS::CloudWatch::Alarm', 8);
    template().hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApiGateway',
      MetricName: 'IntegrationLatency',
      ExtendedStatistic: 'p99',
      Threshold: 1000,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    template().hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'TrpcSubscriptions',
      MetricName: 'PostsFailed',
      Statistic: 'Sum',
      Threshold: 1,
      Period: 300,
      TreatMissingData: 'notBreaching',
      Dimensions: Match.arrayWith([{ Name: 'Stage', Value: 'prod' }]),
    });
    template().hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'm0 + m1 + m2' })]),
      Threshold: 1,
    });
  });

  test('GIVEN thresholds and an action WHEN synthesised THEN the alarms use them', () => {
    let topicId = '';
    const { template } = stackWith((s) => {
      const topic = new Topic(s, 'Pager');
      topicId = logicalId(s, topic);
      return { alarms: { actions: [new SnsAction(topic)], integrationErrors: 20, integrationLatencyP99: Duration.millis(500) } };
    });

    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'IntegrationError', Threshold: 20 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'IntegrationLatency', Threshold: 500 });
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Array<{ Properties: any }>) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
    }
  });

  test('GIVEN alarms with metrics off WHEN synthesised THEN only the Lambda and API Gateway alarms exist', () => {
    const { realtime } = realtimeStack({ alarms: true, metrics: { enabled: false } });

    expect(realtime.alarms.map((alarm) => alarm.node.id)).toEqual([
      'HandlerErrors', 'HandlerThrottles', 'ExecutionErrors', 'IntegrationErrors', 'IntegrationLatency',
    ]);
  });
});

describe('queued fan-out in the alarms and dashboard', () => {
  test('GIVEN queuedFanOut and alarms WHEN synthesised THEN the dead-letter queue and the worker\'s errors are watched, with their thresholds', () => {
    const { realtime, stack, template } = stackWith(() => ({ queuedFanOut: {}, alarms: { fanOutDeadLetters: 3 } }));

    expect(realtime.alarms.map((alarm) => alarm.node.id).slice(-2)).toEqual(['FanOutDeadLetters', 'FanOutWorkerErrors']);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [stack.getLogicalId(realtime.fanOut!.deadLetterQueue.node.defaultChild as never), 'QueueName'] } }],
      Statistic: 'Maximum',
      Threshold: 3,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: stack.getLogicalId(realtime.fanOut!.worker.node.defaultChild as never) } }],
      Threshold: 1,
    });
  });

  test('GIVEN alarms without queuedFanOut WHEN synthesised THEN no fan-out alarm', () => {
    const { realtime } = realtimeStack({ alarms: true });

    expect(realtime.alarms.map((alarm) => alarm.node.id)).not.toContain('FanOutDeadLetters');
  });

  test('GIVEN alarms.fanOutDeadLetters 0 WHEN constructed THEN it throws naming it', () => {
    expect(() => stackWith(() => ({ queuedFanOut: {}, alarms: { fanOutDeadLetters: 0 } })))
      .toThrow('`alarms.fanOutDeadLetters` must be a number of at least 1, got: 0');
  });

  test('GIVEN queuedFanOut and a dashboard WHEN synthesised THEN it shows the queue metrics, the queues and the worker', () => {
    const { realtime, stack } = stackWith(() => ({ queuedFanOut: {}, dashboard: true }));

    const body = JSON.stringify(stack.resolve((realtime.dashboard!.node.defaultChild as any).dashboardBody));
    for (const name of ['QueuedPublishes', 'DeliveryBatches', 'DeliveryBatchesQueued', 'DeliveryBatchesUnfinished', 'ApproximateNumberOfMessagesVisible',
      'ApproximateAgeOfOldestMessage', 'Fan-out worker']) {
      expect(body).toContain(name);
    }
    const withoutFanOut = stackWith(() => ({ dashboard: true }));
    expect(JSON.stringify(withoutFanOut.stack.resolve((withoutFanOut.realtime.dashboard!.node.defaultChild as any).dashboardBody)))
      .not.toContain('QueuedPublishes');
  });
});

describe('dashboard', () => {
  test('GIVEN dashboard with a name and alarms WHEN synthesised THEN one dashboard shows the runtime and API metrics and the alarms', () => {
    const { realtime, stack, template } = stackWith(() => ({ dashboard: { dashboardName: 'realtime' }, alarms: true }));

    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'realtime' });
    const body = JSON.stringify(stack.resolve((realtime.dashboard!.node.defaultChild as any).dashboardBody));
    for (const name of ['ConnectCount', 'MessageCount', 'ConnectionsOpened', 'SubscriptionsRefused', 'MessagesDelivered', 'FanOutDuration', 'IntegrationLatency', 'ExecutionError', 'Throttles', 'Alarms']) {
      expect(body).toContain(name);
    }
  });

  test('GIVEN dashboard with metrics off WHEN synthesised THEN it shows no runtime metric', () => {
    const { realtime, stack } = stackWith(() => ({ dashboard: true, metrics: { enabled: false } }));

    const body = JSON.stringify(stack.resolve((realtime.dashboard!.node.defaultChild as any).dashboardBody));
    expect(body).toContain('ConnectCount');
    expect(body).not.toContain('TrpcSubscriptions');
  });
});
