/**
 * The production {@link SubscriptionStore}: one DynamoDB table with string `pk`/`sk`, TTL on
 * `expireAt`, no index. Keys are built in ./keys.ts; docs/table-design.md explains the design,
 * the races it closes and the cost of each operation.
 */
import {
  BatchWriteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
  type CancellationReason,
  type ConsumedCapacity,
  type QueryCommandInput,
  type TransactWriteItem,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { DEFAULT_ROW_TTL_SECONDS, PARTITION_KEY, REGION_ATTRIBUTE, SORT_KEY, TABLE_NAME_ENV, TTL_ATTRIBUTE } from '../constants';
import { appendHistoryEvent, historyFenceCheck, readHistoryEvents, readLastHistoryEvent, type HistoryRequests } from './dynamodb-history';
import { dynamodbPresence } from './dynamodb-presence';
import type { HistoryAppend, HistoryEventRecord } from './history';
import {
  ageBuckets,
  ageIndexKey,
  agePartitionKey,
  CONNECTION_SORT_KEY,
  connectionKey,
  connectionPartitionKey,
  indexKeys,
  keyIndexKey,
  keyPartitionKey,
  subscriberQueryKey,
  subscriberQueryKeys,
  subscriptionKey,
  type SubscriberQueryKey,
  type TableKey,
} from './keys';
import type { PresenceRows } from './presence';
import { RecentSubscriptions } from './recent-subscriptions';
import type {
  AddSubscriptionOptions,
  AddSubscriptionResult,
  ConnectionAgeQuery,
  ConnectionRecord,
  ConnectionRef,
  RequestId,
  SubscriberQuery,
  SubscriberRef,
  SubscriptionRecord,
  SubscriptionStore,
} from './store';
import { assertAddSubscriptionOptions, assertHistoryFenceFits, assertEpochSeconds, assertSubscriptionRecord } from './validation';
import { backoff } from '../util/backoff';
import { requestHandlerOptions, settleTimeouts, withDeadline, type TimeoutOptions } from '../util/deadline';
import { mergePages } from '../util/merge';
import { forEachBounded } from '../util/pool';

/** The store operations, as named in {@link ConsumedCapacityReport}. */
export type StoreOperation = keyof SubscriptionStore;

/** Capacity DynamoDB reported for one request of a store operation. */
export interface ConsumedCapacityReport {
  /** The store method that sent the request. */
  readonly operation: StoreOperation;
  /** The DynamoDB API called, e.g. `TransactWriteItems`. */
  readonly command: string;
  /** Units consumed by the request, summed over its tables. */
  readonly readCapacityUnits: number;
  readonly writeCapacityUnits: number;
  /** DynamoDB's report as returned. */
  readonly consumedCapacity: readonly ConsumedCapacity[];
}

/** Options of {@link dynamodb}. */
export interface DynamoDBStoreOptions {
  /**
   * Name of the subscriptions table.
   * @default - the `TRPC_SUBSCRIPTIONS_TABLE_NAME` environment variable, read at first use
   */
  readonly tableName?: string;
  /**
   * The client to call DynamoDB with. Its retry strategy handles throttling; the store adds
   * bounded retries for unprocessed batch items and cancelled transactions. Its own HTTP
   * timeouts apply; `timeouts.callTimeoutMs` bounds every call of the store whatever the client.
   * @default - one `DynamoDBClient` per Lambda runtime and `timeouts`, created at first use
   */
  readonly dynamoDBClient?: DynamoDBClient;
  /**
   * Timeouts of DynamoDB calls, so that none can hang: connection and request timeouts of the
   * default client's HTTP handler, and a deadline for every call (retries included), after which
   * the operation fails with a `TimeoutError`.
   * @default - connection 1 s, request 3 s, whole call 6 s
   */
  readonly timeouts?: TimeoutOptions;
  /**
   * Read subscribers with strongly consistent reads, so that a publish issued after the client
   * saw `started` always finds the new subscription. Eventually consistent reads cost half.
   * @default true
   */
  readonly consistentPublishReads?: boolean;
  /**
   * Items per Query page (DynamoDB `Limit`) in `findSubscribers` and `removeConnection`.
   * @default - no limit: DynamoDB's 1 MB pages
   */
  readonly pageSize?: number;
  /**
   * Called with the capacity of every request; setting it adds `ReturnConsumedCapacity: TOTAL`
   * to every request (used by the cost measurements of docs/table-design.md and the benchmark).
   * @default - capacity is not requested
   */
  readonly onConsumedCapacity?: (report: ConsumedCapacityReport) => void;
  /**
   * Attempts for a transaction cancelled by a conflict or throttling, and for unprocessed batch
   * items, before the operation fails.
   * @default 8
   */
  readonly maxAttempts?: number;
  /**
   * Also read the unsharded index partitions of versions before the index was sharded, so that
   * publishes find subscriptions made before an upgrade. Turn it on for the upgrade and off once
   * the old rows expired (`rowTtl` after the deployment, 2 h 10 min by default): it costs one
   * more Query per publish (docs/table-design.md, "Shards").
   * @default false
   */
  readonly unshardedIndexReads?: boolean;
}

const sharedClients = new Map<string, DynamoDBClient>();

/**
 * Created lazily so that importing this module has no side effect; one per timeout setting,
 * reused across invocations.
 */
function defaultClient(timeouts: Required<TimeoutOptions>): DynamoDBClient {
  const key = JSON.stringify(timeouts);
  let client = sharedClients.get(key);
  if (!client) {
    client = new DynamoDBClient({ requestHandler: requestHandlerOptions(timeouts) });
    sharedClients.set(key, client);
  }
  return client;
}

/** What the store calls DynamoDB with: `send` within the call deadline. */
type DeadlineClient = Pick<DynamoDBClient, 'send'>;

/**
 * The DynamoDB subscription store.
 *
 * @example
 * appSubscriptions.store({ store: dynamodb() }); // table from TRPC_SUBSCRIPTIONS_TABLE_NAME
 */
export function dynamodb(options: DynamoDBStoreOptions = {}): SubscriptionStore {
  return new DynamoDBSubscriptionStore(options);
}

const CONNECTION_ID = 'connectionId';
const SUBSCRIPTION_ID = 'subscriptionId';
const INDEX_KEYS = 'indexKeys';
const STOPPED = 'stopped';
/** On the index rows of a subscription resumed from a history: the last event replayed to it. */
const LIVE_AFTER = 'liveAfter';
const CONNECTED_AT = 'connectedAt';
/** The app's key of a connection, on its connection row. */
const CONNECTION_KEY = 'connectionKey';
/** The serialized error of a refused connection, on its connection row. */
const REFUSAL = 'refusal';
/** On index rows of a subscription whose request carried `jsonrpc: "2.0"`. */
const JSONRPC = 'jsonrpc';
/** Live subscriptions of a connection, on its connection row. */
const SUBSCRIPTION_COUNT = 'subscriptionCount';
/** BatchWriteItem takes at most 25 requests. */
const BATCH_WRITE_LIMIT = 25;
/** Concurrent BatchWriteItem requests of one `removeConnection`. */
const DELETE_CONCURRENCY = 4;
/** Transaction cancellation reasons worth another attempt. */
const RETRYABLE_REASONS = new Set(['TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded']);
const CONDITION_FAILED = 'ConditionalCheckFailed';

type Item = Record<string, AttributeValue>;

class DynamoDBSubscriptionStore implements SubscriptionStore {
  private presenceRows: PresenceRows | undefined;
  private resolvedTableName: string | undefined;
  private readonly maxAttempts: number;
  /** The last event id this instance saw per route with a history. */
  private readonly sequences = new Map<string, number>();
  private readonly timeouts: Required<TimeoutOptions>;
  private resolvedClient: DeadlineClient | undefined;
  /** Index keys of the subscriptions this instance stored, for their stops. */
  private readonly recent = new RecentSubscriptions();

  constructor(private readonly options: DynamoDBStoreOptions) {
    this.timeouts = settleTimeouts(options.timeouts);
    this.maxAttempts = options.maxAttempts ?? 8;
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) {
      throw new RangeError(`\`maxAttempts\` must be a positive integer, got: ${String(options.maxAttempts)}`);
    }
    if (options.pageSize !== undefined && (!Number.isInteger(options.pageSize) || options.pageSize < 1)) {
      throw new RangeError(`\`pageSize\` must be a positive integer, got: ${String(options.pageSize)}`);
    }
  }

  async putConnection(connection: ConnectionRecord): Promise<void> {
    assertEpochSeconds('expireAt', connection.expireAt);
    const { connectionId, connectedAt, expireAt, key } = connection;
    const ref = { [CONNECTION_ID]: connectionId, [CONNECTED_AT]: connectedAt, [TTL_ATTRIBUTE]: expireAt, [REGION_ATTRIBUTE]: connection.region };
    const items = [
      {
        ...keyAttributes(connectionKey(connectionId)),
        ...ref,
        awaitingConnectionParams: connection.awaitingConnectionParams,
        connectionParams: connection.connectionParams,
        connect: connection.connect,
        [CONNECTION_KEY]: key,
        [REGION_ATTRIBUTE]: connection.region,
        [REFUSAL]: connection.refusal,
      },
      // The rollover and "every connection" find connections by the minute they opened.
      { ...keyAttributes(ageIndexKey(connectedAt, connectionId)), ...ref },
      // Only with a key: apps without `connectionKey` pay nothing for it.
      ...(key === undefined ? [] : [{ ...keyAttributes(keyIndexKey(key, connectionId)), ...ref }]),
    ];
    // One request, unconditional puts: a BatchWriteItem costs the same units as separate PutItems.
    await this.writeBatch('putConnection', items.map((item): WriteRequest => ({ PutRequest: { Item: toItem(item) } })));
  }

  async getConnection(connectionId: string): Promise<ConnectionRecord | undefined> {
    const item = await this.getItem('getConnection', connectionKey(connectionId));
    if (!item) return undefined;
    return {
      connectionId: item[CONNECTION_ID] as string,
      connectedAt: item.connectedAt as number,
      expireAt: item[TTL_ATTRIBUTE] as number,
      awaitingConnectionParams: item.awaitingConnectionParams === true,
      ...('connectionParams' in item ? { connectionParams: item.connectionParams as Record<string, string> | null } : {}),
      connect: (item.connect ?? {}) as ConnectionRecord['connect'],
      ...(typeof item[REGION_ATTRIBUTE] === 'string' ? { region: item[REGION_ATTRIBUTE] } : {}),
      ...(typeof item[CONNECTION_KEY] === 'string' ? { key: item[CONNECTION_KEY] } : {}),
      ...(typeof item[REFUSAL] === 'string' ? { refusal: item[REFUSAL] } : {}),
    };
  }

  setConnectionParams(connectionId: string, params: Record<string, string> | null): Promise<boolean> {
    return this.settleAwaitingConnection('setConnectionParams', connectionId, 'SET #params = :params', { '#params': 'connectionParams' }, { ':params': params });
  }

  refuseConnection(connectionId: string, refusal: string, expireAt: number): Promise<boolean> {
    assertEpochSeconds('expireAt', expireAt);
    return this.settleAwaitingConnection(
      'refuseConnection', connectionId, 'SET #refusal = :refusal, #ttl = :ttl', { '#refusal': REFUSAL, '#ttl': TTL_ATTRIBUTE }, { ':refusal': refusal, ':ttl': expireAt },
    );
  }

  /**
   * Settles a connection still awaiting its params, once: `set` and `awaitingConnectionParams`
   * false in one conditional UpdateItem (the check and the write are one atomic request).
   * @returns false when the row is gone or was settled before
   */
  private async settleAwaitingConnection(
    operation: keyof SubscriptionStore, connectionId: string, set: string, names: Record<string, string>, values: Record<string, unknown>,
  ): Promise<boolean> {
    try {
      const output = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: toItem(keyAttributes(connectionKey(connectionId))),
          UpdateExpression: `${set}, #awaiting = :false`,
          ConditionExpression: 'attribute_exists(#pk) AND #awaiting = :true',
          ExpressionAttributeNames: { ...names, '#awaiting': 'awaitingConnectionParams', '#pk': PARTITION_KEY },
          ExpressionAttributeValues: toItem({ ...values, ':false': false, ':true': true }),
          ReturnConsumedCapacity: this.returnConsumedCapacity,
        }),
      );
      this.report(operation, 'UpdateItem', output.ConsumedCapacity);
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async addSubscription(subscription: SubscriptionRecord, addOptions?: AddSubscriptionOptions): Promise<AddSubscriptionResult> {
    assertSubscriptionRecord(subscription);
    assertAddSubscriptionOptions(addOptions);
    assertHistoryFenceFits(subscription, addOptions);
    const { connectionId, subscriptionId, path, filters, expireAt, region, jsonrpc } = subscription;
    const max = addOptions?.maxSubscriptions;
    const rowKey = subscriptionKey(connectionId, subscriptionId);
    const ownedKeys = indexKeys(path, filters, connectionId, subscriptionId);
    const fence = addOptions?.historyFence;
    // The Region only in multi-region set-ups (removeUndefinedValues drops it otherwise); jsonrpc
    // only when the request carried it, so rows of other clients stay as they were.
    const delivery = {
      [CONNECTION_ID]: connectionId,
      [SUBSCRIPTION_ID]: subscriptionId,
      [TTL_ATTRIBUTE]: expireAt,
      [REGION_ATTRIBUTE]: region,
      ...(jsonrpc ? { [JSONRPC]: true } : {}),
      ...(fence ? { [LIVE_AFTER]: fence.afterEventId } : {}),
    };
    const items: TransactWriteItem[] = [
      // Counts the connection's live subscriptions in the same transaction. Fails once $disconnect
      // deleted the connection row, so nothing is written after it, and at the maximum; ALL_OLD
      // tells which it was.
      {
        Update: {
          TableName: this.tableName,
          Key: toItem(keyAttributes(connectionKey(connectionId))),
          UpdateExpression: 'SET #count = if_not_exists(#count, :zero) + :one',
          ConditionExpression: max === undefined
            ? 'attribute_exists(#pk)'
            : 'attribute_exists(#pk) AND (attribute_not_exists(#count) OR #count < :max)',
          ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#count': SUBSCRIPTION_COUNT },
          ExpressionAttributeValues: toItem({ ':zero': 0, ':one': 1, ...(max === undefined ? {} : { ':max': max }) }),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
      {
        Put: {
          TableName: this.tableName,
          Item: toItem({ ...keyAttributes(rowKey), ...delivery, path, [INDEX_KEYS]: ownedKeys }),
          // Refuses a duplicate id and a stop tombstone alike; ALL_OLD tells which it was.
          ...this.notExists,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
      ...ownedKeys.map((key): TransactWriteItem => ({ Put: { TableName: this.tableName, Item: toItem({ ...keyAttributes(key), ...delivery }) } })),
    ];
    if (fence) items.push(historyFenceCheck(this.tableName, fence));
    for (let attempt = 0; ; attempt++) {
      const reasons = await this.transact('addSubscription', items);
      if (!reasons) {
        this.recent.remember(connectionId, subscriptionId, ownedKeys);
        return 'created';
      }
      const connectionRefused = reasons[0]?.Code === CONDITION_FAILED;
      if (connectionRefused) {
        // No old item: the row is gone (the read covers a DynamoDB that omits ALL_OLD).
        const row = reasons[0].Item ? unmarshall(reasons[0].Item) : await this.getItem('addSubscription', connectionKey(connectionId));
        if (!row) return 'connection-gone';
      }
      if (reasons[1]?.Code === CONDITION_FAILED) {
        const existing = reasons[1].Item ? unmarshall(reasons[1].Item) : await this.getItem('addSubscription', rowKey);
        return existing?.[STOPPED] === true ? 'stopped' : 'duplicate';
      }
      // The connection row exists, so its count was at the maximum.
      if (connectionRefused) return 'limit-reached';
      if (fence && reasons[items.length - 1]?.Code === CONDITION_FAILED) return 'history-moved';
      await this.retryOrThrow('addSubscription', reasons, attempt);
    }
  }

  async removeSubscription(connectionId: string, subscriptionId: RequestId): Promise<boolean> {
    const rowKey = subscriptionKey(connectionId, subscriptionId);
    // Stored by this instance: delete without reading the row first, on the condition that it
    // still lists these keys (else read it, below).
    const known = this.recent.take(connectionId, subscriptionId);
    if (known && await this.deleteSubscription(connectionId, rowKey, known, { expectKeys: true, attempt: 0 }) === 'deleted') return true;
    for (let attempt = 0; ; attempt++) {
      const row = await this.readSubscriptionRow(rowKey);
      if (row?.[STOPPED] === true) return false;
      if (row) {
        const outcome = await this.deleteSubscription(connectionId, rowKey, (row[INDEX_KEYS] ?? []) as TableKey[], { expectKeys: false, attempt });
        if (outcome === 'retry') continue;
        return outcome === 'deleted';
      }
      // Stop before start: leave a tombstone so the late subscribe is refused, but only while the
      // connection exists ($disconnect would not find a tombstone written after it).
      const reasons = await this.transact('removeSubscription', [
        { ConditionCheck: { TableName: this.tableName, Key: toItem(keyAttributes(connectionKey(connectionId))), ...this.exists } },
        {
          Put: {
            TableName: this.tableName,
            Item: toItem({
              ...keyAttributes(rowKey),
              [CONNECTION_ID]: connectionId,
              [SUBSCRIPTION_ID]: subscriptionId,
              [STOPPED]: true,
              // The connection's rows expire at most this long after it opened, which was earlier.
              [TTL_ATTRIBUTE]: Math.floor(Date.now() / 1000) + DEFAULT_ROW_TTL_SECONDS,
            }),
            ...this.notExists,
          },
        },
      ]);
      if (!reasons) return false;
      if (reasons[0]?.Code === CONDITION_FAILED) return false;
      // The subscribe won the race: read again and delete what it wrote.
      if (reasons[1]?.Code === CONDITION_FAILED && attempt < this.maxAttempts) continue;
      await this.retryOrThrow('removeSubscription', reasons, attempt);
    }
  }

  /**
   * Deletes a subscription row (unless it is gone or a tombstone), its index rows and, in the
   * same transaction, its slot in the connection's count (never below 0). When the connection row
   * is gone (a concurrent $disconnect) or has no count (rows of a version before the cap), the
   * deletes run without the count. With `expectKeys`, the row must list exactly `owned`.
   * @returns `not-deleted` when the row is gone, a tombstone or (with `expectKeys`) lists other
   * keys; `retry` after backing off from a transient cancellation (read the row again)
   */
  private async deleteSubscription(
    connectionId: string, rowKey: TableKey, owned: readonly TableKey[], { expectKeys, attempt }: { expectKeys: boolean; attempt: number },
  ): Promise<'deleted' | 'not-deleted' | 'retry'> {
    const deletes: TransactWriteItem[] = [
      {
        Delete: {
          TableName: this.tableName,
          Key: toItem(keyAttributes(rowKey)),
          ConditionExpression: `attribute_exists(#pk) AND attribute_not_exists(#stopped)${expectKeys ? ' AND #index = :index' : ''}`,
          ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#stopped': STOPPED, ...(expectKeys ? { '#index': INDEX_KEYS } : {}) },
          ...(expectKeys ? { ExpressionAttributeValues: toItem({ ':index': owned }) } : {}),
        },
      },
      ...owned.map((key): TransactWriteItem => ({ Delete: { TableName: this.tableName, Key: toItem(keyAttributes(key)) } })),
    ];
    const releaseSlot: TransactWriteItem = {
      Update: {
        TableName: this.tableName,
        Key: toItem(keyAttributes(connectionKey(connectionId))),
        UpdateExpression: 'SET #count = #count - :one',
        ConditionExpression: 'attribute_exists(#pk) AND #count > :zero',
        ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#count': SUBSCRIPTION_COUNT },
        ExpressionAttributeValues: toItem({ ':zero': 0, ':one': 1 }),
      },
    };
    let reasons = await this.transact('removeSubscription', [...deletes, releaseSlot]);
    if (reasons && reasons[0]?.Code !== CONDITION_FAILED && reasons[deletes.length]?.Code === CONDITION_FAILED) {
      reasons = await this.transact('removeSubscription', deletes);
    }
    if (!reasons) return 'deleted';
    // A concurrent stop or disconnect removed it first (or, with expectKeys, it is another subscription).
    if (reasons[0]?.Code === CONDITION_FAILED) return 'not-deleted';
    await this.retryOrThrow('removeSubscription', reasons, attempt);
    return 'retry';
  }

  async removeConnection(connectionId: string, known?: Pick<ConnectionRef, 'connectedAt' | 'key'>): Promise<void> {
    const removed = new Set<string>();
    // First pass: the connection row goes with the first index rows. From then on every
    // addSubscription, and every stop's tombstone, fails its condition on that row.
    const found = await this.removeConnectionPass(connectionId, removed, 'first');
    // The connection row already gone (its $disconnect ran first, or it is not replicated yet):
    // the age bucket and key rows the caller knows of go too, so presence is right at once.
    const leftovers = knownIndexKeys(connectionId, known).filter((key) => markRemoved(removed, key));
    if (leftovers.length > 0) await this.batchDelete('removeConnection', leftovers);
    if (!found) return;
    // Second pass, strongly consistent, once nothing can be added: the subscription rows as they
    // are now (with the index rows of any subscription stored, or stored again under the same id,
    // between the first read and the connection row's delete), and the tombstones.
    await this.removeConnectionPass(connectionId, removed, 'last');
  }

  /**
   * One pass over a connection's partition (strongly consistent, paginated, named attributes
   * only: the publisher's grant refuses any other read, which could return connectionParams or
   * the $connect snapshot; docs/security.md). Each page's index rows not deleted yet go first
   * (the first page's with the connection row and the age bucket and key rows it names); the
   * `last` pass then deletes the page's subscription rows and tombstones, so that if this
   * invocation dies midway, index rows stay findable through the rows that list them (TTL
   * removes whatever is left).
   * @returns whether the partition held anything
   */
  private async removeConnectionPass(connectionId: string, removed: Set<string>, pass: 'first' | 'last'): Promise<boolean> {
    const fresh = (key: TableKey): boolean => markRemoved(removed, key);
    let found = false;
    const pages = this.queryPages('removeConnection', {
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY, '#index': INDEX_KEYS, '#at': CONNECTED_AT, '#key': CONNECTION_KEY },
      ExpressionAttributeValues: toItem({ ':pk': connectionPartitionKey(connectionId) }),
      ProjectionExpression: '#pk, #sk, #index, #at, #key',
      Select: 'SPECIFIC_ATTRIBUTES',
      ConsistentRead: true,
    });
    for await (const page of pages) {
      const owned: TableKey[] = [];
      const rows: TableKey[] = [];
      for (const item of page) {
        found = true;
        const key = { pk: item[PARTITION_KEY] as string, sk: item[SORT_KEY] as string };
        if (key.sk === CONNECTION_SORT_KEY) {
          // The connection row names its age bucket and key rows.
          const refs = [key];
          if (typeof item[CONNECTED_AT] === 'number') refs.push(ageIndexKey(item[CONNECTED_AT], connectionId));
          if (typeof item[CONNECTION_KEY] === 'string') refs.push(keyIndexKey(item[CONNECTION_KEY], connectionId));
          owned.push(...refs.filter(fresh));
          continue;
        }
        owned.push(...((item[INDEX_KEYS] ?? []) as TableKey[]).filter(fresh));
        rows.push(key);
      }
      await this.batchDelete('removeConnection', owned);
      if (pass === 'last') await this.batchDelete('removeConnection', rows);
    }
    return found;
  }

  findSubscribers(query: SubscriberQuery): AsyncIterable<readonly SubscriberRef[]> {
    const keys = subscriberQueryKeys(query);
    if (this.options.unshardedIndexReads) keys.push(subscriberQueryKey(query));
    // The shards a publish spans are read in parallel.
    return mergePages(keys.map((key) => this.findSubscribersIn(key, query.withRegion === true)));
  }

  private async *findSubscribersIn({ pk, skPrefix }: SubscriberQueryKey, withRegion: boolean): AsyncIterable<readonly SubscriberRef[]> {
    const pages = this.queryPages('findSubscribers', {
      KeyConditionExpression: skPrefix === undefined ? '#pk = :pk' : '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: {
        '#pk': PARTITION_KEY,
        '#conn': CONNECTION_ID,
        '#sub': SUBSCRIPTION_ID,
        '#liveAfter': LIVE_AFTER,
        '#jsonrpc': JSONRPC,
        ...(skPrefix === undefined ? {} : { '#sk': SORT_KEY }),
        ...(withRegion ? { '#region': REGION_ATTRIBUTE } : {}),
      },
      ExpressionAttributeValues: toItem({ ':pk': pk, ...(skPrefix === undefined ? {} : { ':prefix': skPrefix }) }),
      ProjectionExpression: withRegion ? '#conn, #sub, #jsonrpc, #liveAfter, #region' : '#conn, #sub, #jsonrpc, #liveAfter',
      Select: 'SPECIFIC_ATTRIBUTES',
      ConsistentRead: this.options.consistentPublishReads ?? true,
    });
    for await (const page of pages) {
      if (page.length === 0) continue;
      yield page.map((item) => ({
        connectionId: item[CONNECTION_ID] as string,
        subscriptionId: item[SUBSCRIPTION_ID] as RequestId,
        ...(item[LIVE_AFTER] === undefined ? {} : { liveAfter: item[LIVE_AFTER] as string }),
        ...(typeof item[REGION_ATTRIBUTE] === 'string' ? { region: item[REGION_ATTRIBUTE] } : {}),
        ...(item[JSONRPC] === true ? { jsonrpc: '2.0' as const } : {}),
      }));
    }
  }

  appendEvent(event: HistoryAppend): Promise<string> {
    return appendHistoryEvent(this.historyRequests, this.sequences, event);
  }

  readEvents(path: string, fromEventId: string): AsyncIterable<readonly HistoryEventRecord[]> {
    return readHistoryEvents(this.historyRequests, path, fromEventId);
  }

  readLastEvent(path: string): Promise<Pick<HistoryEventRecord, 'eventId' | 'expireAt'> | undefined> {
    return readLastHistoryEvent(this.historyRequests, path);
  }

  private get historyRequests(): HistoryRequests {
    return {
      client: this.client,
      tableName: this.tableName,
      returnConsumedCapacity: this.returnConsumedCapacity,
      pageSize: this.options.pageSize,
      report: (operation, command, capacity) => this.report(operation, command, capacity),
    };
  }

  async setConnectionKey(connection: ConnectionRecord, key: string): Promise<boolean> {
    const { connectionId, connectedAt, expireAt } = connection;
    assertEpochSeconds('expireAt', expireAt);
    for (let attempt = 0; ; attempt++) {
      const reasons = await this.transact('setConnectionKey', [
        {
          Update: {
            TableName: this.tableName,
            Key: toItem(keyAttributes(connectionKey(connectionId))),
            UpdateExpression: 'SET #key = :key',
            // Fails once $disconnect deleted the row, so no key row outlives its connection.
            ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#key)',
            ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#key': CONNECTION_KEY },
            ExpressionAttributeValues: toItem({ ':key': key }),
          },
        },
        {
          Put: {
            TableName: this.tableName,
            Item: toItem({
              ...keyAttributes(keyIndexKey(key, connectionId)),
              [CONNECTION_ID]: connectionId,
              [CONNECTED_AT]: connectedAt,
              [TTL_ATTRIBUTE]: expireAt,
              [REGION_ATTRIBUTE]: connection.region,
            }),
          },
        },
      ]);
      if (!reasons) return true;
      if (reasons[0]?.Code === CONDITION_FAILED) return false;
      await this.retryOrThrow('setConnectionKey', reasons, attempt);
    }
  }

  async findConnection(connectionId: string): Promise<ConnectionRef | undefined> {
    // A Query of the one row with named attributes, as removeConnection's: the publisher's grant
    // covers it, and it cannot return the params or the $connect snapshot (docs/security.md).
    const output = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk AND #sk = :sk',
        ExpressionAttributeNames: {
          '#pk': PARTITION_KEY, '#sk': SORT_KEY, '#conn': CONNECTION_ID, '#at': CONNECTED_AT, '#region': REGION_ATTRIBUTE, '#key': CONNECTION_KEY,
        },
        ExpressionAttributeValues: toItem({ ':pk': connectionPartitionKey(connectionId), ':sk': CONNECTION_SORT_KEY }),
        ProjectionExpression: '#conn, #at, #region, #key',
        Select: 'SPECIFIC_ATTRIBUTES',
        ConsistentRead: true,
        ReturnConsumedCapacity: this.returnConsumedCapacity,
      }),
    );
    this.report('findConnection', 'Query', output.ConsumedCapacity);
    const item = output.Items?.[0] ? unmarshall(output.Items[0]) : undefined;
    if (!item) return undefined;
    return { ...toConnectionRef(item), ...(typeof item[CONNECTION_KEY] === 'string' ? { key: item[CONNECTION_KEY] } : {}) };
  }

  async *findConnectionsByKey(key: string): AsyncIterable<readonly ConnectionRef[]> {
    const nowSeconds = Math.floor(Date.now() / 1000);
    const pages = this.queryPages('findConnectionsByKey', {
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeValues: toItem({ ':pk': keyPartitionKey(key) }),
      ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#conn': CONNECTION_ID, '#at': CONNECTED_AT, '#ttl': TTL_ATTRIBUTE, '#region': REGION_ATTRIBUTE },
      ProjectionExpression: '#conn, #at, #ttl, #region',
      ConsistentRead: true,
    });
    for await (const page of pages) {
      // TTL deletes within days, not at expireAt: a row past it belongs to a dead connection.
      const live = page.filter((item) => (item[TTL_ATTRIBUTE] as number) > nowSeconds).map((item) => ({ ...toConnectionRef(item), key }));
      if (live.length > 0) yield live;
    }
  }

  async countConnectionsByKey(key: string): Promise<number> {
    let count = 0;
    let exclusiveStartKey: Item | undefined;
    do {
      const output = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk',
          FilterExpression: '#ttl > :now',
          ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#ttl': TTL_ATTRIBUTE },
          ExpressionAttributeValues: toItem({ ':pk': keyPartitionKey(key), ':now': Math.floor(Date.now() / 1000) }),
          Select: 'COUNT',
          ConsistentRead: true,
          ExclusiveStartKey: exclusiveStartKey,
          ReturnConsumedCapacity: this.returnConsumedCapacity,
        }),
      );
      this.report('countConnectionsByKey', 'Query', output.ConsumedCapacity);
      count += output.Count ?? 0;
      exclusiveStartKey = output.LastEvaluatedKey;
    } while (exclusiveStartKey);
    return count;
  }

  async *findConnectionsByAge(query: ConnectionAgeQuery): AsyncIterable<readonly ConnectionRef[]> {
    const { connectedFrom, connectedTo } = query;
    for (const bucket of ageBuckets(connectedFrom, connectedTo)) {
      const pages = this.queryPages('findConnectionsByAge', {
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#conn': CONNECTION_ID, '#at': CONNECTED_AT, '#region': REGION_ATTRIBUTE },
        ExpressionAttributeValues: toItem({ ':pk': agePartitionKey(bucket) }),
        ProjectionExpression: '#conn, #at, #region',
        ConsistentRead: true,
      });
      for await (const page of pages) {
        // A bucket is a minute wide: the range's first and last minutes hold connections outside it.
        const inRange = page
          .map(toConnectionRef)
          .filter((ref) => ref.connectedAt >= connectedFrom && ref.connectedAt <= connectedTo);
        if (inRange.length > 0) yield inRange;
      }
    }
  }

  /**
   * A subscription row's `stopped` flag and index keys: a Query of that one row with named
   * attributes, not a GetItem, because a server-side stop runs under `grantControl`, whose
   * fine-grained conditions allow named reads only; GetItem has no `Select` parameter, so that grant
   * leaves GetItem out (as `grantPublish` does, see removeConnection). Same capacity as a GetItem.
   */
  private async readSubscriptionRow(key: TableKey): Promise<Record<string, unknown> | undefined> {
    const output = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk AND #sk = :sk',
        ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY, '#stopped': STOPPED, '#index': INDEX_KEYS },
        ExpressionAttributeValues: toItem({ ':pk': key.pk, ':sk': key.sk }),
        ProjectionExpression: '#stopped, #index',
        Select: 'SPECIFIC_ATTRIBUTES',
        ConsistentRead: true,
        ReturnConsumedCapacity: this.returnConsumedCapacity,
      }),
    );
    this.report('removeSubscription', 'Query', output.ConsumedCapacity);
    const item = output.Items?.[0];
    return item ? unmarshall(item) : undefined;
  }

  presence(): PresenceRows {
    this.presenceRows ??= dynamodbPresence({
      client: this.client,
      tableName: () => this.tableName,
      pageSize: this.options.pageSize,
      report: this.options.onConsumedCapacity ? (_operation, command, capacity) => this.report('presence', command, capacity) : undefined,
    });
    return this.presenceRows;
  }

  private get client(): DeadlineClient {
    if (!this.resolvedClient) {
      const client = this.options.dynamoDBClient ?? defaultClient(this.timeouts);
      const { callTimeoutMs } = this.timeouts;
      const send = (command: { constructor: { name: string } }) => withDeadline(
        callTimeoutMs, command.constructor.name.replace(/Command$/, ''), (abortSignal) => client.send(command as never, { abortSignal }),
      );
      this.resolvedClient = { send: send as DynamoDBClient['send'] };
    }
    return this.resolvedClient;
  }

  private get tableName(): string {
    this.resolvedTableName ??= this.options.tableName ?? process.env[TABLE_NAME_ENV];
    if (!this.resolvedTableName) {
      throw new Error(
        `dynamodb() store has no table name: pass \`tableName\` or set the ${TABLE_NAME_ENV} environment variable ` +
          '(TrpcSubscriptionApi sets it on the handlers and on functions given grantPublish)',
      );
    }
    return this.resolvedTableName;
  }

  private get returnConsumedCapacity(): 'TOTAL' | undefined {
    return this.options.onConsumedCapacity ? 'TOTAL' : undefined;
  }

  private get exists() {
    return { ConditionExpression: 'attribute_exists(#pk)', ExpressionAttributeNames: { '#pk': PARTITION_KEY } };
  }

  private get notExists() {
    return { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': PARTITION_KEY } };
  }

  private report(operation: StoreOperation, command: string, capacity: ConsumedCapacity | ConsumedCapacity[] | undefined): void {
    const hook = this.options.onConsumedCapacity;
    if (!hook || !capacity) return;
    const consumedCapacity = Array.isArray(capacity) ? capacity : [capacity];
    // DynamoDB reports only CapacityUnits for single-item reads/writes: attribute it by command.
    const isRead = command === 'GetItem' || command === 'Query';
    let readCapacityUnits = 0;
    let writeCapacityUnits = 0;
    for (const entry of consumedCapacity) {
      const total = entry.CapacityUnits ?? 0;
      const read = entry.ReadCapacityUnits ?? (isRead ? total : 0);
      const write = entry.WriteCapacityUnits ?? (isRead ? 0 : total - read);
      readCapacityUnits += read;
      writeCapacityUnits += write;
    }
    hook({ operation, command, readCapacityUnits, writeCapacityUnits, consumedCapacity });
  }

  private async getItem(operation: StoreOperation, key: TableKey): Promise<Record<string, unknown> | undefined> {
    const output = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: toItem(keyAttributes(key)),
        ConsistentRead: true,
        ReturnConsumedCapacity: this.returnConsumedCapacity,
      }),
    );
    this.report(operation, 'GetItem', output.ConsumedCapacity);
    return output.Item ? unmarshall(output.Item) : undefined;
  }

  /** @returns undefined when committed, else the cancellation reasons (one per item) */
  private async transact(operation: StoreOperation, items: TransactWriteItem[]): Promise<CancellationReason[] | undefined> {
    try {
      // A fresh command per attempt gets a fresh ClientRequestToken from the SDK, which keeps the
      // SDK's own retries of this attempt idempotent.
      const output = await this.client.send(
        new TransactWriteItemsCommand({ TransactItems: items, ReturnConsumedCapacity: this.returnConsumedCapacity }),
      );
      this.report(operation, 'TransactWriteItems', output.ConsumedCapacity);
      return undefined;
    } catch (error) {
      if (error instanceof TransactionCanceledException || (error as Error)?.name === 'TransactionCanceledException') {
        return (error as TransactionCanceledException).CancellationReasons ?? [];
      }
      throw error;
    }
  }

  /** Back off before another attempt when a reason is transient; otherwise fail with the reasons. */
  private async retryOrThrow(operation: StoreOperation, reasons: CancellationReason[], attempt: number): Promise<void> {
    const transient = reasons.some((reason) => RETRYABLE_REASONS.has(reason.Code ?? ''));
    if (transient && attempt + 1 < this.maxAttempts) {
      await backoff(attempt);
      return;
    }
    const codes = reasons.map((reason) => reason.Code ?? 'unknown').join(', ');
    throw new Error(
      `${operation}: DynamoDB transaction cancelled (${codes || 'no reasons'})` +
        (transient ? ` after ${attempt + 1} attempts` : ''),
    );
  }

  private async *queryPages(operation: StoreOperation, input: Omit<QueryCommandInput, 'TableName'>): AsyncGenerator<Record<string, unknown>[]> {
    let exclusiveStartKey: Item | undefined;
    do {
      const output = await this.client.send(
        new QueryCommand({
          ...input,
          TableName: this.tableName,
          ExclusiveStartKey: exclusiveStartKey,
          Limit: this.options.pageSize,
          ReturnConsumedCapacity: this.returnConsumedCapacity,
        }),
      );
      this.report(operation, 'Query', output.ConsumedCapacity);
      yield (output.Items ?? []).map((item) => unmarshall(item));
      exclusiveStartKey = output.LastEvaluatedKey;
    } while (exclusiveStartKey);
  }

  /** Delete keys in batches of 25, a few batches at a time, retrying unprocessed items. */
  private async batchDelete(operation: StoreOperation, keys: readonly TableKey[]): Promise<void> {
    const unique = [...new Map(keys.map((key) => [`${key.pk}\u0000${key.sk}`, key])).values()];
    const batches: TableKey[][] = [];
    for (let i = 0; i < unique.length; i += BATCH_WRITE_LIMIT) batches.push(unique.slice(i, i + BATCH_WRITE_LIMIT));
    await forEachBounded([batches], DELETE_CONCURRENCY, (batch) => this.deleteBatch(operation, batch));
  }

  private async deleteBatch(operation: StoreOperation, keys: TableKey[]): Promise<void> {
    await this.writeBatch(operation, keys.map((key) => ({ DeleteRequest: { Key: toItem(keyAttributes(key)) } })));
  }

  /** One BatchWriteItem (at most 25 requests), retrying unprocessed items with backoff. */
  private async writeBatch(operation: StoreOperation, writes: WriteRequest[]): Promise<void> {
    let requests = writes;
    for (let attempt = 0; ; attempt++) {
      const output = await this.client.send(
        new BatchWriteItemCommand({
          RequestItems: { [this.tableName]: requests },
          ReturnConsumedCapacity: this.returnConsumedCapacity,
        }),
      );
      this.report(operation, 'BatchWriteItem', output.ConsumedCapacity);
      requests = output.UnprocessedItems?.[this.tableName] ?? [];
      if (requests.length === 0) return;
      if (attempt + 1 >= this.maxAttempts) {
        throw new Error(`${operation}: ${requests.length} writes still unprocessed by DynamoDB after ${attempt + 1} attempts`);
      }
      await backoff(attempt);
    }
  }
}

