import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { IDomainName, IWebSocketRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import type { ICertificate } from 'aws-cdk-lib/aws-certificatemanager';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { TrpcSubscriptionMultiRegion } from './multi-region-props';
import type { TrpcSubscriptionOperationsProps } from './operations-props';

/** Names of the handlers exported by the `entry` module. */
export interface TrpcSubscriptionHandlerNames {
  /**
   * Export that handles `$connect` (built with `appSubscriptions.connect()`).
   * @default 'connect'
   */
  readonly connect?: string;
  /**
   * Export that handles `$default`, i.e. every message (built with `appSubscriptions.handler()`).
   * @default 'handler'
   */
  readonly message?: string;
  /**
   * Export that handles `$disconnect` (built with `appSubscriptions.disconnect()`).
   * @default 'disconnect'
   */
  readonly disconnect?: string;
  /**
   * Export of the scheduled rollover function (built with `appSubscriptions.rollover()`); only
   * used while `rollover.enabled` is true.
   * @default 'rollover'
   */
  readonly rollover?: string;
}

/**
 * The graceful rollover: a function run on a schedule tells the clients of connections older
 * than `age` to reconnect (tRPC's reconnect notification), so that they move to a new connection
 * before API Gateway cuts the old one at 2 hours.
 */
export interface TrpcSubscriptionRollover {
  /**
   * Create the scheduled function. Turn it off only when clients may lose their connection at
   * the 2-hour cut (they reconnect, missing what was published meanwhile).
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * How often it runs (an EventBridge rate, whole minutes).
   * @default Duration.minutes(1)
   */
  readonly schedule?: Duration;
  /**
   * Connections older than this are told to reconnect; it must leave at least two runs of the
   * schedule before the 2-hour limit.
   * @default Duration.minutes(115)
   */
  readonly age?: Duration;
}

/** Stage throttling: API Gateway answers requests over the limit with 429. */
export interface TrpcSubscriptionThrottle {
  /**
   * Steady-state requests (messages) per second.
   * @default - the account-level limit
   */
  readonly rateLimit?: number;
  /**
   * Maximum burst of requests.
   * @default - the account-level limit
   */
  readonly burstLimit?: number;
}

/**
 * A custom domain for the WebSocket API, mapped at its root to the stage. Give either
 * `domainName` (an existing API Gateway domain), or `name` and `certificate` (a new regional
 * domain). Point a DNS record at the domain's `regionalDomainName` yourself.
 */
export interface TrpcSubscriptionCustomDomain {
  /**
   * An existing API Gateway v2 custom domain.
   * @default - a new domain is created from `name` and `certificate`
   */
  readonly domainName?: IDomainName;
  /**
   * Fully qualified name of the domain to create, e.g. `realtime.example.com`.
   * @default - none; required unless `domainName` is given
   */
  readonly name?: string;
  /**
   * ACM certificate for `name`, in the stack's Region.
   * @default - none; required unless `domainName` is given
   */
  readonly certificate?: ICertificate;
}

/** Properties of {@link TrpcSubscriptionApi}. */
export interface TrpcSubscriptionApiProps extends TrpcSubscriptionOperationsProps {
  /**
   * Path to the handlers module (TypeScript or JavaScript). It exports the functions built by
   * the runtime: `connect`, `handler`, `disconnect`, `rollover` (unless `rollover.enabled` is
   * false) and, with `queuedFanOut`, `worker` (other names: `handlerNames`,
   * `queuedFanOut.handlerName`). Each function is bundled from it with esbuild (locally, no
   * Docker), with only its own role's code (see `bundlePerRole`).
   */
  readonly entry: string;

  /**
   * Names of the handler exports in `entry`.
   * @default - `{ connect: 'connect', message: 'handler', disconnect: 'disconnect' }`
   */
  readonly handlerNames?: TrpcSubscriptionHandlerNames;

  /**
   * Lambda runtime of the handlers, the rollover and the fan-out worker. Must be a Node.js runtime.
   * @default - the newest Node.js runtime the installed aws-cdk-lib knows, at least
   *   `nodejs24.x` (`nodejs26.x` with aws-cdk-lib 2.278); see docs/construct.md, "Versions"
   */
  readonly runtime?: Runtime;

  /**
   * Instruction set of the handlers.
   * @default Architecture.ARM_64
   */
  readonly architecture?: Architecture;

  /**
   * Memory of each handler in MB (128 to 10240). More memory also means more CPU, which
   * shortens cold starts; a cold `$default` must still answer a `PING` within the client's
   * `pongTimeoutMs` (1 s by default).
   * @default 512
   */
  readonly memorySize?: number;

  /**
   * How long a connection's rows live after it opened before DynamoDB TTL may delete them (the
   * `expireAt` attribute). `$disconnect` deletes them at once; TTL removes what a lost
   * `$disconnect` left. At least 2 hours, API Gateway's connection limit, so no live
   * connection loses its subscriptions.
   * @default Duration.minutes(130)
   */
  readonly rowTtl?: Duration;

  /**
   * Timeout of each handler. At most 29 seconds, the API Gateway integration timeout.
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;

  /**
   * Extra environment variables of the handlers. `NODE_ENV` and `NODE_OPTIONS` may be
   * overridden here; `TRPC_SUBSCRIPTIONS_TABLE_NAME` and `TRPC_SUBSCRIPTIONS_ENDPOINT` are always
   * set by the construct.
   * @default - `NODE_ENV=production` and `NODE_OPTIONS=--enable-source-maps` only
   */
  readonly environment?: Record<string, string>;

  /**
   * Bundle each function (`$connect`, `$default`, `$disconnect`, the rollover, the fan-out
   * worker) from `entry` with its own role only: esbuild replaces
   * `process.env.TRPC_SUBSCRIPTIONS_ROLE` with the function's role (a `define`) and drops the
   * code of the other roles, so each function is smaller and starts faster. In such a bundle the
   * other handler exports fail when called, and `publisher()` publishes only in `$default` and the
   * worker (elsewhere its calls reject, naming this prop). `false` builds one bundle of every
   * role, shared by every function.
   * @default true
   */
  readonly bundlePerRole?: boolean;

  /**
   * Features of the runtime the functions' bundles carry. An app that declares no presence route,
   * no lifecycle hooks or no event history, or runs in one Region, can leave them out: each
   * function is then smaller (`$disconnect` carries no publisher without presence). A bundle made without a feature the app declares
   * fails when its module loads, with an error naming the prop.
   * @default - every feature
   */
  readonly bundleFeatures?: BundleFeatures;

  /**
   * esbuild options, merged over the construct's defaults; with `bundlePerRole`, each function's
   * role is added to `define`.
   * @default - `{ minify: true, sourceMap: true, sourcesContent: false, externalModules: ['@aws-sdk/*'] }`
   *   (the Lambda Node.js runtime provides AWS SDK v3)
   */
  readonly bundling?: BundlingOptions;

  /**
   * Retention of the handlers' log groups and of the stage's access log group.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;

  /**
   * An existing table instead of a new one. It must have the partition key `pk` (S), the sort
   * key `sk` (S) and TTL on `expireAt`; the schema is checked when the table is defined in this
   * app. `pointInTimeRecovery` and `encryptionKey` do not apply to it, nor does `removalPolicy`
   * (which then applies to the log groups only).
   * @default - a new table is created
   */
  readonly table?: ITable;

  /**
   * What happens to the new table and the five log groups (three handlers, the rollover, stage
   * access logs; six with `queuedFanOut`'s worker) when they leave the stack, e.g. on `cdk destroy`. The table holds only live connection state
   * (rows expire about 2 hours after a connection opens), so `DESTROY` loses nothing but the
   * currently open connections.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Point-in-time recovery of the new table.
   * @default false (rows live about 2 hours; a restore would bring back dead connections)
   */
  readonly pointInTimeRecovery?: boolean;

  /**
   * Customer managed KMS key that encrypts the new table; the handlers and `grantPublish`
   * grantees get encrypt/decrypt on it. Needs a stack with an explicit `env.region`.
   * @default - encrypted at rest with an AWS owned key
   */
  readonly encryptionKey?: IKey;

  /**
   * Name of the WebSocket API.
   * @default - the construct's path-derived id
   */
  readonly apiName?: string;

  /**
   * Name of the stage (letters, digits, `-` and `_`, at most 128 characters). It is part of the
   * URLs: `wss://{api-id}.execute-api.{region}.amazonaws.com/{stageName}`.
   * @default 'prod'
   */
  readonly stageName?: string;

  /**
   * Throttling of every route of the stage.
   * @default - no stage throttling (account-level limits apply)
   */
  readonly throttle?: TrpcSubscriptionThrottle;

  /**
   * Write access logs of the stage to a new CloudWatch log group. WebSocket APIs log through
   * the account-level API Gateway CloudWatch role, which must be set once per account and
   * Region (`AWS::ApiGateway::Account`); the deployment fails without it.
   * @default true
   */
  readonly accessLogging?: boolean;

  /**
   * Authorizer of the `$connect` route (API Gateway allows authorizers only there). Its
   * context reaches the runtime's `createContext` through the connection.
   * @default - no authorizer; authenticate in `createContext` (e.g. with `connectionParams`)
   */
  readonly authorizer?: IWebSocketRouteAuthorizer;

  /**
   * Custom domain for the WebSocket API.
   * @default - only the execute-api URL
   */
  readonly customDomain?: TrpcSubscriptionCustomDomain;

  /**
   * Serve one API per Region on one DynamoDB global table, so that a publish in any Region
   * reaches subscribers connected in every Region (docs/multi-region.md). Needs a stack with an
   * explicit `env.region`; excludes `table` and `encryptionKey`.
   * @default - single Region
   */
  readonly multiRegion?: TrpcSubscriptionMultiRegion;

  /**
   * Create the fan-out queue and its worker (`enqueue()`, `publishOnEvent`).
   * @default - no queue: only direct `publish()`
   */
  readonly queuedFanOut?: TrpcSubscriptionQueuedFanOut;
  /**
   * The graceful rollover before API Gateway's 2-hour connection limit.
   * @default - every minute, connections older than 1 hour 55 minutes are told to reconnect
   */
  readonly rollover?: TrpcSubscriptionRollover;
}

/**
 * The queued fan-out: an SQS queue (with a dead-letter queue) that `enqueue()` and EventBridge
 * rules (`publishOnEvent`) feed, and a worker function (the `entry`'s `worker` export, built with
 * `appSubscriptions.worker()`) that delivers in parallel batches, paced to a share of the
 * account's `@connections` quota.
 */
export interface TrpcSubscriptionQueuedFanOut {
  /**
   * Export of `entry` that handles the queue (built with `appSubscriptions.worker()`).
   * @default 'worker'
   */
  readonly handlerName?: string;
  /**
   * Memory of the worker in MB (128 to 10240).
   * @default 1024
   */
  readonly memorySize?: number;
  /**
   * Timeout of one worker invocation (at most 15 minutes); the queue's visibility timeout is six
   * times this, as AWS recommends for SQS event sources.
   * @default Duration.minutes(1)
   */
  readonly timeout?: Duration;
  /**
   * Queue messages per worker invocation (1 to 10). Each message is a delivery batch and every
   * instance is paced to its share of the quota, so one message per invocation spreads the
   * batches over the most instances; more saves invocations on small fan-outs.
   * @default 1
   */
  readonly batchSize?: number;
  /**
   * Most subscribers per delivery batch: a larger publish is split into batches that worker
   * instances deliver in parallel (1 to 1000). A publish of up to `maxConcurrency x
   * deliveryBatchSize x 4` subscribers is cut evenly into a multiple of `maxConcurrency` batches.
   * @default 100
   */
  readonly deliveryBatchSize?: number;
  /**
   * Most worker instances at once (the event source's maximum concurrency, 2 to 1000).
   * @default 20
   */
  readonly maxConcurrency?: number;
  /**
   * Share of the account's `@connections` quota the workers may use together (more than 0, at
   * most 1): each instance posts at most `connectionsQuota * connectionsQuotaShare / maxConcurrency`
   * per second, leaving the rest for direct publishes and the handlers.
   * @default 0.5
   */
  readonly connectionsQuotaShare?: number;
  /**
   * The account's `@connections` quota in this Region, requests per second.
   * @default 10000 (API Gateway's default quota)
   */
  readonly connectionsQuota?: number;
  /**
   * Receives of a message before it moves to the dead-letter queue (1 to 1000).
   * @default 5
   */
  readonly maxReceiveCount?: number;
}

/**
 * Features of the runtime the functions' bundles carry (`bundleFeatures`): each one left out is
 * an esbuild `define` that drops its code from every function (docs/runtime.md, "One role per
 * function").
 */
export interface BundleFeatures {
  /**
   * Room presence (`.routes.<path>.presence()`): joins, leaves and their delivery, `members()`.
   * `false` when the app declares no presence route; `grantPublish` (and `grantControl`,
   * `PublisherFunction`) then also leave out their presence statements (and, with `hooks: false`
   * too, the fan-out worker its DeleteItem).
   * @default true
   */
  readonly presence?: boolean;

  /**
   * Lifecycle hooks (`.hooks()`, `.routes.<path>.hooks()`): the removals that report what they
   * won and the hooks' runs. `false` when the app declares no hooks; `grantPublish` (and
   * `PublisherFunction`) then also leave out the hooks' DeleteItem and UpdateItem and the
   * attributes they name, `grantControl` the hooks' `path`, `hookState` and `stopping` (and,
   * with `presence: false` too, the fan-out worker its DeleteItem).
   * @default true
   */
  readonly hooks?: boolean;

  /**
   * Event history (`.routes.<path>.history()`): the append of each publish, the resume of a
   * reconnecting subscriber, the initial state's fence. `false` when no route keeps a history
   * (tracked routes without `.history()` need none); `grantPublish` (and `PublisherFunction`)
   * then also leave out the append (PutItem) and the `HIST#` rows, the fan-out worker its PutItem.
   * @default true
   */
  readonly history?: boolean;

  /**
   * Multi-region (`multiRegion`, or `.regions()` on the builder): the Regions read from the
   * environment, the routing of Management API calls to each Region, a publish's counts by Region.
   * `false` when the app runs in one Region (refused with `multiRegion`).
   * @default true
   */
  readonly multiRegion?: boolean;
}
