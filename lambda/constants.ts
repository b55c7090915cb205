/**
 * Names and numbers shared by the CDK construct and the Lambda runtime.
 *
 * This module must stay free of imports: the construct (`src/`) reads it at synth time and the
 * runtime (`lambda/`) ships it inside users' Lambda bundles.
 */

/** Environment variable holding the name of the subscriptions table. */
export const TABLE_NAME_ENV = 'TRPC_SUBSCRIPTIONS_TABLE_NAME';

/**
 * Environment variable holding the stage's https callback URL, the endpoint of the API Gateway
 * Management API (`https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`).
 */
export const ENDPOINT_ENV = 'TRPC_SUBSCRIPTIONS_ENDPOINT';

/** Partition key attribute of the subscriptions table (string). */
export const PARTITION_KEY = 'pk';

/** Sort key attribute of the subscriptions table (string). */
export const SORT_KEY = 'sk';

/** TTL attribute of the subscriptions table: integer epoch seconds. */
export const TTL_ATTRIBUTE = 'expireAt';

/**
 * API Gateway closes every WebSocket connection after 2 hours.
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html#apigateway-execution-service-websocket-limits-table
 */
export const MAX_CONNECTION_SECONDS = 2 * 60 * 60;

/**
 * Rows expire this long after the connection opened: just past the 2-hour connection limit, so
 * TTL removes what a lost `$disconnect` left behind.
 */
export const DEFAULT_ROW_TTL_SECONDS = MAX_CONNECTION_SECONDS + 10 * 60;

/**
 * Environment variable overriding how long rows live after their connection opened, in whole
 * seconds (at least {@link MAX_CONNECTION_SECONDS}); set by the construct's `rowTtl`.
 */
export const ROW_TTL_ENV = 'TRPC_SUBSCRIPTIONS_ROW_TTL_SECONDS';

/**
 * API Gateway's maximum WebSocket message size (128 KB).
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html#apigateway-execution-service-websocket-limits-table
 */
export const MAX_MESSAGE_BYTES = 128 * 1024;

/** API Gateway's maximum WebSocket frame size (32 KB). */
export const MAX_FRAME_BYTES = 32 * 1024;

/**
 * Environment variable choosing the default store: `memory` makes handlers built without
 * `.store()` keep everything in process memory (set by the local `dev --store memory` command);
 * anything else, or unset, means DynamoDB.
 */
export const STORE_ENV = 'TRPC_SUBSCRIPTIONS_STORE';

/**
 * Environment variable naming the Region this deployment runs in (multi-region set-ups only):
 * the rows a connection writes carry it, so a publish in any Region posts to the right API.
 */
export const REGION_ENV = 'TRPC_SUBSCRIPTIONS_REGION';

/**
 * Environment variable holding every Region's Management API endpoint as JSON,
 * `{"eu-west-1":"https://{api-id}.execute-api.eu-west-1.amazonaws.com/prod", ...}`; set only in
 * multi-region set-ups (docs/multi-region.md).
 */
export const REGION_ENDPOINTS_ENV = 'TRPC_SUBSCRIPTIONS_REGION_ENDPOINTS';

/** Attribute of connection, subscription and index rows naming the connection's Region (multi-region only). */
export const REGION_ATTRIBUTE = 'region';

/**
 * Environment variable holding the URL of the fan-out queue: `publisher.routes.x.enqueue()`
 * sends there, and the fan-out worker re-enqueues delivery batches there. Set by the construct's
 * `queuedFanOut` on the worker and on functions given `grantPublish`.
 */
export const QUEUE_URL_ENV = 'TRPC_SUBSCRIPTIONS_QUEUE_URL';

/**
 * Environment variable capping the PostToConnection calls per second of one fan-out worker
 * instance (a decimal number); the construct sets it from `queuedFanOut.connectionsQuotaShare`.
 */
export const WORKER_RATE_ENV = 'TRPC_SUBSCRIPTIONS_WORKER_RATE';

