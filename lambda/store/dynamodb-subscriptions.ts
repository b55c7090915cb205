/**
 * The DynamoDB store's operations on subscriptions: add (one transaction with its index rows and
 * the connection's count), remove (or leave a tombstone), and find the subscribers of a publish.
 * Keys are built in ./keys.ts; docs/table-design.md explains the design and the races it closes.
 */
import { QueryCommand, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { PARTITION_KEY, REGION_ATTRIBUTE, SORT_KEY, TTL_ATTRIBUTE } from '../constants';
import { historyFenceCheck } from './dynamodb-history';
import { HOOK_STATE } from './dynamodb-hooks';
import {
  CONDITION_FAILED,
  CONNECTION_ID,
  getItem,
  INDEX_KEYS,
  JSONRPC,
  keyAttributes,
  LIVE_AFTER,
  notExists,
  queryPages,
  report,
  retryOrThrow,
  STOPPED,
  SUBSCRIPTION_COUNT,
  SUBSCRIPTION_ID,
  toItem,
  transact,
  type DynamoDBTable,
} from './dynamodb-requests';
import { tombstoneItems } from './dynamodb-tombstone';
import {
  connectionKey,
  indexKeys,
  subscriberQueryKey,
  subscriberQueryKeys,
  subscriptionKey,
  type SubscriberQueryKey,
  type TableKey,
} from './keys';
import type { RecentSubscriptions } from './recent-subscriptions';
import type { AddSubscriptionOptions, AddSubscriptionResult, RequestId, SubscriberQuery, SubscriberRef, SubscriptionRecord } from './store';
import { assertAddSubscriptionOptions, assertNoHistoryFence, assertSubscriptionRecord, historyFenceOf } from './validation';
import { mergePages } from '../util/merge';

/** {@link SubscriptionStore.addSubscription}: one transaction with the index rows and the connection's count. */
export async function addSubscription(
  t: DynamoDBTable, subscription: SubscriptionRecord, addOptions?: AddSubscriptionOptions, recent?: RecentSubscriptions,
): Promise<AddSubscriptionResult> {
  assertSubscriptionRecord(subscription);
  assertAddSubscriptionOptions(addOptions);
  // A bundle made without event history (HISTORY_DEFINE in ../constants.ts) never fences an add:
  // each test of the fence below is written out in full so that esbuild drops its checks,
  // condition and keys.
  if (process.env.TRPC_SUBSCRIPTIONS_HISTORY === 'off') assertNoHistoryFence(addOptions);
  const fence = process.env.TRPC_SUBSCRIPTIONS_HISTORY !== 'off' ? historyFenceOf(subscription, addOptions) : undefined;
  const { connectionId, subscriptionId, path, filters, expireAt, region, jsonrpc } = subscription;
  const max = addOptions?.maxSubscriptions;
  const rowKey = subscriptionKey(connectionId, subscriptionId);
  const ownedKeys = indexKeys(path, filters, connectionId, subscriptionId);
  // The Region only in multi-region set-ups (removeUndefinedValues drops it otherwise); jsonrpc
  // only when the request carried it, so rows of other clients stay as they were.
  const delivery = {
    [CONNECTION_ID]: connectionId,
    [SUBSCRIPTION_ID]: subscriptionId,
    [TTL_ATTRIBUTE]: expireAt,
    [REGION_ATTRIBUTE]: region,
    ...(jsonrpc ? { [JSONRPC]: true } : {}),
    ...(process.env.TRPC_SUBSCRIPTIONS_HISTORY !== 'off' && fence ? { [LIVE_AFTER]: fence.afterEventId } : {}),
  };
  const items: TransactWriteItem[] = [
    // Counts the connection's live subscriptions in the same transaction. Fails once $disconnect
    // deleted the connection row, so nothing is written after it, and at the maximum; ALL_OLD
    // tells which it was.
    {
      Update: {
        TableName: t.tableName,
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
        TableName: t.tableName,
        Item: toItem({ ...keyAttributes(rowKey), ...delivery, path, [INDEX_KEYS]: ownedKeys, [HOOK_STATE]: subscription.hookState }),
        // Refuses a duplicate id and a stop tombstone alike; ALL_OLD tells which it was.
        ...notExists(),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    },
    ...ownedKeys.map((key): TransactWriteItem => ({ Put: { TableName: t.tableName, Item: toItem({ ...keyAttributes(key), ...delivery }) } })),
  ];
  if (process.env.TRPC_SUBSCRIPTIONS_HISTORY !== 'off' && fence) items.push(historyFenceCheck(t.tableName, fence));
  for (let attempt = 0; ; attempt++) {
    const reasons = await transact(t, 'addSubscription', items);
    if (!reasons) {
      recent?.remember(connectionId, subscriptionId, ownedKeys);
      return 'created';
    }
    const connectionRefused = reasons[0]?.Code === CONDITION_FAILED;
    if (connectionRefused) {
      // No old item: the row is gone (the read covers a DynamoDB that omits ALL_OLD).
      const row = reasons[0].Item ? unmarshall(reasons[0].Item) : await getItem(t, 'addSubscription', connectionKey(connectionId));
      if (!row) return 'connection-gone';
    }
    if (reasons[1]?.Code === CONDITION_FAILED) {
      const existing = reasons[1].Item ? unmarshall(reasons[1].Item) : await getItem(t, 'addSubscription', rowKey);
      return existing?.[STOPPED] === true ? 'stopped' : 'duplicate';
    }
    // The connection row exists, so its count was at the maximum.
    if (connectionRefused) return 'limit-reached';
    if (process.env.TRPC_SUBSCRIPTIONS_HISTORY !== 'off' && fence && reasons[items.length - 1]?.Code === CONDITION_FAILED) return 'history-moved';
    await retryOrThrow(t, 'addSubscription', reasons, attempt);
  }
}

/**
 * {@link SubscriptionStore.removeSubscription}: the subscription with its index rows, or a
 * tombstone when it is not there yet. `recent` holds the index keys of the subscriptions this
 * instance stored: their stops delete without reading the row first.
 */
export async function removeSubscription(
  t: DynamoDBTable, connectionId: string, subscriptionId: RequestId, recent?: RecentSubscriptions,
): Promise<boolean> {
  const rowKey = subscriptionKey(connectionId, subscriptionId);
  // Stored by this instance: delete on the condition that the row still lists these keys (else read it, below).
  const known = recent?.take(connectionId, subscriptionId);
  if (known && await deleteSubscription(t, connectionId, rowKey, known, { expectKeys: true, attempt: 0 }) === 'deleted') return true;
  for (let attempt = 0; ; attempt++) {
    const row = await readSubscriptionRow(t, rowKey);
    if (row?.[STOPPED] === true) return false;
    if (row) {
      const outcome = await deleteSubscription(t, connectionId, rowKey, (row[INDEX_KEYS] ?? []) as TableKey[], { expectKeys: false, attempt });
      if (outcome === 'retry') continue;
      return outcome === 'deleted';
    }
    // Stop before start: leave a tombstone so the late subscribe is refused, but only while the
    // connection exists ($disconnect would not find a tombstone written after it).
    const reasons = await transact(t, 'removeSubscription', tombstoneItems(t, connectionId, subscriptionId));
    if (!reasons) return false;
    if (reasons[0]?.Code === CONDITION_FAILED) return false;
    // The subscribe won the race: read again and delete what it wrote.
    if (reasons[1]?.Code === CONDITION_FAILED && attempt < t.maxAttempts) continue;
    await retryOrThrow(t, 'removeSubscription', reasons, attempt);
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
async function deleteSubscription(
  t: DynamoDBTable, connectionId: string, rowKey: TableKey, owned: readonly TableKey[],
  { expectKeys, attempt }: { expectKeys: boolean; attempt: number },
): Promise<'deleted' | 'not-deleted' | 'retry'> {
  const deletes: TransactWriteItem[] = [
    {
      Delete: {
        TableName: t.tableName,
        Key: toItem(keyAttributes(rowKey)),
        ConditionExpression: `attribute_exists(#pk) AND attribute_not_exists(#stopped)${expectKeys ? ' AND #index = :index' : ''}`,
        ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#stopped': STOPPED, ...(expectKeys ? { '#index': INDEX_KEYS } : {}) },
        ...(expectKeys ? { ExpressionAttributeValues: toItem({ ':index': owned }) } : {}),
      },
    },
    ...owned.map((key): TransactWriteItem => ({ Delete: { TableName: t.tableName, Key: toItem(keyAttributes(key)) } })),
  ];
  const releaseSlot: TransactWriteItem = {
    Update: {
      TableName: t.tableName,
      Key: toItem(keyAttributes(connectionKey(connectionId))),
      UpdateExpression: 'SET #count = #count - :one',
      ConditionExpression: 'attribute_exists(#pk) AND #count > :zero',
      ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#count': SUBSCRIPTION_COUNT },
      ExpressionAttributeValues: toItem({ ':zero': 0, ':one': 1 }),
    },
  };
  let reasons = await transact(t, 'removeSubscription', [...deletes, releaseSlot]);
  if (reasons && reasons[0]?.Code !== CONDITION_FAILED && reasons[deletes.length]?.Code === CONDITION_FAILED) {
    reasons = await transact(t, 'removeSubscription', deletes);
  }
  if (!reasons) return 'deleted';
  // A concurrent stop or disconnect removed it first (or, with expectKeys, it is another subscription).
  if (reasons[0]?.Code === CONDITION_FAILED) return 'not-deleted';
  await retryOrThrow(t, 'removeSubscription', reasons, attempt);
  return 'retry';
}

/**
 * A subscription row's `stopped` flag and index keys: a Query of that one row with named
 * attributes, not a GetItem, because a server-side stop runs under `grantControl`, whose
 * fine-grained conditions allow named reads only; GetItem has no `Select` parameter, so that grant
 * leaves GetItem out (as `grantPublish` does, see removeConnection). Same capacity as a GetItem.
 */
async function readSubscriptionRow(t: DynamoDBTable, key: TableKey): Promise<Record<string, unknown> | undefined> {
  const output = await t.client.send(
    new QueryCommand({
      TableName: t.tableName,
      KeyConditionExpression: '#pk = :pk AND #sk = :sk',
      ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY, '#stopped': STOPPED, '#index': INDEX_KEYS },
      ExpressionAttributeValues: toItem({ ':pk': key.pk, ':sk': key.sk }),
      ProjectionExpression: '#stopped, #index',
      Select: 'SPECIFIC_ATTRIBUTES',
      ConsistentRead: true,
      ReturnConsumedCapacity: t.returnConsumedCapacity,
    }),
  );
  report(t, 'removeSubscription', 'Query', output.ConsumedCapacity);
  const item = output.Items?.[0];
  return item ? unmarshall(item) : undefined;
}

/** {@link SubscriptionStore.findSubscribers}: the index partitions (shards) of a publish, read in parallel. */
export function findSubscribers(t: DynamoDBTable, query: SubscriberQuery): AsyncIterable<readonly SubscriberRef[]> {
  const keys = subscriberQueryKeys(query);
  if (t.options.unshardedIndexReads) keys.push(subscriberQueryKey(query));
  // The shards a publish spans are read in parallel.
  return mergePages(keys.map((key) => findSubscribersIn(t, key, query.withRegion === true)));
}

async function* findSubscribersIn(
  t: DynamoDBTable, { pk, skPrefix }: SubscriberQueryKey, withRegion: boolean,
): AsyncIterable<readonly SubscriberRef[]> {
  const pages = queryPages(t, 'findSubscribers', {
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
    ConsistentRead: t.options.consistentPublishReads ?? true,
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
