/**
 * The production {@link SubscriptionStore}: one DynamoDB table with string `pk`/`sk`, TTL on
 * `expireAt`, no index. Its operations live in ./dynamodb-connections.ts,
 * ./dynamodb-subscriptions.ts and ./dynamodb-history.ts, over the requests of
 * ./dynamodb-requests.ts; keys are built in ./keys.ts. docs/table-design.md explains the design,
 * the races it closes and the cost of each operation.
 */
import {
  countConnectionsByKey,
  findConnection,
  findConnectionsByAge,
  findConnectionsByKey,
  getConnection,
  putConnection,
  refuseConnection,
  removeConnection,
  setConnectionKey,
  setConnectionParams,
} from './dynamodb-connections';
import { appendHistoryEvent, readHistoryEvents, readLastHistoryEvent, type HistoryRequests } from './dynamodb-history';
import { endConnection, endSubscription, markEnding } from './dynamodb-hooks';
import { dynamodbPresence } from './dynamodb-presence';
import { dynamodbTable, report, type DynamoDBStoreOptions, type DynamoDBTable } from './dynamodb-requests';
import { addSubscription, findSubscribers, removeSubscription } from './dynamodb-subscriptions';
import type { HistoryAppend } from './history';
import type { PresenceRows } from './presence';
import { RecentSubscriptions } from './recent-subscriptions';
import type { SubscriptionStore } from './store';

export type { ConsumedCapacityReport, DynamoDBStoreOptions, StoreOperation } from './dynamodb-requests';

/**
 * The DynamoDB subscription store.
 *
 * @example
 * appSubscriptions.store({ store: dynamodb() }); // table from TRPC_SUBSCRIPTIONS_TABLE_NAME
 */
export function dynamodb(options: DynamoDBStoreOptions = {}): SubscriptionStore {
  const table = dynamodbTable(options);
  // Index keys of the subscriptions this instance stored, for their stops (`$default` only: a
  // client's stop arrives at the instance that stored the subscription more often than not).
  const recent = process.env.TRPC_SUBSCRIPTIONS_ROLE === undefined || process.env.TRPC_SUBSCRIPTIONS_ROLE === 'message'
    ? new RecentSubscriptions() : undefined;
  // A function bundled for one role (ROLE_DEFINE in ../constants.ts) keeps the operations that
  // role calls, and the requests and keys only the others use leave its bundle; any other build
  // keeps them all. Each test is written out in full so that esbuild folds it.
  return {
    ...(process.env.TRPC_SUBSCRIPTIONS_ROLE === undefined || process.env.TRPC_SUBSCRIPTIONS_ROLE === 'connect'
      ? connectOperations(table) : undefined),
    ...(process.env.TRPC_SUBSCRIPTIONS_ROLE === undefined || process.env.TRPC_SUBSCRIPTIONS_ROLE === 'message'
      ? messageOperations(table, recent) : undefined),
    ...(process.env.TRPC_SUBSCRIPTIONS_ROLE !== 'connect' ? removalOperations(table) : undefined),
    // Lifecycle hooks: removals that report what they won, in the roles that end each thing: a
    // connection (all but connect), a subscription (a client's stop, a server-side stop), and the
    // mark of a move or a server close (reconnect, disconnect, the rollover).
    // A bundle made without hooks (HOOKS_DEFINE in ../constants.ts) keeps none of them.
    ...(process.env.TRPC_SUBSCRIPTIONS_ROLE !== 'connect' && process.env.TRPC_SUBSCRIPTIONS_HOOKS !== 'off'
      ? { endConnection: endConnectionOf(table) } : undefined),
    ...((process.env.TRPC_SUBSCRIPTIONS_ROLE === undefined || process.env.TRPC_SUBSCRIPTIONS_ROLE === 'message'
      || process.env.TRPC_SUBSCRIPTIONS_ROLE === 'worker') && process.env.TRPC_SUBSCRIPTIONS_HOOKS !== 'off'
      ? { endSubscription: endSubscriptionOf(table, recent) } : undefined),
    ...((process.env.TRPC_SUBSCRIPTIONS_ROLE === undefined || process.env.TRPC_SUBSCRIPTIONS_ROLE === 'message'
      || process.env.TRPC_SUBSCRIPTIONS_ROLE === 'worker' || process.env.TRPC_SUBSCRIPTIONS_ROLE === 'rollover')
      && process.env.TRPC_SUBSCRIPTIONS_HOOKS !== 'off'
      ? { markEnding: markEndingOf(table) } : undefined),
    ...(process.env.TRPC_SUBSCRIPTIONS_ROLE === undefined || process.env.TRPC_SUBSCRIPTIONS_ROLE === 'message'
      || process.env.TRPC_SUBSCRIPTIONS_ROLE === 'worker'
      ? publisherOperations(table, recent) : undefined),
    ...(process.env.TRPC_SUBSCRIPTIONS_ROLE === undefined || process.env.TRPC_SUBSCRIPTIONS_ROLE === 'message'
      || process.env.TRPC_SUBSCRIPTIONS_ROLE === 'worker' || process.env.TRPC_SUBSCRIPTIONS_ROLE === 'rollover'
      ? ageOperations(table) : undefined),
    // Presence also needs the app to have presence routes (PRESENCE_DEFINE in ../constants.ts).
    ...((process.env.TRPC_SUBSCRIPTIONS_ROLE === undefined || process.env.TRPC_SUBSCRIPTIONS_ROLE === 'message'
      || process.env.TRPC_SUBSCRIPTIONS_ROLE === 'disconnect') && process.env.TRPC_SUBSCRIPTIONS_PRESENCE !== 'off'
      ? presenceOperations(table) : undefined),
  } as SubscriptionStore;
}