/**
 * API Gateway's default account quota of `@connections` requests (PostToConnection and the
 * others) per second, per Region.
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html#apigateway-account-level-limits-table
 */
export const DEFAULT_CONNECTIONS_QUOTA_PER_SECOND = 10_000;

/**
 * SQS's classic maximum message size (256 KiB); every queue message stays below it, whatever the
 * queue's configured maximum.
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
 */
export const MAX_QUEUE_MESSAGE_BYTES = 256 * 1024;

/**
 * Environment variable setting the fan-out worker's targets per delivery batch (an integer from
 * 1 to 1000); the construct sets it from `queuedFanOut.deliveryBatchSize`.
 */
export const DELIVERY_BATCH_SIZE_ENV = 'TRPC_SUBSCRIPTIONS_DELIVERY_BATCH_SIZE';

/**
 * Environment variable giving the fan-out worker instances that may run at once (an integer,
 * the queue event source's maximum concurrency); the construct sets it from `queuedFanOut.maxConcurrency`.
 */
export const WORKER_INSTANCES_ENV = 'TRPC_SUBSCRIPTIONS_WORKER_INSTANCES';

/**
 * The rollover tells connections older than this to reconnect (1 hour 55 minutes): a few
 * scheduled runs before API Gateway's 2-hour cut, so clients move to a new connection first.
 */
export const DEFAULT_ROLLOVER_AGE_SECONDS = MAX_CONNECTION_SECONDS - 5 * 60;

/**
 * Environment variable overriding the rollover age in whole seconds (less than
 * {@link MAX_CONNECTION_SECONDS}); set by the construct's `rollover.age`.
 */
export const ROLLOVER_AGE_ENV = 'TRPC_SUBSCRIPTIONS_ROLLOVER_AGE_SECONDS';

/** Partition key prefix of a connection's rows (connection row, subscriptions, tombstones). */
export const CONNECTION_PARTITION_PREFIX = 'CONN#';

/** Partition key prefix of a route's subscriber index rows. */
export const ROUTE_PARTITION_PREFIX = 'ROUTE#';

/** Partition key prefix of the connection-key index (`connectionKey`: disconnect, reconnect, presence by key). */
export const KEY_PARTITION_PREFIX = 'KEY#';

/** Partition key prefix of the connect-minute buckets (rollover, reconnect of every connection). */
export const AGE_PARTITION_PREFIX = 'AGE#';

/** Partition key prefix of a route's event history (routes with `.history()`; one row per event). */
export const HISTORY_PARTITION_PREFIX = 'HIST#';

/** Partition key prefix of a room's member rows (presence routes; one partition per room). */
export const PRESENCE_PARTITION_PREFIX = 'PRES#';

/** Partition key prefix of a connection's presence pointer rows (one row per presence subscription). */
export const PRESENCE_POINTER_PARTITION_PREFIX = 'PRESREF#';

/**
 * What only routes with an event history (`.routes.<path>.history()`) add to a publisher's table
 * access ({@link PUBLISHER_TABLE_ACCESS} includes it): the append of an event (PutItem of a
 * `HIST#` row naming its `filter` and `result`) and the Query of the route's last event id. A
 * publish, `enqueue()` or the fan-out worker appends only on a route with a history, so
 * `grantPublish` leaves this out for an app without one (`bundleFeatures.history: false`).
 * `liveAfter` is not in it: every subscriber Query names it.
 */
export const PUBLISHER_HISTORY_ACCESS = {
  /** The append. */
  actions: ['dynamodb:PutItem'],
  /** A route's event rows. */
  partitionKeyPrefixes: [HISTORY_PARTITION_PREFIX],
  /** The event rows' filter and result. */
  attributes: ['filter', 'result'],
} as const;

