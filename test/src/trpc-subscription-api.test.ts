import * as path from 'path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { DomainName } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import { AttributeType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Architecture, Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { HANDLERS_ENTRY, appWithoutBundling, executeApiArn, logicalId, realtimeStack } from './helpers';
import { ENDPOINT_ENV, ROW_TTL_ENV, TABLE_NAME_ENV } from '../../lambda/constants';
import { TrpcSubscriptionApi } from '../../src';
import { defaultNodejsRuntime } from '../../src/function-defaults';

const HANDLER_TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:Query',
  'dynamodb:BatchWriteItem',
];
const PUBLISH_TABLE_ACTIONS = ['dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem'];
/** The fine-grained conditions a publisher's table statement must carry (docs/security.md). */
const PUBLISH_TABLE_CONDITIONS = {
  'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['CONN#*', 'ROUTE#*', 'KEY#*', 'AGE#*', 'HIST#*'] },
  'ForAllValues:StringEquals': {
    'dynamodb:Attributes': [
      'pk', 'sk', 'connectionId', 'subscriptionId', 'jsonrpc', 'indexKeys', 'region', 'connectedAt', 'connectionKey', 'expireAt',
      'liveAfter', 'filter', 'result',
      'path', 'hookState', 'stopped', 'ending', 'awaitingConnectionParams', 'refusal',
    ],
  },
  'StringEqualsIfExists': { 'dynamodb:Select': ['SPECIFIC_ATTRIBUTES', 'COUNT'], 'dynamodb:ReturnValues': 'NONE' },
};
/**
 * A publisher's room presence statements: reads of member rows and pointer keys, the release's
 * pointer delete and member update, the leave's member update; only these may return rows.
 */
const PUBLISH_PRESENCE_STATEMENTS = [
  {
    Action: 'dynamodb:Query',
    Condition: {
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['PRES#*', 'PRESREF#*'] },
      'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'sk', 'key', 'member', 'present', 'v', 'expireAt'] },
      'StringEqualsIfExists': { 'dynamodb:Select': ['SPECIFIC_ATTRIBUTES'], 'dynamodb:ReturnValues': 'NONE' },
    },
  },
  {
    Action: 'dynamodb:DeleteItem',
    Condition: {
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['PRESREF#*'] },
      'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'sk'] },
      'StringEqualsIfExists': { 'dynamodb:ReturnValues': 'ALL_OLD' },
    },
  },
  {
    Action: 'dynamodb:UpdateItem',
    Condition: {
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['PRES#*'] },
      'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'sk', 'refs', 'rev', 'present', 'v'] },
      'StringEqualsIfExists': { 'dynamodb:ReturnValues': 'ALL_NEW' },
    },
  },
].map((statement) => ({ ...statement, Effect: 'Allow', Resource: Match.anyValue() }));

function connectionsArns(stack: Stack, realtime: TrpcSubscriptionApi, stageName = 'prod'): unknown[] {
  const api = logicalId(stack, realtime.webSocketApi);
  return ['POST', 'DELETE'].map((method) => executeApiArn(api, `/${stageName}/${method}/@connections/*`));
}

/** Customer managed keys on a TableV2 need a stack with a known Region. */
function regionalStack(): Stack {
  return new Stack(appWithoutBundling(), 'Stack', { env: { region: 'eu-west-1' } });
}

function producerFunction(stack: Stack): LambdaFunction {
  return new LambdaFunction(stack, 'Producer', {
    runtime: Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: Code.fromInline('exports.handler = async () => {};'),
  });
}

