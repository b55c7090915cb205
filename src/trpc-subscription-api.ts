import * as fs from 'fs';
import * as path from 'path';
import { Annotations, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import {
  DomainName,
  WebSocketApi,
  WebSocketRoute,
  WebSocketStage,
  type IDomainName,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { Alarm, Dashboard } from 'aws-cdk-lib/aws-cloudwatch';
import { AttributeType, Billing, TableEncryptionV2, TableV2, type ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction as LambdaFunctionTarget, SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Architecture, Function as LambdaFunction, Runtime, RuntimeFamily } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays, type ILogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { jsonAccessLogFormat, setAccessLogs } from './access-log-format';
import { createAlarms } from './alarms';
import { createDashboard } from './dashboard';
import { findMissingHandlerExports } from './entry-exports';
import { TrpcSubscriptionFanOut } from './fan-out-queue';
import { DEFAULT_ENVIRONMENT, defaultNodejsRuntime, noteUntestedDefaultRuntime } from './function-defaults';
import { acknowledgeTracingWildcard, createExecutionRole, handlerOperationOptions } from './handler-operations';
import { allowLogsToUseKey } from './log-encryption';
import { peerConnectionArns, regionEndpointsJson, settleMultiRegion, type SettledPeer } from './multi-region';
import { acknowledgeNagFindings, acknowledgeRule, wildcardActionFindings, wildcardResourceFindings } from './nag-acknowledgements';
import { validateOperationsProps } from './operations-validation';
import { PropValidationError } from './prop-validation-error';
import { keptFeatures, roleBundling } from './role-bundling';
import { readTableSchema, type KeyAttribute } from './table-schema';
import { TrpcSubscriptionApiMetrics } from './trpc-subscription-api-metrics';
import type { BundleFeatures, TrpcSubscriptionApiProps, TrpcSubscriptionCustomDomain, TrpcSubscriptionThrottle } from './trpc-subscription-api-props';
import {
  CONTROL_HOOKS_ACCESS, CONTROL_TABLE_ACCESS, DEFAULT_ROLLOVER_AGE_SECONDS, DEFAULT_ROW_TTL_SECONDS, ENDPOINT_ENV, MAX_CONNECTION_SECONDS,
  PARTITION_KEY, PUBLISHER_HISTORY_ACCESS, PUBLISHER_HOOKS_ACCESS, PUBLISHER_PRESENCE_ACCESS, PUBLISHER_TABLE_ACCESS,
  QUEUE_URL_ENV, REGION_ENDPOINTS_ENV, REGION_ENV, ROLLOVER_AGE_ENV, ROW_TTL_ENV, SORT_KEY, TABLE_NAME_ENV, TTL_ATTRIBUTE,
} from '../lambda/constants';

/** API Gateway ends every integration after 29 seconds; a longer Lambda timeout is never used. */
const MAX_INTEGRATION_TIMEOUT = Duration.seconds(29);
const MIN_MEMORY_MB = 128;
const MAX_MEMORY_MB = 10_240;
const STAGE_NAME_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
const JS_IDENTIFIER_PATTERN = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * Table actions of the handlers: the store reads and writes single rows, writes a subscription
 * and its filter index rows in one transaction (conditional on the connection row), and deletes
 * a connection's rows with Query + BatchWriteItem. `TransactWriteItems` is authorised through
 * the item actions it contains. No Scan.
 */
const HANDLER_TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:Query',
  'dynamodb:BatchWriteItem',
];

/** The partitions, attributes, `Select` and `ReturnValues` values a conditioned table statement allows. */
interface TableAccess {
  readonly partitionKeyPrefixes: readonly string[];
  readonly attributes: readonly string[];
  /** Reads' `Select` values (none: the statement allows no read). */
  readonly select: readonly string[];
  /** Writes' `ReturnValues` (default: `NONE` only, nothing is returned). */
  readonly returnValues?: readonly string[];
}

/** A conditioned table statement's actions and what it allows them. */
interface TableStatementAccess extends TableAccess {
  readonly actions: readonly string[];
}

/** The part of a table access that only one feature needs (`PUBLISHER_HOOKS_ACCESS`...). */
interface FeatureAccess {
  readonly actions?: readonly string[];
  readonly partitionKeyPrefixes?: readonly string[];
  readonly attributes?: readonly string[];
}

/**
 * `access` without the parts of the features an app leaves out (`bundleFeatures`): their actions,
 * partitions and attributes removed, the rest in its order (an app with every feature gets the
 * policy it always got).
 */
function withoutParts(access: TableStatementAccess, parts: readonly FeatureAccess[]): TableStatementAccess {
  const left = (values: readonly string[], key: keyof FeatureAccess) => values.filter((value) => !parts.some((part) => part[key]?.includes(value)));
  return {
    ...access,
    actions: left(access.actions, 'actions'),
    partitionKeyPrefixes: left(access.partitionKeyPrefixes, 'partitionKeyPrefixes'),
    attributes: left(access.attributes, 'attributes'),
  };
}

/**
 * DynamoDB fine-grained access conditions of `grantPublish` ({@link PUBLISHER_TABLE_ACCESS}) and
 * `grantControl` ({@link CONTROL_TABLE_ACCESS}): only those partitions and attributes, and only
 * named attributes (a Query must select them), so neither can read `connectionParams` or the
 * `$connect` snapshot of connection rows.
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html
 */
function tableConditions(access: TableAccess): Record<string, Record<string, string | string[]>> {
  const returnValues = access.returnValues ?? ['NONE'];
  return {
    'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': access.partitionKeyPrefixes.map((prefix) => `${prefix}*`) },
    'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...access.attributes] },
    'StringEqualsIfExists': {
      ...(access.select.length > 0 ? { 'dynamodb:Select': [...access.select] } : {}),
      'dynamodb:ReturnValues': returnValues.length === 1 ? returnValues[0] : [...returnValues],
    },
  };
}