/**
 * What only lifecycle hooks add to a publisher's table access ({@link PUBLISHER_TABLE_ACCESS}
 * includes it): with an `onUnsubscribe` or `onDisconnect`, a gone connection's rows are read
 * (a subscription row's route, `onSubscribe`'s state and tombstone flag; a connection row's
 * `ending` mark and whether it was accepted) and deleted one by one on a condition (DeleteItem,
 * also inside TransactWriteItems), so that exactly one removal runs each hook, and `reconnect()`
 * / `disconnect()` / the rollover mark the connection first (UpdateItem of its `ending`). Without
 * hooks every removal is a Query and a BatchWriteItem, so `grantPublish` leaves this out for an
 * app without hooks (`bundleFeatures.hooks: false`).
 */
export const PUBLISHER_HOOKS_ACCESS = {
  /** The conditional deletes and the `ending` mark. */
  actions: ['dynamodb:DeleteItem', 'dynamodb:UpdateItem'],
  /** The attributes those reads, deletes and marks name (never a connection's params or snapshot). */
  attributes: ['path', 'hookState', 'stopped', 'ending', 'awaitingConnectionParams', 'refusal'],
} as const;

/**
 * What a publisher may do on the table: `grantPublish` turns this into DynamoDB fine-grained
 * access conditions (`dynamodb:LeadingKeys`, `dynamodb:Attributes`, `dynamodb:Select`), and
 * `test/iam/grants.test.ts` evaluates every request a publisher sends against the synthesized policy.
 * Connection rows also hold `connectionParams` and the `$connect` snapshot (tokens): they are not
 * listed, so a publisher cannot read them. It includes {@link PUBLISHER_HISTORY_ACCESS} and
 * {@link PUBLISHER_HOOKS_ACCESS}, which `grantPublish` leaves out for an app without a history or
 * hooks (`bundleFeatures`). A new publisher-side request adds its partition prefix, attributes or
 * action here, or to the part of the feature that alone sends it (docs/security.md).
 */
// A pure call, because its spreads would otherwise keep it in every function's bundle (esbuild
// cannot prove a spread free of side effects); the construct alone reads it.
export const PUBLISHER_TABLE_ACCESS = /* @__PURE__ */ (() => ({
  /**
   * DynamoDB actions: find subscribers and connections (Query; Select COUNT for presence; a gone
   * connection's rows by Queries of named attributes) and remove its rows (BatchWriteItem, the
   * connection row included); with a history, append an event (PutItem; Query of its last id);
   * with lifecycle hooks, conditional DeleteItems and the `ending` mark (UpdateItem).
   */
  actions: ['dynamodb:Query', ...PUBLISHER_HISTORY_ACCESS.actions, 'dynamodb:BatchWriteItem', ...PUBLISHER_HOOKS_ACCESS.actions],
  /** Partition key prefixes a publisher's requests may touch. */
  partitionKeyPrefixes: [
    CONNECTION_PARTITION_PREFIX, ROUTE_PARTITION_PREFIX, KEY_PARTITION_PREFIX, AGE_PARTITION_PREFIX, ...PUBLISHER_HISTORY_ACCESS.partitionKeyPrefixes,
  ],
  /** Attributes a publisher's requests may name (keys included). */
  attributes: [
    PARTITION_KEY, SORT_KEY, 'connectionId', 'subscriptionId', 'jsonrpc', 'indexKeys', REGION_ATTRIBUTE,
    'connectedAt', 'connectionKey', TTL_ATTRIBUTE,
    // The subscriber index rows' `liveAfter` (every subscriber Query names it), the history's own.
    'liveAfter', ...PUBLISHER_HISTORY_ACCESS.attributes,
    ...PUBLISHER_HOOKS_ACCESS.attributes,
  ],
  /** `dynamodb:Select` values: named attributes, or a count (presence), never all attributes. */
  select: ['SPECIFIC_ATTRIBUTES', 'COUNT'],
}) as const)();

