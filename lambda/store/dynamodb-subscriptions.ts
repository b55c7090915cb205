/**
 * The DynamoDB store's operations on subscriptions: add (one transaction with its index rows and
 * the connection's count), remove (or leave a tombstone), and find the subscribers of a publish.
 * Keys are built in ./keys.ts; docs/table-design.md explains the design and the races it closes.
 */
import { UpdateItemCommand, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { DEFAULT_ROW_TTL_SECONDS, PARTITION_KEY, REGION_ATTRIBUTE, SORT_KEY, TTL_ATTRIBUTE } from '../constants';
import { historyFenceCheck } from './dynamodb-history';
import {
  CONDITION_FAILED,
  CONNECTION_ID,
  exists,
  getItem,
  INDEX_KEYS,
  isConditionalCheckFailed,
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
import {
  connectionKey,
  indexKeys,
  subscriberQueryKey,
  subscriberQueryKeys,
  subscriptionKey,
  type SubscriberQueryKey,
  type TableKey,
} from './keys';
import type { AddSubscriptionOptions, AddSubscriptionResult, RequestId, SubscriberQuery, SubscriberRef, SubscriptionRecord } from './store';
import { assertAddSubscriptionOptions, assertHistoryFenceFits, assertSubscriptionRecord } from './validation';
import { mergePages } from '../util/merge';

/** {@link SubscriptionStore.addSubscription}: one transaction with the index rows and the connection's count. */
export async function addSubscription(
  t: DynamoDBTable, subscription: SubscriptionRecord, addOptions?: AddSubscriptionOptions,
): Promise<AddSubscriptionResult> {
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
        Item: toItem({ ...keyAttributes(rowKey), ...delivery, path, [INDEX_KEYS]: ownedKeys }),
        // Refuses a duplicate id and a stop tombstone alike; ALL_OLD tells which it was.
        ...notExists(),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    },
    ...ownedKeys.map((key): TransactWriteItem => ({ Put: { TableName: t.tableName, Item: toItem({ ...keyAttributes(key), ...delivery }) } })),
  ];
  if (fence) items.push(historyFenceCheck(t.tableName, fence));
  for (let attempt = 0; ; attempt++) {
    const reasons = await transact(t, 'addSubscription', items);
    if (!reasons) return 'created';
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
    if (fence && reasons[items.length - 1]?.Code === CONDITION_FAILED) return 'history-moved';
    await retryOrThrow(t, 'addSubscription', reasons, attempt);
  }
}

/** {@link SubscriptionStore.removeSubscription}: the subscription with its index rows, or a tombstone when it is not there yet. */
export async function removeSubscription(t: DynamoDBTable, connectionId: string, subscriptionId: RequestId): Promise<boolean> {
  const rowKey = subscriptionKey(connectionId, subscriptionId);
  for (let attempt = 0; ; attempt++) {
    const row = await getItem(t, 'removeSubscription', rowKey);
    if (row?.[STOPPED] === true) return false;
    if (row) {
      const owned = (row[INDEX_KEYS] ?? []) as TableKey[];
      const reasons = await transact(t, 'removeSubscription', [
        {
          Delete: {
            TableName: t.tableName,
            Key: toItem(keyAttributes(rowKey)),
            ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#stopped)',
            ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#stopped': STOPPED },
          },
        },
        ...owned.map((key): TransactWriteItem => ({ Delete: { TableName: t.tableName, Key: toItem(keyAttributes(key)) } })),
      ]);
      if (!reasons) {
        await releaseSlot(t, connectionId);
        return true;
      }
      // A concurrent stop or disconnect removed it first.
      if (reasons[0]?.Code === CONDITION_FAILED) return false;
      await retryOrThrow(t, 'removeSubscription', reasons, attempt);
      continue;
    }
    // Stop before start: leave a tombstone so the late subscribe is refused, but only while the
    // connection exists ($disconnect would not find a tombstone written after it).
    const reasons = await transact(t, 'removeSubscription', [
      { ConditionCheck: { TableName: t.tableName, Key: toItem(keyAttributes(connectionKey(connectionId))), ...exists() } },
      {
        Put: {
          TableName: t.tableName,
          Item: toItem({
            ...keyAttributes(rowKey),
            [CONNECTION_ID]: connectionId,
            [SUBSCRIPTION_ID]: subscriptionId,
            [STOPPED]: true,
            // The connection's rows expire at most this long after it opened, which was earlier.
            [TTL_ATTRIBUTE]: Math.floor(Date.now() / 1000) + DEFAULT_ROW_TTL_SECONDS,
          }),
          ...notExists(),
        },
      },
    ]);
    if (!reasons) return false;
    if (reasons[0]?.Code === CONDITION_FAILED) return false;
    // The subscribe won the race: read again and delete what it wrote.
    if (reasons[1]?.Code === CONDITION_FAILED && attempt < t.maxAttempts) continue;
    await retryOrThrow(t, 'removeSubscription', reasons, attempt);
  }
}

/**
 * Decrements the connection's subscription count after a stop removed a subscription: never
 * below 0, and a no-op when the connection row is gone. A separate request after the delete
 * transaction (an Update inside it would fail the stop once the connection is gone): a crash
 * between the two leaves the count one too high, which makes the cap stricter, never looser.
 */
async function releaseSlot(t: DynamoDBTable, connectionId: string): Promise<void> {
  try {
    const output = await t.client.send(
      new UpdateItemCommand({
        TableName: t.tableName,
        Key: toItem(keyAttributes(connectionKey(connectionId))),
        UpdateExpression: 'SET #count = #count - :one',
        ConditionExpression: 'attribute_exists(#pk) AND #count > :zero',
        ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#count': SUBSCRIPTION_COUNT },
        ExpressionAttributeValues: toItem({ ':zero': 0, ':one': 1 }),
        ReturnConsumedCapacity: t.returnConsumedCapacity,
      }),
    );
    report(t, 'removeSubscription', 'UpdateItem', output.ConsumedCapacity);
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
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