/**
 * The methods of the `@connections` management API the runtime calls: send (POST) and
 * disconnect (DELETE). It never reads a connection's state (GET), so no role may.
 */
const CONNECTION_METHODS = ['POST', 'DELETE'];

/**
 * The serverless backend of tRPC v11 subscriptions: a DynamoDB table (`pk`/`sk`, TTL on
 * `expireAt`), an API Gateway WebSocket API with a stage, and four Lambda functions built from
 * one handlers module: the handlers of `$connect`, `$default` (two-way, so a handler can answer
 * one frame directly) and `$disconnect`, and the scheduled rollover (unless `rollover.enabled` is
 * false); with `queuedFanOut`, a fifth: the fan-out worker.
 *
 * The handlers are three functions rather than one: each route gets its own metrics, logs,
 * concurrency and cold-start pool, and a slow `$connect` cannot delay `PONG`s on `$default`.
 * Each is bundled from `entry` with its own role's code only (`bundlePerRole`), so a `$connect`
 * carries neither the message handler nor the publisher.
 *
 * @example
 * const realtime = new TrpcSubscriptionApi(stack, 'Realtime', {
 *   entry: path.join(__dirname, 'handlers.ts'),
 * });
 * realtime.grantPublish(producerFunction);
 */
export class TrpcSubscriptionApi extends TrpcSubscriptionApiMetrics {
  /** The table of connections and subscriptions (created, or the `table` prop). */
  public readonly table: ITable;
  /** The WebSocket API. */
  public readonly webSocketApi: WebSocketApi;
  /** The stage clients connect to. */
  public readonly stage: WebSocketStage;
  /** Handler of the `$connect` route. */
  public readonly connectHandler: NodejsFunction;
  /** Handler of the `$default` route (every message). */
  public readonly messageHandler: NodejsFunction;
  /** Handler of the `$disconnect` route. */
  public readonly disconnectHandler: NodejsFunction;
  /**
   * The scheduled rollover function (tells connections near the 2-hour limit to reconnect).
   * @default - undefined when `rollover.enabled` is false
   */
  public readonly rolloverHandler?: NodejsFunction;
  /**
   * The EventBridge rule that runs {@link rolloverHandler}.
   * @default - undefined when `rollover.enabled` is false
   */
  public readonly rolloverRule?: Rule;
  /** The `$connect` route (carries the `authorizer`). */
  public readonly connectRoute: WebSocketRoute;
  /** The two-way `$default` route. */
  public readonly messageRoute: WebSocketRoute;
  /** The `$disconnect` route. */
  public readonly disconnectRoute: WebSocketRoute;
  /** The execution role shared by the three handlers and the rollover. */
  public readonly handlerRole: iam.IRole;
  /**
   * The stage's access log group.
   * @default - undefined when `accessLogging` is false
   */
  public readonly accessLogGroup?: ILogGroup;
  /**
   * The custom domain mapped to the stage.
   * @default - undefined without `customDomain`
   */
  public readonly domainName?: IDomainName;
  /** The alarms of the `alarms` prop (empty without it). */
  public readonly alarms: Alarm[];
  /**
   * The dashboard of the `dashboard` prop.
   * @default - undefined without `dashboard`
   */
  public readonly dashboard?: Dashboard;
  /**
   * The queued fan-out: queue, dead-letter queue and worker.
   * @default - undefined without `queuedFanOut`
   */
  public readonly fanOut?: TrpcSubscriptionFanOut;
  /** WebSocket URL of the stage for clients: `wss://{api-id}.execute-api.{region}.{suffix}/{stage}`. */
  public readonly url: string;
  /**
   * Management API endpoint of the stage: `https://{api-id}.execute-api.{region}.{suffix}/{stage}`
   * (the value of `TRPC_SUBSCRIPTIONS_ENDPOINT`).
   */
  public readonly callbackUrl: string;