/**
 * What a publisher may do on the room presence rows (`PRES#` member rows, `PRESREF#` pointer rows):
 * `grantPublish` adds one statement per entry, each with its own fine-grained conditions, beside
 * {@link PUBLISHER_TABLE_ACCESS}. Neither partition holds a secret, and no statement reaches any
 * other partition, so the release and the leave may return whole rows there (`ReturnValues`),
 * which the main statement forbids. A gone connection a publisher removes (410, a server-side
 * stop or disconnect, the rollover's sweep) releases its presence as the handlers do
 * (docs/table-design.md "Room presence").
 */
export const PUBLISHER_PRESENCE_ACCESS = {
  /**
   * `members()` / `countMembers()` (a room's member rows: key, exposed fields, presence, version,
   * expiry) and a connection's pointer rows (their keys), by Queries of named attributes.
   */
  reads: {
    actions: ['dynamodb:Query'],
    partitionKeyPrefixes: [PRESENCE_PARTITION_PREFIX, PRESENCE_POINTER_PARTITION_PREFIX],
    attributes: [PARTITION_KEY, SORT_KEY, 'key', 'member', 'present', 'v', TTL_ATTRIBUTE],
    select: ['SPECIFIC_ATTRIBUTES'],
    returnValues: ['NONE'],
  },
  /** The release's delete of a pointer row, conditioned on its existence; it returns the row (the winner releases). */
  pointerDeletes: {
    actions: ['dynamodb:DeleteItem'],
    partitionKeyPrefixes: [PRESENCE_POINTER_PARTITION_PREFIX],
    attributes: [PARTITION_KEY, SORT_KEY],
    select: [],
    returnValues: ['ALL_OLD'],
  },
  /**
   * The release's update of a member row (`DELETE refs`, `ADD rev`) and the leave's (`SET present,
   * v` on an unchanged `rev`), each returning the row: never its `member` fields or `key`.
   */
  memberUpdates: {
    actions: ['dynamodb:UpdateItem'],
    partitionKeyPrefixes: [PRESENCE_PARTITION_PREFIX],
    attributes: [PARTITION_KEY, SORT_KEY, 'refs', 'rev', 'present', 'v'],
    select: [],
    returnValues: ['ALL_NEW'],
  },
} as const;

/**
 * What only lifecycle hooks add to a server-side stop's access ({@link CONTROL_TABLE_ACCESS}
 * includes it): the route and `onSubscribe`'s state it reads from the subscription row, and the
 * `stopping` mark it writes there before its frame. `grantControl` leaves this out for an app
 * without hooks (`bundleFeatures.hooks: false`); a stop without hooks names `stopped` and
 * `indexKeys` only.
 */
export const CONTROL_HOOKS_ACCESS = {
  /** The attributes only a stop with hooks names. */
  attributes: ['path', 'hookState', 'stopping'],
} as const;

/**
 * What a server-side stop (`publisher.routes.<path>.stop()`) may do on the table beyond
 * {@link PUBLISHER_TABLE_ACCESS}: `grantControl` adds a second statement with these actions under
 * the same kind of conditions. A stop removes a subscription as a client's stop does: it reads the
 * subscription row's `stopped` and `indexKeys` (a Query of named attributes), deletes the row in a
 * transaction conditioned on `stopped`, with its index rows, and decrements the connection's
 * `subscriptionCount`; when a client's stop removed it first, it writes a tombstone (the
 * connection row's ConditionCheckItem, a PutItem). Never `connectionParams` or `connect`. It
 * includes {@link CONTROL_HOOKS_ACCESS}, left out for an app without hooks.
 */