/** `$connect`'s write. */
function connectOperations(table: DynamoDBTable): Pick<SubscriptionStore, 'putConnection'> {
  return { putConnection: (connection) => putConnection(table, connection) };
}

/** What only `$default` calls: the connection row, connectionParams, subscribe, the history's replay. */
function messageOperations(
  table: DynamoDBTable, recent: RecentSubscriptions | undefined,
): Pick<SubscriptionStore, 'getConnection' | 'setConnectionParams' | 'refuseConnection' | 'setConnectionKey' | 'addSubscription' | 'readEvents' | 'readLastEvent'> {
  return {
    getConnection: (connectionId) => getConnection(table, connectionId),
    setConnectionParams: (connectionId, params) => setConnectionParams(table, connectionId, params),
    refuseConnection: (connectionId, refusal, expireAt) => refuseConnection(table, connectionId, refusal, expireAt),
    setConnectionKey: (connection, key) => setConnectionKey(table, connection, key),
    addSubscription: (subscription, addOptions) => addSubscription(table, subscription, addOptions, recent),
    // A bundle without history (HISTORY_DEFINE in ../constants.ts) has no history operations.
    ...(process.env.TRPC_SUBSCRIPTIONS_HISTORY !== 'off' ? {
      readEvents: (path: string, fromEventId: string) => readHistoryEvents(historyRequests(table), path, fromEventId),
      readLastEvent: (path: string) => readLastHistoryEvent(historyRequests(table), path),
    } : {}),
  };
}

/** Removing a connection's rows: `$disconnect`, a refused connection's close, the gone connections of a publish or a rollover. */
function removalOperations(table: DynamoDBTable): Pick<SubscriptionStore, 'removeConnection'> {
  return { removeConnection: (connectionId, known) => removeConnection(table, connectionId, known) };
}

/** Lifecycle hooks: a connection's removal reporting what it won (docs/runtime.md, "Lifecycle hooks"). */
function endConnectionOf(table: DynamoDBTable): SubscriptionStore['endConnection'] {
  return (connectionId, known) => endConnection(table, connectionId, known);
}

/** Lifecycle hooks: a subscription's removal reporting what it won. */
function endSubscriptionOf(table: DynamoDBTable, recent: RecentSubscriptions | undefined): SubscriptionStore['endSubscription'] {
  return (connectionId, subscriptionId) => {
    // It reads the row anyway: the keys this instance remembers are not needed.
    recent?.take(connectionId, subscriptionId);
    return endSubscription(table, connectionId, subscriptionId);
  };
}

/** Lifecycle hooks: the mark of a move or a server close. */
function markEndingOf(table: DynamoDBTable): SubscriptionStore['markEnding'] {
  return (connectionId, ending, subscriptionId) => markEnding(table, connectionId, ending, subscriptionId);
}

/** The publisher's (in `$default` and the fan-out worker): publish, stop, presence. */
function publisherOperations(
  table: DynamoDBTable, recent: RecentSubscriptions | undefined,
): Pick<SubscriptionStore, 'removeSubscription' | 'findSubscribers' | 'appendEvent' | 'findConnection' | 'findConnectionsByKey' | 'countConnectionsByKey'> {
  return {
    removeSubscription: (connectionId, subscriptionId) => removeSubscription(table, connectionId, subscriptionId, recent),
    findSubscribers: (query) => findSubscribers(table, query),
    ...(process.env.TRPC_SUBSCRIPTIONS_HISTORY !== 'off'
      ? { appendEvent: (event: HistoryAppend) => appendHistoryEvent(historyRequests(table), table.sequences, event) } : {}),
    findConnection: (connectionId) => findConnection(table, connectionId),
    findConnectionsByKey: (key) => findConnectionsByKey(table, key),
    countConnectionsByKey: (key) => countConnectionsByKey(table, key),
  };
}

/** Connections by the minute they opened: the rollover, and reconnecting every connection. */
function ageOperations(table: DynamoDBTable): Pick<SubscriptionStore, 'findConnectionsByAge'> {
  return { findConnectionsByAge: (query) => findConnectionsByAge(table, query) };
}

/**
 * Room presence, kept by the handlers: joins (`$default`), releases and leaves (`$default` and
 * `$disconnect`), and the subscriber query that sends a leave (`$disconnect` publishes it too).
 */
function presenceOperations(table: DynamoDBTable): Pick<SubscriptionStore, 'presence' | 'findSubscribers'> {
  let rows: PresenceRows | undefined;
  return {
    presence: () => (rows ??= dynamodbPresence({
      client: table.client,
      tableName: () => table.tableName,
      pageSize: table.options.pageSize,
      report: (_operation, command, capacity) => report(table, 'presence', command, capacity),
    })),
    findSubscribers: (query) => findSubscribers(table, query),
  };
}

function historyRequests(table: DynamoDBTable): HistoryRequests {
  return {
    client: table.client,
    tableName: table.tableName,
    returnConsumedCapacity: table.returnConsumedCapacity,
    pageSize: table.options.pageSize,
    report: (operation, command, capacity) => report(table, operation, command, capacity),
  };
}
