import { Annotations, Token } from 'aws-cdk-lib';
import { SubnetType } from 'aws-cdk-lib/aws-ec2';
import { ApplicationLogLevel, LoggingFormat, SystemLogLevel, Tracing } from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import type { TrpcSubscriptionAlarmOptions, TrpcSubscriptionOperationsProps } from './operations-props';
import { PropValidationError } from './prop-validation-error';
import { API_ID_DIMENSION, MAX_METRIC_DIMENSIONS, METRICS_LINE_KEYS, STAGE_DIMENSION } from '../lambda/metric-names';

/**
 * CloudWatch namespaces: ASCII letters, digits and `. - _ / # :` and space, at most 255
 * characters, not in the reserved `AWS/` prefix.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html
 */
const NAMESPACE_PATTERN = /^[A-Za-z0-9._\-/#: ]{1,255}$/;
const MAX_DIMENSION_NAME = 255;
const MAX_DIMENSION_VALUE = 1024;
const RESERVED_DIMENSIONS = [API_ID_DIMENSION, STAGE_DIMENSION];
const COUNT_THRESHOLDS = [
  'handlerErrors', 'handlerThrottles', 'executionErrors', 'integrationErrors', 'postsFailed', 'postsThrottled', 'subscriptionsRefused',
  'fanOutDeadLetters', 'fanOutWorkerErrors',
] as const;

/**
 * Checks the operations props of a `TrpcSubscriptionApi` at synth time, skipping unresolved
 * tokens; throws a {@link PropValidationError} naming the prop and the value.
 *
 * @param scope the construct, for warnings
 * @param props the operations props
 * @param accessLogging whether the stage writes access logs
 */
export function validateOperationsProps(scope: IConstruct, props: TrpcSubscriptionOperationsProps, accessLogging: boolean): void {
  validateMetrics(props);
  validateAlarms(scope, props);
  validateTracing(props.tracing);
  validateLogLevels(props);
  validateAccessLogFormat(props, accessLogging);
  validateReservedConcurrency(props);
  validateVpc(scope, props);
  validateRole(props);
}

function validateMetrics(props: TrpcSubscriptionOperationsProps): void {
  const namespace = props.metrics?.namespace;
  if (namespace !== undefined && !Token.isUnresolved(namespace)
    && (!NAMESPACE_PATTERN.test(namespace) || namespace.startsWith('AWS/'))) {
    throw new PropValidationError(
      'metrics.namespace',
      'must be 1 to 255 letters, digits, spaces or . - _ / # : and not start with AWS/',
      JSON.stringify(namespace),
    );
  }
  const dimensions = Object.entries(props.metrics?.dimensions ?? {});
  const maxExtra = MAX_METRIC_DIMENSIONS - RESERVED_DIMENSIONS.length;
  if (dimensions.length > maxExtra) {
    throw new PropValidationError(
      'metrics.dimensions',
      `must have at most ${maxExtra} entries (CloudWatch allows ${MAX_METRIC_DIMENSIONS} dimensions, ApiId and Stage included)`,
      String(dimensions.length),
    );
  }
  for (const [name, value] of dimensions) {
    if (RESERVED_DIMENSIONS.includes(name)) {
      throw new PropValidationError('metrics.dimensions', `must not set ${RESERVED_DIMENSIONS.join(' or ')} (the construct sets them)`, name);
    }
    if ((METRICS_LINE_KEYS as readonly string[]).includes(name)) {
      throw new PropValidationError(
        'metrics.dimensions',
        `must not be named ${METRICS_LINE_KEYS.join(' or ')} (keys of every metrics line, read by Lambda's log-level filter)`,
        name,
      );
    }
    if (name.length === 0 || name.length > MAX_DIMENSION_NAME || name.startsWith(':')) {
      throw new PropValidationError('metrics.dimensions', `must have names of 1 to ${MAX_DIMENSION_NAME} characters not starting with ':'`, JSON.stringify(name));
    }
    if (!Token.isUnresolved(value) && (value.length === 0 || value.length > MAX_DIMENSION_VALUE)) {
      throw new PropValidationError(`metrics.dimensions.${name}`, `must be 1 to ${MAX_DIMENSION_VALUE} characters`, JSON.stringify(value));
    }
  }
}

function validateAlarms(scope: IConstruct, props: TrpcSubscriptionOperationsProps): void {
  if (props.alarms === undefined || typeof props.alarms === 'boolean') {
    if (props.alarms && props.metrics?.enabled === false) warnRuntimeAlarmsSkipped(scope);
    return;
  }
  const options: TrpcSubscriptionAlarmOptions = props.alarms;
  for (const key of COUNT_THRESHOLDS) {
    const value = options[key];
    if (value !== undefined && !Token.isUnresolved(value) && !(Number.isFinite(value) && value >= 1)) {
      throw new PropValidationError(`alarms.${key}`, 'must be a number of at least 1', String(value));
    }
  }
  const latency = options.integrationLatencyP99;
  if (latency !== undefined && !latency.isUnresolved() && latency.toMilliseconds() <= 0) {
    throw new PropValidationError('alarms.integrationLatencyP99', 'must be longer than 0 milliseconds', latency.toHumanString());
  }
  if (props.metrics?.enabled === false) warnRuntimeAlarmsSkipped(scope);
}

function warnRuntimeAlarmsSkipped(scope: IConstruct): void {
  Annotations.of(scope).addWarningV2(
    'cdk-trpc-subscriptions:alarmsWithoutMetrics',
    '`alarms` on the runtime metrics (PostsFailed, PostsThrottled, SubscriptionsRefused) are not created '
      + 'with `metrics.enabled: false`; the Lambda and API Gateway alarms are',
  );
}

function validateTracing(tracing: Tracing | undefined): void {
  const allowed: string[] = [Tracing.ACTIVE, Tracing.PASS_THROUGH, Tracing.DISABLED];
  if (tracing !== undefined && !allowed.includes(tracing)) {
    throw new PropValidationError('tracing', `must be one of ${allowed.join(', ')}`, String(tracing));
  }
}

/**
 * The values Lambda accepts (`LoggingConfig`): a value cast from configuration, e.g. an
 * environment variable, would otherwise fail only at deploy time.
 * @see https://docs.aws.amazon.com/lambda/latest/api/API_LoggingConfig.html
 */
function validateLogLevels(props: TrpcSubscriptionOperationsProps): void {
  checkOneOf('loggingFormat', props.loggingFormat, Object.values(LoggingFormat));
  checkOneOf('applicationLogLevel', props.applicationLogLevel, bySeverity(Object.values(ApplicationLogLevel)));
  checkOneOf('systemLogLevel', props.systemLogLevel, bySeverity(Object.values(SystemLogLevel)));
  for (const prop of ['applicationLogLevel', 'systemLogLevel'] as const) {
    if (props[prop] !== undefined && props.loggingFormat !== LoggingFormat.JSON) {
      throw new PropValidationError(
        prop,
        'must be used with `loggingFormat: LoggingFormat.JSON` (Lambda filters levels of JSON logs only)',
        `loggingFormat ${props.loggingFormat ?? 'unset (Text)'}`,
      );
    }
  }
}

const SEVERITY = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];