// A pure call for the same reason as PUBLISHER_TABLE_ACCESS's.
export const CONTROL_TABLE_ACCESS = /* @__PURE__ */ (() => ({
  /** DynamoDB actions (a transaction is authorized through the item actions it contains). */
  actions: ['dynamodb:Query', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:ConditionCheckItem'],
  /** A connection's rows (subscription, tombstone, connection row) and a route's index rows. */
  partitionKeyPrefixes: [CONNECTION_PARTITION_PREFIX, ROUTE_PARTITION_PREFIX],
  /** Attributes a stop's requests may name (keys included). */
  attributes: [
    PARTITION_KEY, SORT_KEY, 'connectionId', 'subscriptionId', 'indexKeys', TTL_ATTRIBUTE, 'stopped', 'subscriptionCount',
    ...CONTROL_HOOKS_ACCESS.attributes,
  ],
  /** `dynamodb:Select` values: named attributes only. */
  select: ['SPECIFIC_ATTRIBUTES'],
}) as const)();

/**
 * The functions of a deployment. `TrpcSubscriptionApi` bundles each from the one handlers module
 * with its role fixed at build time, so that it carries that role's code only (docs/runtime.md,
 * "One role per function").
 */
export const FUNCTION_ROLES = ['connect', 'message', 'disconnect', 'rollover', 'worker'] as const;

/** One of {@link FUNCTION_ROLES}. */
export type FunctionRole = typeof FUNCTION_ROLES[number];

/**
 * The expression each function's bundle replaces with its role (an esbuild `define`, e.g.
 * `'"connect"'`). The runtime writes it out in full at every role test: esbuild then folds the
 * test and drops what only other roles use, which it would not do through a variable. Left as it
 * is (tests, `dev`, a bundle made without the define), it reads an environment variable nothing
 * sets, and every role is kept.
 */
export const ROLE_DEFINE = 'process.env.TRPC_SUBSCRIPTIONS_ROLE';

/**
 * The expression a function's bundle replaces with `'"off"'` when the app has no presence routes
 * (the construct's `bundleFeatures.presence: false`, an esbuild `define`; `'"on"'` otherwise, so
 * that the tests fold either way): the runtime tests `!== 'off'`, written out in full, where
 * presence is kept (the builder, the store's presence operations, the handlers' joins and
 * leaves), so that esbuild drops room presence and, from `$disconnect`, the publisher that sends
 * the leaves. Left as it is, presence is kept.
 */
export const PRESENCE_DEFINE = 'process.env.TRPC_SUBSCRIPTIONS_PRESENCE';

/**
 * The expression a function's bundle replaces with `'"off"'` when the app declares no lifecycle
 * hooks (the construct's `bundleFeatures.hooks: false`; `'"on"'` otherwise): the runtime tests
 * `!== 'off'`, written out in full, where hooks run (the builder, the removals that report what
 * they won, `onSubscribe`, `onConnect`, the rollover's sweep), so that esbuild drops them with
 * the store's reporting removals. Left as it is, hooks are kept.
 */
export const HOOKS_DEFINE = 'process.env.TRPC_SUBSCRIPTIONS_HOOKS';

/**
 * The expression a function's bundle replaces with `'"off"'` when no route keeps an event history
 * (the construct's `bundleFeatures.history: false`; `'"on"'` otherwise): the runtime tests
 * `!== 'off'`, written out in full, where a history is used (the builder, a resume, the initial
 * state's fence, the publisher's append, the store's history operations), so that esbuild drops
 * them. Left as it is, the history is kept.
 */
export const HISTORY_DEFINE = 'process.env.TRPC_SUBSCRIPTIONS_HISTORY';

/**
 * The expression a function's bundle replaces with `'"off"'` when the app runs in one Region
 * only (the construct's `bundleFeatures.multiRegion: false`; `'"on"'` otherwise): the runtime
 * tests `!== 'off'`, written out in full, where Regions are read or routed (the builder's
 * `.regions()`, the Regions from the environment, the routing of Management API calls by Region,
 * a publish's counts by Region), so that esbuild drops them. Left as it is, multi-region is kept.
 */
export const MULTI_REGION_DEFINE = 'process.env.TRPC_SUBSCRIPTIONS_MULTI_REGION';
