/**
 * The DynamoDB store's operations on connection rows: write (`$connect`), read and settle
 * (`$default`), remove with everything the connection owns, and find connections by key or by the
 * minute they opened. Keys are built in ./keys.ts; docs/table-design.md explains the rows.
 */
import { DeleteItemCommand, QueryCommand, UpdateItemCommand, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { PARTITION_KEY, REGION_ATTRIBUTE, SORT_KEY, TTL_ATTRIBUTE } from '../constants';
import {
  batchDelete,
  CONDITION_FAILED,
  CONNECTED_AT,
  CONNECTION_ID,
  CONNECTION_KEY,
  getItem,
  INDEX_KEYS,
  isConditionalCheckFailed,
  keyAttributes,
  queryPages,
  REFUSAL,
  report,
  retryOrThrow,
  toItem,
  transact,
  writeBatch,
  type DynamoDBTable,
  type Item,
} from './dynamodb-requests';
import {
  ageBuckets,
  ageIndexKey,
  agePartitionKey,
  CONNECTION_SORT_KEY,
  connectionKey,
  connectionPartitionKey,
  keyIndexKey,
  keyPartitionKey,
  type TableKey,
} from './keys';
import type { ConnectionAgeQuery, ConnectionRecord, ConnectionRef, SubscriptionStore } from './store';
import { assertEpochSeconds } from './validation';

/** {@link SubscriptionStore.putConnection}: the connection row, its age row and (with a key) its key row, in one BatchWriteItem. */
export async function putConnection(t: DynamoDBTable, connection: ConnectionRecord): Promise<void> {
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
  await writeBatch(t, 'putConnection', items.map((item): WriteRequest => ({ PutRequest: { Item: toItem(item) } })));
}

/** {@link SubscriptionStore.getConnection}: the connection row, strongly consistent. */
export async function getConnection(t: DynamoDBTable, connectionId: string): Promise<ConnectionRecord | undefined> {
  const item = await getItem(t, 'getConnection', connectionKey(connectionId));
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

/** {@link SubscriptionStore.setConnectionParams}: once, on a connection still awaiting its params. */
export function setConnectionParams(t: DynamoDBTable, connectionId: string, params: Record<string, string> | null): Promise<boolean> {
  return settleAwaitingConnection(t, 'setConnectionParams', connectionId, 'SET #params = :params', { '#params': 'connectionParams' }, { ':params': params });
}

/** {@link SubscriptionStore.refuseConnection}: once, on a connection still awaiting its params. */
export function refuseConnection(t: DynamoDBTable, connectionId: string, refusal: string, expireAt: number): Promise<boolean> {
  assertEpochSeconds('expireAt', expireAt);
  return settleAwaitingConnection(
    t, 'refuseConnection', connectionId, 'SET #refusal = :refusal, #ttl = :ttl', { '#refusal': REFUSAL, '#ttl': TTL_ATTRIBUTE }, { ':refusal': refusal, ':ttl': expireAt },
  );
}

/**
 * Settles a connection still awaiting its params, once: `set` and `awaitingConnectionParams`
 * false in one conditional UpdateItem (the check and the write are one atomic request).
 * @returns false when the row is gone or was settled before
 */
async function settleAwaitingConnection(
  t: DynamoDBTable, operation: keyof SubscriptionStore, connectionId: string, set: string,
  names: Record<string, string>, values: Record<string, unknown>,
): Promise<boolean> {
  try {
    const output = await t.client.send(
      new UpdateItemCommand({
        TableName: t.tableName,
        Key: toItem(keyAttributes(connectionKey(connectionId))),
        UpdateExpression: `${set}, #awaiting = :false`,
        ConditionExpression: 'attribute_exists(#pk) AND #awaiting = :true',
        ExpressionAttributeNames: { ...names, '#awaiting': 'awaitingConnectionParams', '#pk': PARTITION_KEY },
        ExpressionAttributeValues: toItem({ ...values, ':false': false, ':true': true }),
        ReturnConsumedCapacity: t.returnConsumedCapacity,
      }),
    );
    report(t, operation, 'UpdateItem', output.ConsumedCapacity);
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/** {@link SubscriptionStore.setConnectionKey}: the key on the connection row and its key row, while the connection exists. */
export async function setConnectionKey(t: DynamoDBTable, connection: ConnectionRecord, key: string): Promise<boolean> {
  const { connectionId, connectedAt, expireAt } = connection;
  assertEpochSeconds('expireAt', expireAt);
  for (let attempt = 0; ; attempt++) {
    const reasons = await transact(t, 'setConnectionKey', [
      {
        Update: {
          TableName: t.tableName,
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
          TableName: t.tableName,
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
    await retryOrThrow(t, 'setConnectionKey', reasons, attempt);
  }
}

/** {@link SubscriptionStore.removeConnection}: the connection row first, then every row it owns. */
export async function removeConnection(t: DynamoDBTable, connectionId: string): Promise<void> {
  // The connection row names its age bucket and key rows. Read only those attributes: the
  // publisher's grant refuses a request that could return connectionParams or the $connect
  // snapshot (a DeleteItem with ReturnValues ALL_OLD would; docs/security.md).
  // A Query of the one row, not a GetItem: the grant's Select condition covers Query, so the
  // publisher needs no GetItem (which could read the row whole).
  const refsOutput = await t.client.send(
    new QueryCommand({
      TableName: t.tableName,
      KeyConditionExpression: '#pk = :pk AND #sk = :sk',
      ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY, '#at': CONNECTED_AT, '#key': CONNECTION_KEY },
      ExpressionAttributeValues: toItem({ ':pk': connectionPartitionKey(connectionId), ':sk': CONNECTION_SORT_KEY }),
      ProjectionExpression: '#at, #key',
      Select: 'SPECIFIC_ATTRIBUTES',
      ConsistentRead: true,
      ReturnConsumedCapacity: t.returnConsumedCapacity,
    }),
  );
  report(t, 'removeConnection', 'Query', refsOutput.ConsumedCapacity);
  const old = refsOutput.Items?.[0] ? unmarshall(refsOutput.Items[0]) : {};
  // Delete the connection row (and its subscription count) next: from now on every
  // addSubscription fails its condition, so the strongly consistent query below sees every subscription that will ever exist.
  const output = await t.client.send(
    new DeleteItemCommand({
      TableName: t.tableName,
      Key: toItem(keyAttributes(connectionKey(connectionId))),
      ReturnConsumedCapacity: t.returnConsumedCapacity,
    }),
  );
  report(t, 'removeConnection', 'DeleteItem', output.ConsumedCapacity);
  // Deleted with the first page's index rows (one more item in a batch, not one more request).
  let refs: TableKey[] = [];
  if (typeof old[CONNECTED_AT] === 'number') refs.push(ageIndexKey(old[CONNECTED_AT], connectionId));
  if (typeof old[CONNECTION_KEY] === 'string') refs.push(keyIndexKey(old[CONNECTION_KEY], connectionId));
  const pages = queryPages(t, 'removeConnection', {
    KeyConditionExpression: '#pk = :pk',
    ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY, '#index': INDEX_KEYS },
    ExpressionAttributeValues: toItem({ ':pk': connectionPartitionKey(connectionId) }),
    // Named attributes only: the publisher's grant refuses any other read (docs/security.md).
    ProjectionExpression: '#pk, #sk, #index',
    Select: 'SPECIFIC_ATTRIBUTES',
    ConsistentRead: true,
  });
  for await (const page of pages) {
    const rows: TableKey[] = [];
    const owned: TableKey[] = refs;
    refs = [];
    for (const row of page) {
      if (row[SORT_KEY] === CONNECTION_SORT_KEY) continue;
      rows.push({ pk: row[PARTITION_KEY] as string, sk: row[SORT_KEY] as string });
      owned.push(...((row[INDEX_KEYS] ?? []) as TableKey[]));
    }
    // Index rows first: if this invocation dies midway, a retry still finds them through the
    // subscription rows (and TTL removes whatever is left).
    await batchDelete(t, 'removeConnection', owned);
    await batchDelete(t, 'removeConnection', rows);
  }
}

/** {@link SubscriptionStore.findConnectionsByKey}: live connections of a key, page by page. */
export async function* findConnectionsByKey(t: DynamoDBTable, key: string): AsyncIterable<readonly ConnectionRef[]> {
  const nowSeconds = Math.floor(Date.now() / 1000);
  const pages = queryPages(t, 'findConnectionsByKey', {
    KeyConditionExpression: '#pk = :pk',
    ExpressionAttributeValues: toItem({ ':pk': keyPartitionKey(key) }),
    ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#conn': CONNECTION_ID, '#at': CONNECTED_AT, '#ttl': TTL_ATTRIBUTE, '#region': REGION_ATTRIBUTE },
    ProjectionExpression: '#conn, #at, #ttl, #region',
    ConsistentRead: true,
  });
  for await (const page of pages) {
    // TTL deletes within days, not at expireAt: a row past it belongs to a dead connection.
    const live = page.filter((item) => (item[TTL_ATTRIBUTE] as number) > nowSeconds).map(toConnectionRef);
    if (live.length > 0) yield live;
  }
}

/** {@link SubscriptionStore.countConnectionsByKey}: live connections of a key (`Select: COUNT`). */
export async function countConnectionsByKey(t: DynamoDBTable, key: string): Promise<number> {
  let count = 0;
  let exclusiveStartKey: Item | undefined;
  do {
    const output = await t.client.send(
      new QueryCommand({
        TableName: t.tableName,
        KeyConditionExpression: '#pk = :pk',
        FilterExpression: '#ttl > :now',
        ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#ttl': TTL_ATTRIBUTE },
        ExpressionAttributeValues: toItem({ ':pk': keyPartitionKey(key), ':now': Math.floor(Date.now() / 1000) }),
        Select: 'COUNT',
        ConsistentRead: true,
        ExclusiveStartKey: exclusiveStartKey,
        ReturnConsumedCapacity: t.returnConsumedCapacity,
      }),
    );
    report(t, 'countConnectionsByKey', 'Query', output.ConsumedCapacity);
    count += output.Count ?? 0;
    exclusiveStartKey = output.LastEvaluatedKey;
  } while (exclusiveStartKey);
  return count;
}

/** {@link SubscriptionStore.findConnectionsByAge}: connections opened in a range, by connect-minute bucket. */
export async function* findConnectionsByAge(t: DynamoDBTable, query: ConnectionAgeQuery): AsyncIterable<readonly ConnectionRef[]> {
  const { connectedFrom, connectedTo } = query;
  for (const bucket of ageBuckets(connectedFrom, connectedTo)) {
    const pages = queryPages(t, 'findConnectionsByAge', {
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

function toConnectionRef(item: Record<string, unknown>): ConnectionRef {
  return {
    connectionId: item[CONNECTION_ID] as string,
    connectedAt: item[CONNECTED_AT] as number,
    ...(typeof item[REGION_ATTRIBUTE] === 'string' ? { region: item[REGION_ATTRIBUTE] } : {}),
  };
}