describe('table', () => {
  test('GIVEN defaults WHEN synthesised THEN an on-demand pk/sk table with TTL on expireAt, AWS owned encryption, no PITR, retained', () => {
    const { template } = realtimeStack();

    template().resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
    template().hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: 'expireAt', Enabled: true },
        SSESpecification: { SSEEnabled: false },
        Replicas: [Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false } })],
        GlobalSecondaryIndexes: Match.absent(),
      },
    });
  });

  test('GIVEN pointInTimeRecovery, removalPolicy DESTROY and a customer managed key WHEN synthesised THEN the table uses them', () => {
    const stack = regionalStack();
    const key = new Key(stack, 'Key');
    new TrpcSubscriptionApi(stack, 'Realtime', {
      entry: HANDLERS_ENTRY,
      pointInTimeRecovery: true,
      removalPolicy: RemovalPolicy.DESTROY,
      encryptionKey: key,
    });

    Template.fromStack(stack).hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Delete',
      Properties: {
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
        Replicas: [Match.objectLike({
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          SSESpecification: { KMSMasterKeyId: { 'Fn::GetAtt': [logicalId(stack, key), 'Arn'] } },
        })],
      },
    });
  });

  test('GIVEN an existing table WHEN synthesised THEN no table is created and the handlers use the given one', () => {
    const stack = new Stack(appWithoutBundling(), 'Stack');
    const table = new TableV2(stack, 'Existing', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      timeToLiveAttribute: 'expireAt',
    });
    const realtime = new TrpcSubscriptionApi(stack, 'Realtime', { entry: HANDLERS_ENTRY, table });

    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
    expect(realtime.table).toBe(table);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [TABLE_NAME_ENV]: { Ref: logicalId(stack, table) } }) },
    });
  });
});

describe('WebSocket API', () => {
  test('GIVEN defaults WHEN synthesised THEN $connect, $default and $disconnect route to their own Lambda integration', () => {
    const { stack, realtime, template } = realtimeStack();

    template().resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    template().hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'WEBSOCKET' });
    template().resourceCountIs('AWS::ApiGatewayV2::Route', 3);
    const routes: Array<[string, TrpcSubscriptionApi['connectHandler']]> = [
      ['$connect', realtime.connectHandler],
      ['$default', realtime.messageHandler],
      ['$disconnect', realtime.disconnectHandler],
    ];
    for (const [routeKey, handler] of routes) {
      const integrations = template().findResources('AWS::ApiGatewayV2::Integration', {
        Properties: {
          IntegrationType: 'AWS_PROXY',
          IntegrationUri: {
            'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [logicalId(stack, handler), 'Arn'] }])],
          },
        },
      });
      expect(Object.keys(integrations)).toHaveLength(1);
      template().hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: routeKey,
        Target: { 'Fn::Join': ['', ['integrations/', { Ref: Object.keys(integrations)[0] }]] },
      });
    }
  });

  test('GIVEN defaults WHEN synthesised THEN only $default is two-way with a $default route response', () => {
    const { template } = realtimeStack();

    template().hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: '$default',
      RouteResponseSelectionExpression: '$default',
    });
    template().hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: '$connect',
      RouteResponseSelectionExpression: Match.absent(),
    });
    template().resourceCountIs('AWS::ApiGatewayV2::RouteResponse', 1);
    template().hasResourceProperties('AWS::ApiGatewayV2::RouteResponse', { RouteResponseKey: '$default' });
  });

  test('GIVEN defaults WHEN synthesised THEN API Gateway may invoke each handler from this API only', () => {
    const { stack, realtime, template } = realtimeStack();
    const api = logicalId(stack, realtime.webSocketApi);

    for (const [routeKey, handler] of [
      ['$connect', realtime.connectHandler], ['$default', realtime.messageHandler], ['$disconnect', realtime.disconnectHandler],
    ] as const) {
      template().hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        Principal: 'apigateway.amazonaws.com',
        FunctionName: { 'Fn::GetAtt': [logicalId(stack, handler), 'Arn'] },
        SourceArn: executeApiArn(api, `/*${routeKey}`),
      });
    }
  });

  test('GIVEN an authorizer WHEN synthesised THEN it guards $connect only', () => {
    const stack = new Stack(appWithoutBundling(), 'Stack');
    const authHandler = producerFunction(stack);
    const authorizer = new WebSocketLambdaAuthorizer('Authorizer', authHandler, { identitySource: ['route.request.querystring.token'] });
    new TrpcSubscriptionApi(stack, 'Realtime', { entry: HANDLERS_ENTRY, authorizer });

    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      IdentitySource: ['route.request.querystring.token'],
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: '$connect',
      AuthorizationType: 'CUSTOM',
      AuthorizerId: { Ref: Match.stringLikeRegexp('Authorizer') },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$default', AuthorizationType: 'NONE' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$disconnect', AuthorizationType: 'NONE' });
  });
});