/** The table's key attributes for a key (stored lists of index keys hold `{ pk, sk }` maps). */
function keyAttributes(key: TableKey): Record<string, string> {
  return { [PARTITION_KEY]: key.pk, [SORT_KEY]: key.sk };
}

function toConnectionRef(item: Record<string, unknown>): ConnectionRef {
  return {
    connectionId: item[CONNECTION_ID] as string,
    connectedAt: item[CONNECTED_AT] as number,
    ...(typeof item[REGION_ATTRIBUTE] === 'string' ? { region: item[REGION_ATTRIBUTE] } : {}),
  };
}

function toItem(value: Record<string, unknown>): Item {
  return marshall(value, { removeUndefinedValues: true });
}

function isConditionalCheckFailed(error: unknown): boolean {
  return (error as Error | undefined)?.name === 'ConditionalCheckFailedException';
}

/** Adds `key` to the keys a removal already deleted; false when it was there (delete it once). */
function markRemoved(removed: Set<string>, key: TableKey): boolean {
  const id = `${key.pk}\u0000${key.sk}`;
  if (removed.has(id)) return false;
  removed.add(id);
  return true;
}

/** The age bucket and key rows of a connection, from what a caller knows of it. */
function knownIndexKeys(connectionId: string, known: Pick<ConnectionRef, 'connectedAt' | 'key'> | undefined): TableKey[] {
  const keys: TableKey[] = [];
  if (typeof known?.connectedAt === 'number' && known.connectedAt > 0) keys.push(ageIndexKey(known.connectedAt, connectionId));
  if (known?.key !== undefined) keys.push(keyIndexKey(known.key, connectionId));
  return keys;
}
