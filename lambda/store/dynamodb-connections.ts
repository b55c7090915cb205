/**
 * The DynamoDB store's operations on connection rows: write (`$connect`), read and settle
 * (`$default`), remove with everything the connection owns, and find connections by key or by the
 * minute they opened. Keys are built in ./keys.ts; docs/table-design.md explains the rows.
 */
import { QueryCommand, UpdateItemCommand, type WriteRequest } from '@aws-sdk/client-dynamodb';
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

/**
 * {@link SubscriptionStore.removeConnection}: the connection row first, then every row it owns;
 * with `known`, also the age bucket and key rows the caller knows of when the row is already gone.
 */
export async function removeConnection(t: DynamoDBTable, connectionId: string, known?: Pick<ConnectionRef, 'connectedAt' | 'key'>): Promise<void> {
  const removed = new Set<string>();
  // First pass: the connection row goes with the first index rows. From then on every
  // addSubscription, and every stop's tombstone, fails its condition on that row.
  const found = await removeConnectionPass(t, connectionId, removed, 'first');
  // The connection row already gone (its $disconnect ran first, or it is not replicated yet):
  // the age bucket and key rows the caller knows of go too, so presence is right at once.
  const leftovers = knownIndexKeys(connectionId, known).filter((key) => markRemoved(removed, key));
  if (leftovers.length > 0) await batchDelete(t, 'removeConnection', leftovers);
  if (!found) return;
  // Second pass, strongly consistent, once nothing can be added: the subscription rows as they
  // are now (with the index rows of any subscription stored, or stored again under the same id,
  // between the first read and the connection row's delete), and the tombstones.
  await removeConnectionPass(t, connectionId, removed, 'last');
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
async function removeConnectionPass(t: DynamoDBTable, connectionId: string, removed: Set<string>, pass: 'first' | 'last'): Promise<boolean> {
  const fresh = (key: TableKey): boolean => markRemoved(removed, key);
  let found = false;
  const pages = queryPages(t, 'removeConnection', {
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
    await batchDelete(t, 'removeConnection', owned);
    if (pass === 'last') await batchDelete(t, 'removeConnection', rows);
  }
  return found;
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

/** {@link SubscriptionStore.findConnection}: the connection's id, age, Region and key (a Query of its row, named attributes). */
export async function findConnection(t: DynamoDBTable, connectionId: string): Promise<ConnectionRef | undefined> {
  // A Query of the one row with named attributes, as removeConnection's: the publisher's grant
  // covers it, and it cannot return the params or the $connect snapshot (docs/security.md).
  const output = await t.client.send(
    new QueryCommand({
      TableName: t.tableName,
      KeyConditionExpression: '#pk = :pk AND #sk = :sk',
      ExpressionAttributeNames: {
        '#pk': PARTITION_KEY, '#sk': SORT_KEY, '#conn': CONNECTION_ID, '#at': CONNECTED_AT, '#region': REGION_ATTRIBUTE, '#key': CONNECTION_KEY,
      },
      ExpressionAttributeValues: toItem({ ':pk': connectionPartitionKey(connectionId), ':sk': CONNECTION_SORT_KEY }),
      ProjectionExpression: '#conn, #at, #region, #key',
      Select: 'SPECIFIC_ATTRIBUTES',
      ConsistentRead: true,
      ReturnConsumedCapacity: t.returnConsumedCapacity,
    }),
  );
  report(t, 'findConnection', 'Query', output.ConsumedCapacity);
  const item = output.Items?.[0] ? unmarshall(output.Items[0]) : undefined;
  if (!item) return undefined;
  return { ...toConnectionRef(item), ...(typeof item[CONNECTION_KEY] === 'string' ? { key: item[CONNECTION_KEY] } : {}) };
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
    const live = page.filter((item) => (item[TTL_ATTRIBUTE] as number) > nowSeconds).map((item) => ({ ...toConnectionRef(item), key }));
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