describe('stage', () => {
  test('GIVEN defaults WHEN synthesised THEN an auto-deployed prod stage logs access to a one-month log group, without throttling', () => {
    const { stack, realtime, template } = realtimeStack();

    template().resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    template().hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: { Ref: logicalId(stack, realtime.webSocketApi) },
      StageName: 'prod',
      AutoDeploy: true,
      DefaultRouteSettings: Match.absent(),
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [logicalId(stack, realtime.accessLogGroup!), 'Arn'] },
        Format: Match.stringLikeRegexp('\\$context\\.requestId'),
      },
    });
    template().hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  test('GIVEN stageName, throttle and logRetention WHEN synthesised THEN the stage uses them', () => {
    const { template } = realtimeStack({
      stageName: 'live',
      throttle: { rateLimit: 50, burstLimit: 100 },
      logRetention: RetentionDays.ONE_WEEK,
    });

    template().hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'live',
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
    const logGroups = template().findResources('AWS::Logs::LogGroup');
    expect(Object.values(logGroups).map((r) => r.Properties.RetentionInDays)).toEqual([7, 7, 7, 7, 7]);
  });

  test('GIVEN defaults WHEN synthesised THEN the five log groups, with the rollover one, are retained like the table', () => {
    const { template } = realtimeStack();

    const logGroups = Object.values(template().findResources('AWS::Logs::LogGroup'));
    expect(logGroups.map((r) => [r.DeletionPolicy, r.UpdateReplacePolicy])).toEqual(Array(5).fill(['Retain', 'Retain']));
  });

  test('GIVEN removalPolicy DESTROY WHEN synthesised THEN the five log groups, with the rollover one, go with the stack', () => {
    const { template } = realtimeStack({ removalPolicy: RemovalPolicy.DESTROY });

    const logGroups = Object.values(template().findResources('AWS::Logs::LogGroup'));
    expect(logGroups.map((r) => [r.DeletionPolicy, r.UpdateReplacePolicy])).toEqual(Array(5).fill(['Delete', 'Delete']));
  });

  test('GIVEN removalPolicy DESTROY and an existing table WHEN synthesised THEN the log groups still follow it', () => {
    const stack = new Stack(appWithoutBundling(), 'Stack');
    const table = new TableV2(stack, 'Existing', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      timeToLiveAttribute: 'expireAt',
    });
    new TrpcSubscriptionApi(stack, 'Realtime', { entry: HANDLERS_ENTRY, table, removalPolicy: RemovalPolicy.DESTROY });

    const logGroups = Object.values(Template.fromStack(stack).findResources('AWS::Logs::LogGroup'));
    expect(logGroups.map((r) => r.DeletionPolicy)).toEqual(Array(5).fill('Delete'));
  });

  test('GIVEN accessLogging false WHEN synthesised THEN the stage has no access log settings', () => {
    const { realtime, template } = realtimeStack({ accessLogging: false });

    template().hasResourceProperties('AWS::ApiGatewayV2::Stage', { AccessLogSettings: Match.absent() });
    expect(realtime.accessLogGroup).toBeUndefined();
    template().resourceCountIs('AWS::Logs::LogGroup', 4);
  });

  test('GIVEN defaults WHEN synthesised THEN url and callbackUrl come from the stage', () => {
    const { stack, realtime } = realtimeStack();
    const api = logicalId(stack, realtime.webSocketApi);
    const url = (scheme: string) => ({
      'Fn::Join': ['', [`${scheme}://`, { Ref: api }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/prod']],
    });

    expect(stack.resolve(realtime.url)).toEqual(url('wss'));
    expect(stack.resolve(realtime.callbackUrl)).toEqual(url('https'));
    expect(realtime.url).toBe(realtime.stage.url);
    expect(realtime.callbackUrl).toBe(realtime.stage.callbackUrl);
  });
});

describe('custom domain', () => {
  test('GIVEN a name and a certificate WHEN synthesised THEN a regional domain is mapped to the stage', () => {
    const stack = new Stack(appWithoutBundling(), 'Stack');
    const certificate = Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:eu-west-1:123456789012:certificate/abc');
    const realtime = new TrpcSubscriptionApi(stack, 'Realtime', {
      entry: HANDLERS_ENTRY,
      customDomain: { name: 'realtime.example.com', certificate },
    });

    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: 'realtime.example.com',
      DomainNameConfigurations: [Match.objectLike({
        CertificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc',
        EndpointType: 'REGIONAL',
      })],
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::ApiMapping', {
      ApiId: { Ref: logicalId(stack, realtime.webSocketApi) },
      DomainName: { Ref: logicalId(stack, realtime.domainName as DomainName) },
      Stage: 'prod',
    });
  });

  test('GIVEN an existing domain WHEN synthesised THEN only the API mapping is created', () => {
    const stack = new Stack(appWithoutBundling(), 'Stack');
    const domainName = DomainName.fromDomainNameAttributes(stack, 'Domain', {
      name: 'realtime.example.com',
      regionalDomainName: 'd-abc.execute-api.eu-west-1.amazonaws.com',
      regionalHostedZoneId: 'Z123',
    });
    new TrpcSubscriptionApi(stack, 'Realtime', { entry: HANDLERS_ENTRY, customDomain: { domainName } });

    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::ApiGatewayV2::DomainName', 0);
    template.hasResourceProperties('AWS::ApiGatewayV2::ApiMapping', { DomainName: 'realtime.example.com' });
  });
});

