import { Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { SubnetType, Vpc } from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ApplicationLogLevel, LoggingFormat, SystemLogLevel, type Tracing } from 'aws-cdk-lib/aws-lambda';
import { HANDLERS_ENTRY, appWithoutBundling } from './helpers';
import { TrpcSubscriptionApi, type TrpcSubscriptionApiProps } from '../../src';

function build(props: Partial<TrpcSubscriptionApiProps>, stack = new Stack(appWithoutBundling(), 'Stack')): TrpcSubscriptionApi {
  return new TrpcSubscriptionApi(stack, 'Realtime', { entry: HANDLERS_ENTRY, ...props });
}

describe('operations props: synth-time errors name the prop and the value', () => {
  test.each(['', 'AWS/Custom', 'bad|name', 'x'.repeat(256)])('GIVEN metrics.namespace %p WHEN constructed THEN it throws', (namespace) => {
    expect(() => build({ metrics: { namespace } }))
      .toThrow(`\`metrics.namespace\` must be 1 to 255 letters, digits, spaces or . - _ / # : and not start with AWS/, got: ${JSON.stringify(namespace)}`);
  });

  test('GIVEN a valid custom namespace WHEN constructed THEN it is accepted', () => {
    expect(() => build({ metrics: { namespace: 'Acme/Realtime-1' } })).not.toThrow();
  });

  test('GIVEN 29 extra dimensions WHEN constructed THEN it throws', () => {
    const dimensions = Object.fromEntries(Array.from({ length: 29 }, (_, i) => [`D${i}`, 'v']));
    expect(() => build({ metrics: { dimensions } }))
      .toThrow('`metrics.dimensions` must have at most 28 entries (CloudWatch allows 30 dimensions, ApiId and Stage included), got: 29');
  });

  test.each(['ApiId', 'Stage'])('GIVEN an extra dimension named %p WHEN constructed THEN it throws', (name) => {
    expect(() => build({ metrics: { dimensions: { [name]: 'x' } } }))
      .toThrow(`\`metrics.dimensions\` must not set ApiId or Stage (the construct sets them), got: ${name}`);
  });

  test.each(['level', 'timestamp'])('GIVEN an extra dimension named %p WHEN constructed THEN it throws', (name) => {
    expect(() => build({ metrics: { dimensions: { [name]: 'x' } } }))
      .toThrow(`\`metrics.dimensions\` must not be named level or timestamp (keys of every metrics line, read by Lambda's log-level filter), got: ${name}`);
  });

  test.each(['', ':colon'])('GIVEN a dimension name %p WHEN constructed THEN it throws', (name) => {
    expect(() => build({ metrics: { dimensions: { [name]: 'x' } } }))
      .toThrow(`\`metrics.dimensions\` must have names of 1 to 255 characters not starting with ':', got: ${JSON.stringify(name)}`);
  });

  test('GIVEN an empty dimension value WHEN constructed THEN it throws', () => {
    expect(() => build({ metrics: { dimensions: { Team: '' } } }))
      .toThrow('`metrics.dimensions.Team` must be 1 to 1024 characters, got: ""');
  });

  test.each([0, 0.5, -1, Number.NaN])('GIVEN alarms.handlerErrors %p WHEN constructed THEN it throws', (handlerErrors) => {
    expect(() => build({ alarms: { handlerErrors } }))
      .toThrow(`\`alarms.handlerErrors\` must be a number of at least 1, got: ${handlerErrors}`);
  });

  test('GIVEN alarms.postsThrottled 0 WHEN constructed THEN it throws', () => {
    expect(() => build({ alarms: { postsThrottled: 0 } }))
      .toThrow('`alarms.postsThrottled` must be a number of at least 1, got: 0');
  });

  test('GIVEN a zero latency threshold WHEN constructed THEN it throws', () => {
    expect(() => build({ alarms: { integrationLatencyP99: Duration.millis(0) } }))
      .toThrow('`alarms.integrationLatencyP99` must be longer than 0 milliseconds, got: 0 millis');
  });

  test('GIVEN an unknown tracing mode WHEN constructed THEN it throws', () => {
    expect(() => build({ tracing: 'Always' as Tracing }))
      .toThrow('`tracing` must be one of Active, PassThrough, Disabled, got: Always');
  });

  test('GIVEN applicationLogLevel without JSON logs WHEN constructed THEN it throws', () => {
    expect(() => build({ applicationLogLevel: ApplicationLogLevel.WARN }))
      .toThrow('`applicationLogLevel` must be used with `loggingFormat: LoggingFormat.JSON` (Lambda filters levels of JSON logs only), got: loggingFormat unset (Text)');
  });

  test('GIVEN systemLogLevel with Text logs WHEN constructed THEN it throws', () => {
    expect(() => build({ loggingFormat: LoggingFormat.TEXT, systemLogLevel: SystemLogLevel.WARN }))
      .toThrow('`systemLogLevel` must be used with `loggingFormat: LoggingFormat.JSON` (Lambda filters levels of JSON logs only), got: loggingFormat Text');
  });

  test.each([
    ['loggingFormat', { loggingFormat: 'XML' as LoggingFormat }, 'Text, JSON', 'XML'],
    ['applicationLogLevel', { loggingFormat: LoggingFormat.JSON, applicationLogLevel: 'VERBOSE' as ApplicationLogLevel }, 'TRACE, DEBUG, INFO, WARN, ERROR, FATAL', 'VERBOSE'],
    ['systemLogLevel', { loggingFormat: LoggingFormat.JSON, systemLogLevel: 'TRACE' as SystemLogLevel }, 'DEBUG, INFO, WARN', 'TRACE'],
    // A lower-case value from an environment variable: Lambda's values are case-sensitive.
    ['applicationLogLevel', { loggingFormat: LoggingFormat.JSON, applicationLogLevel: 'warn' as ApplicationLogLevel }, 'TRACE, DEBUG, INFO, WARN, ERROR, FATAL', 'warn'],
  ] as const)('GIVEN an unknown %s WHEN constructed THEN it throws naming the prop and the allowed values', (prop, props, allowed, value) => {
    expect(() => build(props)).toThrow(`\`${prop}\` must be one of ${allowed}, got: ${value}`);
  });

  test.each(Object.values(ApplicationLogLevel))('GIVEN applicationLogLevel %s with JSON logs WHEN constructed THEN it is accepted', (applicationLogLevel) => {
    expect(() => build({ loggingFormat: LoggingFormat.JSON, applicationLogLevel, systemLogLevel: SystemLogLevel.DEBUG })).not.toThrow();
  });

  test('GIVEN an access log format without a request id WHEN constructed THEN it throws', () => {
    expect(() => build({ accessLogFormat: AccessLogFormat.custom('$context.connectionId') }))
      .toThrow('`accessLogFormat` must contain $context.requestId or $context.extendedRequestId, got: $context.connectionId');
  });

  test('GIVEN an access log format with access logging off WHEN constructed THEN it throws', () => {
    expect(() => build({ accessLogging: false, accessLogFormat: AccessLogFormat.clf() }))
      .toThrow('`accessLogFormat` must be used with `accessLogging` true, got: accessLogging false');
  });

  test.each([0, -2, 1.5])('GIVEN reservedConcurrency.message %p WHEN constructed THEN it throws', (message) => {
    expect(() => build({ reservedConcurrency: { message } }))
      .toThrow(`\`reservedConcurrency.message\` must be a positive integer (0 would block the route), got: ${message}`);
  });

  test('GIVEN vpcSubnets without a vpc WHEN constructed THEN it throws', () => {
    expect(() => build({ vpcSubnets: { subnetType: SubnetType.PRIVATE_WITH_EGRESS } }))
      .toThrow('`vpcSubnets` must be used with `vpc`, got: no vpc');
  });

  test('GIVEN security groups without a vpc WHEN constructed THEN it throws', () => {
    expect(() => build({ securityGroups: [] }))
      .toThrow('`securityGroups` must be used with `vpc`, got: no vpc');
  });

  test('GIVEN a vpc with subnets WHEN constructed THEN it is accepted', () => {
    const stack = new Stack(appWithoutBundling(), 'Stack');
    const vpc = new Vpc(stack, 'Vpc');
    expect(() => build({ vpc, vpcSubnets: { subnetType: SubnetType.PRIVATE_WITH_EGRESS } }, stack)).not.toThrow();
  });

  test('GIVEN a vpc with only public subnets WHEN constructed THEN it throws naming vpc, not aws-cdk-lib\'s allowPublicSubnet', () => {
    const stack = new Stack(appWithoutBundling(), 'Stack');
    const vpc = new Vpc(stack, 'Vpc', { subnetConfiguration: [{ name: 'Public', subnetType: SubnetType.PUBLIC }] });

    expect(() => build({ vpc }, stack)).toThrow(
      '`vpc` must have private subnets (with egress) for the functions, or pass `vpcSubnets`: Lambda gives functions in public subnets no internet access, got: only public subnets',
    );
  });

  test('GIVEN vpcSubnets selecting public subnets WHEN constructed THEN it throws naming vpcSubnets', () => {
    const stack = new Stack(appWithoutBundling(), 'Stack');
    const vpc = new Vpc(stack, 'Vpc', { maxAzs: 2 });

    expect(() => build({ vpc, vpcSubnets: { subnetType: SubnetType.PUBLIC } }, stack)).toThrow(
      '`vpcSubnets` must select private subnets (with egress): Lambda gives functions in public subnets no internet access, got: 2 subnets, public among them',
    );
  });

  test('GIVEN vpcSubnets of a kind the vpc lacks WHEN constructed THEN it throws naming vpcSubnets', () => {
    const stack = new Stack(appWithoutBundling(), 'Stack');
    const vpc = new Vpc(stack, 'Vpc', { subnetConfiguration: [{ name: 'Public', subnetType: SubnetType.PUBLIC }] });

    expect(() => build({ vpc, vpcSubnets: { subnetType: SubnetType.PRIVATE_WITH_EGRESS } }, stack))
      .toThrow(/^`vpcSubnets` must select subnets that `vpc` has, got: There are no 'Private' subnet groups in this VPC/);
  });

  test('GIVEN a vpc with only isolated subnets WHEN constructed THEN it is accepted with a warning about the routes the functions need', () => {
    const stack = new Stack(appWithoutBundling(), 'Stack');
    const vpc = new Vpc(stack, 'Vpc', { subnetConfiguration: [{ name: 'Isolated', subnetType: SubnetType.PRIVATE_ISOLATED }] });
    build({ vpc, rollover: { enabled: false } }, stack);

    Annotations.fromStack(stack).hasWarning('/Stack/Realtime', Match.stringLikeRegexp('^`vpc` places the functions in isolated subnets'));
  });

  test('GIVEN both role and permissionsBoundary WHEN constructed THEN it throws', () => {
    const stack = new Stack(appWithoutBundling(), 'Stack');
    const role = new iam.Role(stack, 'Own', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    const permissionsBoundary = new iam.ManagedPolicy(stack, 'Boundary', { statements: [new iam.PolicyStatement({ actions: ['dynamodb:*'], resources: ['*'] })] });
    expect(() => build({ role, permissionsBoundary }, stack))
      .toThrow('`permissionsBoundary` must not be used with `role` (set the boundary on that role), got: both `role` and `permissionsBoundary`');
  });
});

describe('operations props: warnings', () => {
  test('GIVEN alarms with the runtime metrics off WHEN constructed THEN a warning says the runtime alarms are skipped', () => {
    const stack = new Stack(appWithoutBundling(), 'Stack');
    build({ alarms: true, metrics: { enabled: false } }, stack);

    Annotations.fromStack(stack).hasWarning('/Stack/Realtime', Match.stringLikeRegexp('PostsFailed, PostsThrottled, SubscriptionsRefused\\) are not created'));
  });

  test('GIVEN alarms with the runtime metrics on WHEN constructed THEN there is no warning', () => {
    const stack = new Stack(appWithoutBundling(), 'Stack');
    build({ alarms: true }, stack);

    Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
  });
});