/** Log levels from the most verbose to the most severe, as Lambda's documentation lists them. */
function bySeverity(levels: readonly string[]): string[] {
  return [...levels].sort((a, b) => SEVERITY.indexOf(a) - SEVERITY.indexOf(b));
}

function checkOneOf(prop: string, value: string | undefined, allowed: readonly string[]): void {
  if (value !== undefined && !Token.isUnresolved(value) && !allowed.includes(value)) {
    throw new PropValidationError(prop, `must be one of ${allowed.join(', ')}`, value);
  }
}

function validateAccessLogFormat(props: TrpcSubscriptionOperationsProps, accessLogging: boolean): void {
  const format = props.accessLogFormat;
  if (format === undefined) return;
  if (!accessLogging) {
    throw new PropValidationError('accessLogFormat', 'must be used with `accessLogging` true', 'accessLogging false');
  }
  const text = format.toString();
  // API Gateway rejects an access log format without a request id.
  // https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-logging.html
  if (!Token.isUnresolved(text) && !/\$context\.(extendedRequestId|requestId)\b/.test(text)) {
    throw new PropValidationError('accessLogFormat', 'must contain $context.requestId or $context.extendedRequestId', text);
  }
}

function validateReservedConcurrency(props: TrpcSubscriptionOperationsProps): void {
  for (const [handler, value] of Object.entries(props.reservedConcurrency ?? {})) {
    if (value !== undefined && !Token.isUnresolved(value) && !(Number.isInteger(value) && value >= 1)) {
      throw new PropValidationError(
        `reservedConcurrency.${handler}`,
        'must be a positive integer (0 would block the route)',
        String(value),
      );
    }
  }
}

/**
 * The functions must sit in private subnets: Lambda gives a function in a public subnet no public
 * IP, so it could reach neither DynamoDB nor the `@connections` API. Isolated subnets deploy, but
 * reach them only through endpoints or a proxy the app adds: a warning.
 */
function validateVpc(scope: IConstruct, props: TrpcSubscriptionOperationsProps): void {
  const vpc = props.vpc;
  if (!vpc) {
    for (const prop of ['vpcSubnets', 'securityGroups'] as const) {
      if (props[prop] !== undefined) {
        throw new PropValidationError(prop, 'must be used with `vpc`', 'no vpc');
      }
    }
    return;
  }
  const prop = props.vpcSubnets ? 'vpcSubnets' : 'vpc';
  let subnetIds: string[];
  try {
    subnetIds = vpc.selectSubnets(props.vpcSubnets).subnetIds;
  } catch (error) {
    // aws-cdk-lib's "There are no 'Private' subnet groups in this VPC", e.g.
    throw new PropValidationError('vpcSubnets', 'must select subnets that `vpc` has', (error as Error).message);
  }
  const publicIds = new Set(vpc.publicSubnets.map((subnet) => subnet.subnetId));
  if (subnetIds.some((id) => publicIds.has(id))) {
    throw new PropValidationError(
      prop,
      prop === 'vpc'
        ? 'must have private subnets (with egress) for the functions, or pass `vpcSubnets`: Lambda gives functions in public subnets no internet access'
        : 'must select private subnets (with egress): Lambda gives functions in public subnets no internet access',
      prop === 'vpc' ? 'only public subnets' : `${subnetIds.length} subnets, public among them`,
    );
  }
  const isolatedIds = new Set(vpc.isolatedSubnets.map((subnet) => subnet.subnetId));
  if (subnetIds.some((id) => isolatedIds.has(id))) {
    Annotations.of(scope).addWarningV2(
      'cdk-trpc-subscriptions:isolatedSubnets',
      `\`${prop}\` places the functions in isolated subnets (${SubnetType.PRIVATE_ISOLATED}): they need a route to DynamoDB `
        + '(a gateway endpoint) and to the public `execute-api` endpoint of the `@connections` API, or every post times out',
    );
  }
}

function validateRole(props: TrpcSubscriptionOperationsProps): void {
  if (props.role && props.permissionsBoundary) {
    throw new PropValidationError(
      'permissionsBoundary',
      'must not be used with `role` (set the boundary on that role)',
      'both `role` and `permissionsBoundary`',
    );
  }
}