describe('rollover', () => {
  test('GIVEN defaults WHEN synthesised THEN the rollover export runs every minute with the age, on the handlers\' role', () => {
    const { stack, realtime, template } = realtimeStack();

    template().hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.rollover',
      Role: { 'Fn::GetAtt': [logicalId(stack, realtime.handlerRole as iam.Role), 'Arn'] },
      Environment: { Variables: Match.objectLike({ TRPC_SUBSCRIPTIONS_ROLLOVER_AGE_SECONDS: '6900', [ENDPOINT_ENV]: stack.resolve(realtime.callbackUrl) }) },
    });
    template().hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(stack, realtime.rolloverHandler!), 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0 } })],
    });
    expect(realtime.rolloverHandler!.role).toBe(realtime.handlerRole);
  });

  test('GIVEN schedule, age and an export name WHEN synthesised THEN the rule and the function use them', () => {
    const { template } = realtimeStack({
      entry: path.join(__dirname, '..', 'fixtures', 'entries', 'roll-all.ts'),
      rollover: { schedule: Duration.minutes(5), age: Duration.minutes(100) },
      handlerNames: { rollover: 'rollAll' },
    });

    template().hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
    template().hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.rollAll',
      Environment: { Variables: Match.objectLike({ TRPC_SUBSCRIPTIONS_ROLLOVER_AGE_SECONDS: '6000' }) },
    });
  });

  test('GIVEN rollover.enabled false WHEN synthesised THEN there is no rollover function or rule', () => {
    const { realtime, template } = realtimeStack({ rollover: { enabled: false } });

    template().resourceCountIs('AWS::Events::Rule', 0);
    template().resourceCountIs('AWS::Lambda::Function', 3);
    expect(realtime.rolloverHandler).toBeUndefined();
    expect(realtime.rolloverRule).toBeUndefined();
  });
});