  /** Multi-region: this Region and the other Regions' APIs (`undefined` single-region). */
  private readonly multiRegion?: { readonly region: string; readonly peers: readonly SettledPeer[] };

  /**
   * The features the app keeps (`bundleFeatures`): the grants leave out what only the others need
   * (presence rows; the hooks' conditional deletes and marks; the history's appends), and
   * multi-region props need multi-region kept.
   */
  private readonly features: Readonly<Required<BundleFeatures>>;

  constructor(scope: Construct, id: string, props: TrpcSubscriptionApiProps) {
    super(scope, id, props);
    const entry = path.resolve(props.entry);
    const stageName = props.stageName ?? 'prod';
    const timeout = props.timeout ?? Duration.seconds(10);
    const rowTtl = props.rowTtl ?? Duration.seconds(DEFAULT_ROW_TTL_SECONDS);
    const memorySize = props.memorySize ?? 512;
    const runtime = props.runtime ?? defaultNodejsRuntime();
    if (!props.runtime) noteUntestedDefaultRuntime(this, runtime);
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const handlerNames = {
      connect: props.handlerNames?.connect ?? 'connect',
      message: props.handlerNames?.message ?? 'handler',
      disconnect: props.handlerNames?.disconnect ?? 'disconnect',
      rollover: props.handlerNames?.rollover ?? 'rollover',
    };
    const rolloverEnabled = props.rollover?.enabled ?? true;
    const rolloverSchedule = props.rollover?.schedule ?? Duration.minutes(1);
    const rolloverAge = props.rollover?.age ?? Duration.seconds(DEFAULT_ROLLOVER_AGE_SECONDS);
    const bundlePerRole = props.bundlePerRole ?? true;

    this.validateEntry(entry);
    this.validateHandlerNames(handlerNames);
    const { rollover: rolloverName, ...routeHandlerNames } = handlerNames;
    const workerName = props.queuedFanOut ? props.queuedFanOut.handlerName ?? 'worker' : undefined;
    if (workerName !== undefined && !JS_IDENTIFIER_PATTERN.test(workerName)) {
      throw new PropValidationError('queuedFanOut.handlerName', 'must be a JavaScript identifier', JSON.stringify(workerName));
    }
    this.validateEntryExports(entry, {
      ...(rolloverEnabled ? handlerNames : routeHandlerNames),
      ...(workerName !== undefined ? { worker: workerName } : {}),
    });
    this.validateRuntime(runtime);
    this.validateMemorySize(memorySize);
    this.validateTimeout(timeout);
    this.validateRowTtl(rowTtl);
    if (rolloverEnabled) this.validateRollover(rolloverSchedule, rolloverAge);
    this.validateStageName(stageName);
    this.validateThrottle(props.throttle);
    this.validateCustomDomain(props.customDomain);
    this.validateEncryptionKey(props);
    validateOperationsProps(this, props, props.accessLogging !== false);
    if (props.table) {
      this.validateTable(props.table);
      this.warnAboutIgnoredTableProps(props);
    }
    this.features = keptFeatures(props.bundleFeatures);
    this.multiRegion = this.settleMultiRegion(props);

    this.table = props.table ?? (props.multiRegion && !props.multiRegion.replicaRegions
      // Another Region's stack created the global table: use this Region's replica.
      ? TableV2.fromTableName(this, 'Table', props.multiRegion.tableName)
      : this.createTable(props));

    this.webSocketApi = new WebSocketApi(this, 'WebSocketApi', { apiName: props.apiName });
    this.domainName = this.createDomainName(props.customDomain);
    this.accessLogGroup = props.accessLogging === false
      ? undefined
      : new LogGroup(this, 'AccessLogs', { retention: logRetention, removalPolicy, encryptionKey: props.logEncryptionKey });
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.webSocketApi,
      stageName,
      autoDeploy: true,
      throttle: props.throttle,
      domainMapping: this.domainName ? { domainName: this.domainName } : undefined,
    });
    if (this.accessLogGroup) setAccessLogs(this.stage, this.accessLogGroup, props.accessLogFormat ?? jsonAccessLogFormat());
    this.url = this.stage.url;
    this.callbackUrl = this.stage.callbackUrl;

    if (props.logEncryptionKey) {
      allowLogsToUseKey(this, props.logEncryptionKey);
    }
    const role = props.role ?? createExecutionRole(this, 'HandlerRole', 'Execution role of the tRPC subscription handlers', props);
    this.handlerRole = role;
    this.table.grant(role, ...HANDLER_TABLE_ACTIONS);
    this.grantTableKey(role);
    this.grantManageConnections(role);

    const createHandler = (
      handlerId: string, handler: string, routeKey: string, key: 'connect' | 'message' | 'disconnect' | 'rollover',
      extraEnvironment: Record<string, string> = {},
    ): NodejsFunction => {
      const logGroup = new LogGroup(this, `${handlerId}Logs`, { retention: logRetention, removalPolicy, encryptionKey: props.logEncryptionKey });
      logGroup.grantWrite(role);
      const fn = new NodejsFunction(this, handlerId, {
        // The rollover shares the handlers' tracing, logging and VPC, not a route's reserved concurrency.
        ...(key === 'rollover'
          ? { ...handlerOperationOptions(props, 'connect'), reservedConcurrentExecutions: undefined }
          : handlerOperationOptions(props, key)),
        entry,
        handler,
        description: `tRPC subscriptions: ${routeKey}`,
        runtime,
        architecture: props.architecture ?? Architecture.ARM_64,
        memorySize,
        timeout,
        role,
        logGroup,
        environment: {
          ...DEFAULT_ENVIRONMENT,
          ...props.environment,
          [TABLE_NAME_ENV]: this.table.tableName,
          [ENDPOINT_ENV]: this.callbackUrl,
          [ROW_TTL_ENV]: String(rowTtl.toSeconds()),
          ...this.metricsEnvironment(),
          ...this.regionEnvironment(),
          ...extraEnvironment,
        },
        // One bundle per role; with `bundlePerRole: false` the options are identical, so the
        // asset cache bundles `entry` once and every function shares that asset.
        bundling: roleBundling(key, props.bundling, bundlePerRole, props.bundleFeatures),
      });
      acknowledgeRule(
        fn,
        'Serverless-LambdaDLQ',
        key === 'rollover'
          ? 'A missed rollover run is made up by the next scheduled one; its event carries nothing to keep.'
          : 'API Gateway invokes the handler synchronously and gets its errors; there is no event to dead-letter.',
      );
      return fn;
    };
    if (props.queuedFanOut) {
      this.fanOut = new TrpcSubscriptionFanOut(this, 'FanOut', {
        options: props.queuedFanOut,
        entry,
        runtime,
        architecture: props.architecture ?? Architecture.ARM_64,
        bundling: roleBundling('worker', props.bundling, bundlePerRole, props.bundleFeatures),
        logRetention,
        removalPolicy,
        operations: props,
        environment: {
          ...DEFAULT_ENVIRONMENT,
          ...props.environment,
          [TABLE_NAME_ENV]: this.table.tableName,
          [ENDPOINT_ENV]: this.callbackUrl,
          ...this.metricsEnvironment(),
          ...this.regionEnvironment(),
        },
      });
      this.table.grant(this.fanOut.role, ...this.workerTableActions());
      this.grantTableKey(this.fanOut.role);
      this.grantManageConnections(this.fanOut.role);
    }
    this.connectHandler = createHandler('ConnectHandler', handlerNames.connect, '$connect', 'connect');
    this.messageHandler = createHandler('MessageHandler', handlerNames.message, '$default', 'message');
    this.disconnectHandler = createHandler('DisconnectHandler', handlerNames.disconnect, '$disconnect', 'disconnect');
    acknowledgeTracingWildcard(this.handlerRole, props.tracing);

    this.connectRoute = this.webSocketApi.addRoute('$connect', {
      integration: new WebSocketLambdaIntegration('ConnectIntegration', this.connectHandler),
      authorizer: props.authorizer,
    });
    this.messageRoute = this.webSocketApi.addRoute('$default', {
      integration: new WebSocketLambdaIntegration('MessageIntegration', this.messageHandler),
      // Two-way: the handler's returned body (a PONG, a `started` frame) goes to the client.
      returnResponse: true,
    });
    this.disconnectRoute = this.webSocketApi.addRoute('$disconnect', {
      integration: new WebSocketLambdaIntegration('DisconnectIntegration', this.disconnectHandler),
    });

    this.acknowledgeRoutesWithoutAuthorizer();

    const handlers = [this.connectHandler, this.messageHandler, this.disconnectHandler];
    const alarmOptions = typeof props.alarms === 'object' ? props.alarms : {};
    this.alarms = props.alarms ? createAlarms(this, handlers, alarmOptions, this.fanOut) : [];
    if (props.dashboard) {
      this.dashboard = createDashboard(this, handlers, this.alarms, typeof props.dashboard === 'object' ? props.dashboard : {}, this.fanOut);
    }

    if (rolloverEnabled) {
      // The handlers' role (and so their VPC, tracing and KMS permissions): the rollover only
      // Queries the table, posts to connections and removes the rows of those that are gone.
      this.rolloverHandler = createHandler(
        'RolloverHandler', handlerNames.rollover, 'rollover', 'rollover', { [ROLLOVER_AGE_ENV]: String(rolloverAge.toSeconds()) },
      );
      this.rolloverRule = new Rule(this, 'RolloverSchedule', {
        description: 'Tells tRPC subscription clients near the 2-hour connection limit to reconnect',
        schedule: Schedule.rate(rolloverSchedule),
        // A missed run is made up by the next one.
        targets: [new LambdaFunctionTarget(this.rolloverHandler, { retryAttempts: 0 })],
      });
      acknowledgeRule(
        this.rolloverRule,
        'Serverless-EventBusDLQ',
        'A missed rollover run is made up by the next scheduled one; its event carries nothing to keep.',
      );
    }
  }

  /**
   * Lets `grantee` publish to subscribers: Query the table, delete the rows of connections that
   * are gone (BatchWriteItem; with lifecycle hooks, conditional DeleteItems, and UpdateItem of a connection's `ending` mark
   * before `reconnect()` / `disconnect()`), append to routes' histories (PutItem), read room presence and release a gone
   * connection's presence (its own statements: Query, DeleteItem of `PRESREF#` pointers, UpdateItem of `PRES#` members' refs and
   * presence), restricted by DynamoDB fine-grained access conditions to
   * the partitions and attributes a publisher uses (never `connectionParams` or what `$connect`
   * saw), and POST/DELETE `@connections` on this stage only; with `queuedFanOut`, also send to
   * the fan-out queue (`enqueue()`). What only a feature the app leaves out (`bundleFeatures`)
   * needs is not granted: presence's statements, the hooks' DeleteItem and UpdateItem and their
   * attributes, the history's PutItem and `HIST#` rows. When `grantee` is a Lambda `Function`, also sets
   * `TRPC_SUBSCRIPTIONS_TABLE_NAME`, `TRPC_SUBSCRIPTIONS_ENDPOINT` (and
   * `TRPC_SUBSCRIPTIONS_QUEUE_URL`) in its environment, which the runtime's publisher reads.
   *
   * @param grantee a Lambda function, or any other principal (IAM only)
   * @returns the combined grant
   */
  public grantPublish(grantee: iam.IGrantable): iam.Grant {
    if (grantee instanceof LambdaFunction) {
      grantee.addEnvironment(TABLE_NAME_ENV, this.table.tableName);
      grantee.addEnvironment(ENDPOINT_ENV, this.callbackUrl);
      for (const [name, value] of Object.entries(this.metricsEnvironment())) {
        grantee.addEnvironment(name, value);
      }
      for (const [name, value] of Object.entries(this.regionEnvironment())) {
        grantee.addEnvironment(name, value);
      }
      if (this.fanOut) grantee.addEnvironment(QUEUE_URL_ENV, this.fanOut.queue.queueUrl);
    }
    const tableAccess = this.publisherTableAccess();
    let grant = iam.Grant.addToPrincipal({
      grantee,
      actions: [...tableAccess.actions],
      resourceArns: [this.table.tableArn],
      conditions: tableConditions(tableAccess),
    }).combine(this.grantManageConnections(grantee));
    // Room presence: its own statements, which alone may return rows (the release and the leave);
    // none for an app that declares no presence route (`bundleFeatures.presence: false`).
    for (const access of this.features.presence ? Object.values(PUBLISHER_PRESENCE_ACCESS) : []) {
      grant = grant.combine(iam.Grant.addToPrincipal({
        grantee, actions: [...access.actions], resourceArns: [this.table.tableArn], conditions: tableConditions(access),
      }));
    }
    if (this.fanOut) grant = grant.combine(this.fanOut.queue.grantSendMessages(grantee));
    this.grantTableKey(grantee);
    return grant;
  }

  /**
   * Event-fed publishing: sends the events `rule` matches to the fan-out queue, where the worker
   * maps each to typed publishes (`appSubscriptions.worker({ events })` in `entry`).
   * Needs `queuedFanOut`.
   *
   * @example
   * realtime.publishOnEvent(new events.Rule(stack, 'Orders', {
   *   eventBus, eventPattern: { source: ['shop.orders'] },
   * }));
   */
  public publishOnEvent(rule: Rule): void {
    if (!this.fanOut) {
      throw new PropValidationError('queuedFanOut', 'must be set to publish from EventBridge rules (publishOnEvent)', 'undefined');
    }
    rule.addTarget(new SqsQueue(this.fanOut.queue));
  }

  /**
   * Everything {@link grantPublish} gives, plus what a server-side stop of subscriptions needs
   * (`publisher.routes.<path>.stop()`): Query, DeleteItem, UpdateItem, PutItem and
   * ConditionCheckItem on the table, under fine-grained conditions like `grantPublish`'s (the
   * `CONN#` and `ROUTE#` partitions, the attributes a stop names, named reads only), so a
   * controller cannot read `connectionParams` or the `$connect` snapshot either; without lifecycle
   * hooks (`bundleFeatures.hooks: false`) not the hooks' `path`, `hookState` and `stopping`.
   * `grantPublish` alone already covers `publisher.connections` (reconnect, disconnect, presence).
   *
   * @param grantee a Lambda function, or any other principal (IAM only)
   * @returns the combined grant
   */
  public grantControl(grantee: iam.IGrantable): iam.Grant {
    // Without hooks a stop names neither the route, the hooks' state nor the `stopping` mark.
    const access = withoutParts(CONTROL_TABLE_ACCESS, this.features.hooks ? [] : [CONTROL_HOOKS_ACCESS]);
    return this.grantPublish(grantee).combine(iam.Grant.addToPrincipal({
      grantee,
      actions: [...access.actions],
      resourceArns: [this.table.tableArn],
      conditions: tableConditions(access),
    }));
  }

  /**
   * `grantPublish`'s table statement: {@link PUBLISHER_TABLE_ACCESS} without the history's appends
   * and the hooks' conditional deletes and marks for an app that has none (`bundleFeatures`).
   */
  private publisherTableAccess(): TableStatementAccess {
    return withoutParts(PUBLISHER_TABLE_ACCESS, [
      ...(this.features.history ? [] : [PUBLISHER_HISTORY_ACCESS]),
      ...(this.features.hooks ? [] : [PUBLISHER_HOOKS_ACCESS]),
    ]);
  }

  /**
   * Table actions of the fan-out worker (not conditioned: its role is its own): a publisher's, its
   * presence statements' included (PutItem appends the events that EventBridge mappings publish to
   * routes with a history; BatchWriteItem also saves the targets of each batch a split cuts, and
   * Query reads them back when a split is retried), plus UpdateItem for its delivery ledger
   * (`QUEUE#` rows: claim and record a batch, open and close a split). An app without presence,
   * hooks or a history leaves out what only they need, as `grantPublish` does.
   */
  private workerTableActions(): string[] {
    const presence = this.features.presence ? Object.values(PUBLISHER_PRESENCE_ACCESS).flatMap((access) => access.actions) : [];
    return [...new Set([...this.publisherTableAccess().actions, ...presence, 'dynamodb:UpdateItem'])];
  }

  /**
   * `execute-api:ManageConnections` on `@connections/*` of this API and stage, per method, and of
   * each peer Region's API and stage (multi-region). The `*` stands for connection ids, which
   * exist only at runtime; cdk-nag's wildcard finding for exactly these ARNs is acknowledged on
   * the grantee.
   */
  private grantManageConnections(grantee: iam.IGrantable): iam.Grant {
    const stack = Stack.of(this);
    const resourceArns = CONNECTION_METHODS.map((method) => stack.formatArn({
      service: 'execute-api',
      resource: this.webSocketApi.apiId,
      resourceName: `${this.stage.stageName}/${method}/@connections/*`,
    }));
    for (const peer of this.multiRegion?.peers ?? []) resourceArns.push(...peerConnectionArns(stack, peer, CONNECTION_METHODS));
    const grant = iam.Grant.addToPrincipal({ grantee, actions: ['execute-api:ManageConnections'], resourceArns });
    const principal = grantee.grantPrincipal;
    if (principal instanceof Construct) {
      acknowledgeNagFindings(principal, wildcardResourceFindings(
        principal,
        resourceArns,
        'API Gateway connection ids exist only at runtime: ManageConnections is scoped to '
          + '@connections/* of this WebSocket API and stage (and of each peer Region\'s API and stage).',
      ));
    }
    return grant;
  }

  /** Encrypt/decrypt on the table's customer managed key, if it has one. */
  private grantTableKey(grantee: iam.IGrantable): void {
    const key = this.table.encryptionKey;
    if (!key) {
      return;
    }
    key.grantEncryptDecrypt(grantee);
    const principal = grantee.grantPrincipal;
    if (principal instanceof Construct) {
      acknowledgeNagFindings(principal, wildcardActionFindings(
        ['kms:GenerateDataKey*', 'kms:ReEncrypt*'],
        'CDK\'s standard encrypt/decrypt grant on the table\'s KMS key, which DynamoDB needs to read and write items.',
      ));
    }
  }

  /** The multi-region environment of the handlers and publishers (none single-region). */
  private regionEnvironment(): Record<string, string> {
    if (!this.multiRegion) return {};
    const { region, peers } = this.multiRegion;
    return { [REGION_ENV]: region, [REGION_ENDPOINTS_ENV]: regionEndpointsJson(Stack.of(this), region, this.callbackUrl, peers) };
  }

  private settleMultiRegion(props: TrpcSubscriptionApiProps): TrpcSubscriptionApi['multiRegion'] {
    if (!props.multiRegion) return undefined;
    if (!this.features.multiRegion) {
      throw new PropValidationError(
        'bundleFeatures.multiRegion',
        'must not be false with `multiRegion` (the functions would be bundled without the routing of posts to the other Regions)',
        'false',
      );
    }
    const other = props.table ? 'table' : props.encryptionKey ? 'encryptionKey' : undefined;
    if (other) {
      throw new PropValidationError(
        'multiRegion',
        `cannot be combined with \`${other}\` (the construct creates or finds the global table by \`multiRegion.tableName\`, with an AWS owned key)`,
        `both \`multiRegion\` and \`${other}\``,
      );
    }
    return settleMultiRegion(Stack.of(this), props.multiRegion);
  }

  private createTable(props: TrpcSubscriptionApiProps): TableV2 {
    const replicaRegions = props.multiRegion?.replicaRegions;
    return new TableV2(this, 'Table', {
      ...(replicaRegions ? { tableName: props.multiRegion!.tableName, replicas: replicaRegions.map((region) => ({ region })) } : {}),
      partitionKey: { name: PARTITION_KEY, type: AttributeType.STRING },
      sortKey: { name: SORT_KEY, type: AttributeType.STRING },
      timeToLiveAttribute: TTL_ATTRIBUTE,
      billing: Billing.onDemand(),
      encryption: props.encryptionKey
        ? TableEncryptionV2.customerManagedKey(props.encryptionKey)
        : TableEncryptionV2.dynamoOwnedKey(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: props.pointInTimeRecovery ?? false },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }

  private createDomainName(customDomain?: TrpcSubscriptionCustomDomain): IDomainName | undefined {
    if (!customDomain) {
      return undefined;
    }
    return customDomain.domainName ?? new DomainName(this, 'DomainName', {
      domainName: customDomain.name!,
      certificate: customDomain.certificate!,
    });
  }

  /**
   * API Gateway accepts an authorizer on `$connect` only, so cdk-nag's "route without
   * authorization" finding on the other two routes is inherent; it is acknowledged there.
   */
  private acknowledgeRoutesWithoutAuthorizer(): void {
    for (const route of [this.messageRoute, this.disconnectRoute]) {
      acknowledgeNagFindings(route, [{
        rule: 'AwsSolutions-APIG4',
        reason: 'API Gateway WebSocket APIs accept an authorizer on $connect only; later messages '
          + 'run on the connection $connect accepted.',
      }]);
    }
  }

  private validateEntry(entry: string): void {
    if (!fs.existsSync(entry) || !fs.statSync(entry).isFile()) {
      throw new PropValidationError('entry', 'must be an existing file', entry);
    }
  }

  /**
   * The entry must export the handler names (the rollover's too while it is on, the worker's with
   * `queuedFanOut`), or the functions would deploy with nothing to call. Read statically
   * (esbuild's view of the module's exports), never by running user code.
   */
  private validateEntryExports(entry: string, names: Partial<Record<'connect' | 'message' | 'disconnect' | 'rollover' | 'worker', string>>): void {
    const check = findMissingHandlerExports(entry, Object.values(names).filter((name): name is string => name !== undefined));
    if (check && check.missing.length > 0) {
      const missing = check.missing.map((name) => {
        const key = Object.entries(names).find(([, value]) => value === name)![0];
        if (key === 'worker') return `\`${name}\` (queuedFanOut.handlerName)`;
        // The rollover is on by default: say how to do without it.
        if (key === 'rollover') return `\`${name}\` (handlerNames.rollover; or turn the rollover off with \`rollover: { enabled: false }\`)`;
        return `\`${name}\` (handlerNames.${key})`;
      });
      throw new PropValidationError(
        'entry',
        `must export ${missing.join(', ')}`,
        check.found.length > 0 ? `exports ${check.found.map((name) => `\`${name}\``).join(', ')}` : 'no exports',
      );
    }
  }

  private validateHandlerNames(names: Record<'connect' | 'message' | 'disconnect' | 'rollover', string>): void {
    for (const [key, name] of Object.entries(names)) {
      if (!JS_IDENTIFIER_PATTERN.test(name)) {
        throw new PropValidationError(`handlerNames.${key}`, 'must be a JavaScript identifier', JSON.stringify(name));
      }
    }
  }

  private validateRuntime(runtime: Runtime): void {
    if (runtime.family !== RuntimeFamily.NODEJS) {
      throw new PropValidationError('runtime', 'must be a Node.js runtime', runtime.name);
    }
  }

  private validateMemorySize(memorySize: number): void {
    if (Token.isUnresolved(memorySize)) {
      return;
    }
    if (!Number.isInteger(memorySize) || memorySize < MIN_MEMORY_MB || memorySize > MAX_MEMORY_MB) {
      throw new PropValidationError('memorySize', `must be an integer from ${MIN_MEMORY_MB} to ${MAX_MEMORY_MB} (MB)`, String(memorySize));
    }
  }

  private validateRowTtl(rowTtl: Duration): void {
    if (rowTtl.isUnresolved()) {
      return;
    }
    if (rowTtl.toSeconds() < MAX_CONNECTION_SECONDS) {
      throw new PropValidationError(
        'rowTtl',
        'must be at least 2 hours (the API Gateway connection limit)',
        rowTtl.toHumanString(),
      );
    }
  }

  private validateRollover(schedule: Duration, age: Duration): void {
    if (!schedule.isUnresolved()) {
      const minutes = schedule.toSeconds() / 60;
      if (!Number.isInteger(minutes) || minutes < 1) {
        throw new PropValidationError('rollover.schedule', 'must be a whole number of minutes, at least 1 (an EventBridge rate)', schedule.toHumanString());
      }
    }
    if (age.isUnresolved() || schedule.isUnresolved()) {
      return;
    }
    if (age.toSeconds() < 60 || age.toSeconds() + 2 * schedule.toSeconds() > MAX_CONNECTION_SECONDS) {
      throw new PropValidationError(
        'rollover.age',
        `must be at least 1 minute and leave two runs of \`rollover.schedule\` (${schedule.toHumanString()}) before the 2-hour connection limit`,
        age.toHumanString(),
      );
    }
  }

  private validateTimeout(timeout: Duration): void {
    if (timeout.isUnresolved()) {
      return;
    }
    if (timeout.toMilliseconds() > MAX_INTEGRATION_TIMEOUT.toMilliseconds()) {
      throw new PropValidationError(
        'timeout',
        'must be at most 29 seconds (the API Gateway integration timeout)',
        timeout.toHumanString(),
      );
    }
  }

  private validateStageName(stageName: string): void {
    if (Token.isUnresolved(stageName)) {
      return;
    }
    if (!STAGE_NAME_PATTERN.test(stageName)) {
      throw new PropValidationError(
        'stageName',
        'must be 1 to 128 letters, digits, hyphens or underscores',
        JSON.stringify(stageName),
      );
    }
  }

  private validateThrottle(throttle?: TrpcSubscriptionThrottle): void {
    const rate = throttle?.rateLimit;
    if (rate !== undefined && !Token.isUnresolved(rate) && !(Number.isFinite(rate) && rate >= 0)) {
      throw new PropValidationError('throttle.rateLimit', 'must be a non-negative number', String(rate));
    }
    const burst = throttle?.burstLimit;
    if (burst !== undefined && !Token.isUnresolved(burst) && !(Number.isInteger(burst) && burst >= 0)) {
      throw new PropValidationError('throttle.burstLimit', 'must be a non-negative integer', String(burst));
    }
  }

  private validateCustomDomain(customDomain?: TrpcSubscriptionCustomDomain): void {
    if (!customDomain) {
      return;
    }
    const given = [
      customDomain.domainName && 'domainName',
      customDomain.name !== undefined && 'name',
      customDomain.certificate && 'certificate',
    ].filter(Boolean).join(', ');
    const existing = customDomain.domainName !== undefined
      && customDomain.name === undefined && customDomain.certificate === undefined;
    const created = customDomain.domainName === undefined
      && customDomain.name !== undefined && customDomain.certificate !== undefined;
    if (!existing && !created) {
      throw new PropValidationError(
        'customDomain',
        'must set either `domainName`, or both `name` and `certificate`',
        given === '' ? 'none of them' : given,
      );
    }
  }

  /** `TableV2` writes the key per replica Region, so it needs a stack with a known Region. */
  private validateEncryptionKey(props: TrpcSubscriptionApiProps): void {
    if (props.encryptionKey && !props.table && Token.isUnresolved(Stack.of(this).region)) {
      throw new PropValidationError(
        'encryptionKey',
        'needs a stack with an explicit region (env: { region })',
        'a region-agnostic stack',
      );
    }
  }

  private validateTable(table: ITable): void {
    const schema = readTableSchema(table);
    if (schema === undefined) {
      return;
    }
    const isStringKey = (key: KeyAttribute | undefined, name: string) => key?.name === name && key.type === 'S';
    if (!isStringKey(schema.partitionKey, PARTITION_KEY) || !isStringKey(schema.sortKey, SORT_KEY)) {
      const describe = (role: string, key?: KeyAttribute) => (key ? `${role} ${key.name} (${key.type})` : `no ${role}`);
      throw new PropValidationError(
        'table',
        `must have the partition key ${PARTITION_KEY} (S) and the sort key ${SORT_KEY} (S)`,
        `${describe('partition key', schema.partitionKey)}, ${describe('sort key', schema.sortKey)}`,
      );
    }
    if (schema.ttlAttribute !== TTL_ATTRIBUTE) {
      Annotations.of(this).addWarningV2(
        'cdk-trpc-subscriptions:tableTtl',
        `\`table\` should have TTL on ${TTL_ATTRIBUTE}, got: ${schema.ttlAttribute ?? 'no TTL'}; `
          + 'rows of connections whose $disconnect never arrived will not expire',
      );
    }
  }

  private warnAboutIgnoredTableProps(props: TrpcSubscriptionApiProps): void {
    // `removalPolicy` still applies to the log groups.
    const ignored = (['pointInTimeRecovery', 'encryptionKey'] as const)
      .filter((key) => props[key] !== undefined);
    if (ignored.length > 0) {
      Annotations.of(this).addWarningV2(
        'cdk-trpc-subscriptions:ignoredTableProps',
        `${ignored.map((key) => `\`${key}\``).join(', ')} only apply to a table the construct creates; `
          + 'they are ignored with `table`',
      );
    }
  }
}