describe('handlers', () => {
  test('GIVEN defaults WHEN synthesised THEN three ARM functions on the newest Node.js runtime run the connect, handler and disconnect exports', () => {
    const { stack, realtime, template } = realtimeStack();
    const endpoint = stack.resolve(realtime.callbackUrl);

    template().resourceCountIs('AWS::Lambda::Function', 4);
    for (const handler of ['index.connect', 'index.handler', 'index.disconnect']) {
      template().hasResourceProperties('AWS::Lambda::Function', {
        Handler: handler,
        Runtime: defaultNodejsRuntime().name,
        Architectures: ['arm64'],
        MemorySize: 512,
        Timeout: 10,
        Role: { 'Fn::GetAtt': [logicalId(stack, realtime.handlerRole as iam.Role), 'Arn'] },
        LoggingConfig: { LogGroup: { Ref: Match.anyValue() } },
        Environment: {
          Variables: {
            NODE_ENV: 'production',
            NODE_OPTIONS: '--enable-source-maps',
            [TABLE_NAME_ENV]: { Ref: logicalId(stack, realtime.table as TableV2) },
            [ENDPOINT_ENV]: endpoint,
            [ROW_TTL_ENV]: '7800',
          },
        },
      });
    }
  });

  test('GIVEN rowTtl WHEN synthesised THEN the handlers get it in whole seconds', () => {
    const { template } = realtimeStack({ rowTtl: Duration.hours(3) });

    template().resourcePropertiesCountIs('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [ROW_TTL_ENV]: '10800' }) },
    }, 4);
  });

  test('GIVEN defaults WHEN synthesised THEN the three handlers and the rollover each have their own code asset (one bundle per role)', () => {
    const { template } = realtimeStack();

    const functions = Object.values(template().findResources('AWS::Lambda::Function'));
    const codes = new Set(functions.map((fn) => JSON.stringify(fn.Properties.Code)));
    expect(functions).toHaveLength(4);
    expect(codes.size).toBe(4);
  });

  test('GIVEN bundlePerRole false WHEN synthesised THEN the three handlers and the rollover share one code asset', () => {
    const { template } = realtimeStack({ bundlePerRole: false });

    const functions = Object.values(template().findResources('AWS::Lambda::Function'));
    const codes = new Set(functions.map((fn) => JSON.stringify(fn.Properties.Code)));
    expect(functions).toHaveLength(4);
    expect(codes.size).toBe(1);
  });

  test('GIVEN overrides WHEN synthesised THEN runtime, architecture, memory, timeout, environment and handler names apply', () => {
    const { template } = realtimeStack({
      entry: path.join(__dirname, '..', 'fixtures', 'entries', 'custom-names.ts'),
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.X86_64,
      memorySize: 1024,
      timeout: Duration.seconds(29),
      environment: { NODE_ENV: 'staging', LOG_LEVEL: 'debug', [TABLE_NAME_ENV]: 'ignored' },
      handlerNames: { connect: 'onConnect', message: 'onMessage', disconnect: 'onDisconnect' },
    });

    for (const handler of ['index.onConnect', 'index.onMessage', 'index.onDisconnect']) {
      template().hasResourceProperties('AWS::Lambda::Function', {
        Handler: handler,
        Runtime: 'nodejs22.x',
        Architectures: ['x86_64'],
        MemorySize: 1024,
        Timeout: 29,
        Environment: {
          Variables: Match.objectLike({ NODE_ENV: 'staging', LOG_LEVEL: 'debug', [TABLE_NAME_ENV]: { Ref: Match.anyValue() } }),
        },
      });
    }
  });

  test('GIVEN defaults WHEN synthesised THEN each function logs to its own one-month log group', () => {
    const { stack, realtime, template } = realtimeStack();

    for (const handler of [realtime.connectHandler, realtime.messageHandler, realtime.disconnectHandler]) {
      const fn = template().toJSON().Resources[logicalId(stack, handler)];
      const logGroup = template().toJSON().Resources[fn.Properties.LoggingConfig.LogGroup.Ref];
      expect(logGroup).toEqual(expect.objectContaining({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 } }));
    }
  });
});

describe('handler IAM', () => {
  test('GIVEN defaults WHEN synthesised THEN the handler role has exactly the table, @connections and log permissions', () => {
    const { stack, realtime, template } = realtimeStack();
    const logGroupArn = (handler: LambdaFunction) => {
      const fn = template().toJSON().Resources[logicalId(stack, handler)];
      return { 'Fn::GetAtt': [fn.Properties.LoggingConfig.LogGroup.Ref, 'Arn'] };
    };

    template().hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }],
      },
      ManagedPolicyArns: Match.absent(),
    });
    template().hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalId(stack, realtime.handlerRole as iam.Role) }],
      PolicyDocument: {
        Statement: [
          {
            Action: HANDLER_TABLE_ACTIONS,
            Effect: 'Allow',
            Resource: { 'Fn::GetAtt': [logicalId(stack, realtime.table as TableV2), 'Arn'] },
          },
          { Action: 'execute-api:ManageConnections', Effect: 'Allow', Resource: connectionsArns(stack, realtime) },
          ...[realtime.connectHandler, realtime.messageHandler, realtime.disconnectHandler, realtime.rolloverHandler!].map((handler) => ({
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Effect: 'Allow',
            Resource: logGroupArn(handler),
          })),
        ],
      },
    });
  });

  test('GIVEN a stageName WHEN synthesised THEN @connections permissions are scoped to that stage', () => {
    const { stack, realtime, template } = realtimeStack({ stageName: 'live' });

    template().hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          { Action: 'execute-api:ManageConnections', Effect: 'Allow', Resource: connectionsArns(stack, realtime, 'live') },
        ]),
      },
    });
  });

  test('GIVEN a customer managed key WHEN synthesised THEN the handler role may encrypt and decrypt with it', () => {
    const stack = regionalStack();
    const key = new Key(stack, 'Key');
    const realtime = new TrpcSubscriptionApi(stack, 'Realtime', { entry: HANDLERS_ENTRY, encryptionKey: key });

    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalId(stack, realtime.handlerRole as iam.Role) }],
      PolicyDocument: {
        Statement: Match.arrayWith([{
          Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*'],
          Effect: 'Allow',
          Resource: { 'Fn::GetAtt': [logicalId(stack, key), 'Arn'] },
        }]),
      },
    });
  });
});

describe('grantPublish', () => {
  test('GIVEN a Lambda function WHEN granted THEN it gets both environment variables', () => {
    const { stack, realtime, template } = realtimeStack();
    const producer = producerFunction(stack);

    realtime.grantPublish(producer);

    template().hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Code: { ZipFile: Match.anyValue() },
      Environment: {
        Variables: {
          [TABLE_NAME_ENV]: { Ref: logicalId(stack, realtime.table as TableV2) },
          [ENDPOINT_ENV]: stack.resolve(realtime.callbackUrl),
        },
      },
    });
  });

  test('GIVEN a Lambda function WHEN granted THEN its policy has exactly Query/PutItem/BatchWriteItem (and, for lifecycle hooks, conditional DeleteItem and UpdateItem) under fine-grained conditions, room presence\'s own statements and @connections on this stage', () => {
    const { stack, realtime, template } = realtimeStack();
    const producer = producerFunction(stack);

    const grant = realtime.grantPublish(producer);

    expect(grant.success).toBe(true);
    template().hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalId(stack, producer.role as iam.Role) }],
      PolicyDocument: {
        Statement: [
          {
            Action: PUBLISH_TABLE_ACTIONS,
            Condition: PUBLISH_TABLE_CONDITIONS,
            Effect: 'Allow',
            Resource: { 'Fn::GetAtt': [logicalId(stack, realtime.table as TableV2), 'Arn'] },
          },
          { Action: 'execute-api:ManageConnections', Effect: 'Allow', Resource: connectionsArns(stack, realtime) },
          ...PUBLISH_PRESENCE_STATEMENTS,
        ],
      },
    });
  });

  test('GIVEN an IAM role WHEN granted THEN it gets the same IAM permissions', () => {
    const { stack, realtime, template } = realtimeStack();
    const role = new iam.Role(stack, 'Worker', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });

    realtime.grantPublish(role);

    template().hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalId(stack, role) }],
      PolicyDocument: {
        Statement: [
          { Action: PUBLISH_TABLE_ACTIONS, Condition: PUBLISH_TABLE_CONDITIONS, Effect: 'Allow', Resource: Match.anyValue() },
          { Action: 'execute-api:ManageConnections', Effect: 'Allow', Resource: connectionsArns(stack, realtime) },
          ...PUBLISH_PRESENCE_STATEMENTS,
        ],
      },
    });
  });

  test('GIVEN a customer managed key WHEN granted THEN the grantee may use the key', () => {
    const stack = regionalStack();
    const key = new Key(stack, 'Key');
    const realtime = new TrpcSubscriptionApi(stack, 'Realtime', { entry: HANDLERS_ENTRY, encryptionKey: key });
    const producer = producerFunction(stack);

    realtime.grantPublish(producer);

    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalId(stack, producer.role as iam.Role) }],
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Action: Match.arrayWith(['kms:Decrypt', 'kms:Encrypt']),
          Resource: { 'Fn::GetAtt': [logicalId(stack, key), 'Arn'] },
        })]),
      },
    });
  });
});

describe('grantControl', () => {
  test('GIVEN a Lambda function WHEN granted THEN it gets grantPublish plus the stop\'s actions under fine-grained conditions, no GetItem', () => {
    const { stack, realtime, template } = realtimeStack();
    const moderator = producerFunction(stack);

    const grant = realtime.grantControl(moderator);

    expect(grant.success).toBe(true);
    template().hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalId(stack, moderator.role as iam.Role) }],
      PolicyDocument: {
        Statement: [
          { Action: PUBLISH_TABLE_ACTIONS, Condition: PUBLISH_TABLE_CONDITIONS, Effect: 'Allow', Resource: Match.anyValue() },
          { Action: 'execute-api:ManageConnections', Effect: 'Allow', Resource: connectionsArns(stack, realtime) },
          ...PUBLISH_PRESENCE_STATEMENTS,
          {
            Action: ['dynamodb:Query', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:ConditionCheckItem'],
            Condition: {
              'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['CONN#*', 'ROUTE#*'] },
              'ForAllValues:StringEquals': {
                'dynamodb:Attributes': ['pk', 'sk', 'connectionId', 'subscriptionId', 'indexKeys', 'expireAt', 'stopped', 'subscriptionCount', 'path', 'hookState', 'stopping'],
              },
              'StringEqualsIfExists': { 'dynamodb:Select': ['SPECIFIC_ATTRIBUTES'], 'dynamodb:ReturnValues': 'NONE' },
            },
            Effect: 'Allow',
            Resource: { 'Fn::GetAtt': [logicalId(stack, realtime.table as TableV2), 'Arn'] },
          },
        ],
      },
    });
  });
});

describe('bundleFeatures narrows the grants', () => {
  /** The table statements (actions and conditions) of the policy of `role`. */
  function tableStatements(template: Template, stack: Stack, role: iam.IRole): Array<{ Action: unknown; Condition?: any }> {
    const policy = Object.values(template.findResources('AWS::IAM::Policy'))
      .find((candidate: any) => candidate.Properties.Roles.some((ref: any) => ref.Ref === logicalId(stack, role as iam.Role))) as any;
    return policy.Properties.PolicyDocument.Statement.filter((statement: any) => [statement.Action].flat().some((action: string) => action.startsWith('dynamodb:')))
      .map(({ Action, Condition }: any) => ({ Action, Condition }));
  }

  test('GIVEN hooks false WHEN granted control THEN the hooks\' DeleteItem, UpdateItem and attributes are left out of both statements, nothing else', () => {
    const { stack, realtime, template } = realtimeStack({ bundleFeatures: { hooks: false } });
    const moderator = producerFunction(stack);

    realtime.grantControl(moderator);

    const [publish, ...rest] = tableStatements(template(), stack, moderator.role!);
    expect(publish).toEqual({
      Action: ['dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem'],
      Condition: {
        ...PUBLISH_TABLE_CONDITIONS,
        'ForAllValues:StringEquals': {
          'dynamodb:Attributes': [
            'pk', 'sk', 'connectionId', 'subscriptionId', 'jsonrpc', 'indexKeys', 'region', 'connectedAt', 'connectionKey', 'expireAt',
            'liveAfter', 'filter', 'result',
          ],
        },
      },
    });
    // The presence statements as they were; the stop's without the route, the hooks' state and `stopping`.
    expect(rest.slice(0, -1)).toEqual(PUBLISH_PRESENCE_STATEMENTS.map(({ Action, Condition }) => ({ Action, Condition })));
    expect(rest.at(-1)!.Condition['ForAllValues:StringEquals']['dynamodb:Attributes'])
      .toEqual(['pk', 'sk', 'connectionId', 'subscriptionId', 'indexKeys', 'expireAt', 'stopped', 'subscriptionCount']);
  });

  test('GIVEN history false WHEN granted publish THEN the append, the HIST# rows and the events\' attributes are left out, nothing else', () => {
    const { stack, realtime, template } = realtimeStack({ bundleFeatures: { history: false } });
    const producer = producerFunction(stack);

    realtime.grantPublish(producer);

    expect(tableStatements(template(), stack, producer.role!)[0]).toEqual({
      Action: ['dynamodb:Query', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem'],
      Condition: {
        ...PUBLISH_TABLE_CONDITIONS,
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['CONN#*', 'ROUTE#*', 'KEY#*', 'AGE#*'] },
        'ForAllValues:StringEquals': {
          'dynamodb:Attributes': [
            'pk', 'sk', 'connectionId', 'subscriptionId', 'jsonrpc', 'indexKeys', 'region', 'connectedAt', 'connectionKey', 'expireAt',
            'liveAfter', 'path', 'hookState', 'stopped', 'ending', 'awaitingConnectionParams', 'refusal',
          ],
        },
      },
    });
  });

  test.each([
    [{}, ['dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem']],
    // Presence releases still delete pointer rows.
    [{ hooks: false }, ['dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem']],
    [{ presence: false, hooks: false, history: false }, ['dynamodb:Query', 'dynamodb:BatchWriteItem', 'dynamodb:UpdateItem']],
  ])('GIVEN queuedFanOut and bundleFeatures %j THEN the worker role\'s table actions are %j', (bundleFeatures, actions) => {
    const { stack, realtime, template } = realtimeStack({ queuedFanOut: {}, bundleFeatures });
    const granted = tableStatements(template(), stack, realtime.fanOut!.role).flatMap((statement) => [statement.Action].flat());
    expect(granted.sort()).toEqual([...actions].sort());
  });
});
