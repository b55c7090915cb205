/**
 * The DynamoDB store's removals that report what they won, for lifecycle hooks: each row is
 * deleted on a condition (it exists, and a subscription row is not a tombstone), so of concurrent
 * removals ($disconnect, a 410, a stop, the rollover's sweep) exactly one deletes it and runs its
 * hook. Reads name their attributes (never `connectionParams` or the `$connect` snapshot: the
 * publisher's grant refuses other reads; docs/security.md). docs/table-design.md has the costs.
 */
import { DeleteItemCommand, QueryCommand, UpdateItemCommand, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { PARTITION_KEY, SORT_KEY } from '../constants';
import { removeConnection } from './dynamodb-connections';
import {
  CONDITION_FAILED,
  CONNECTED_AT,
  CONNECTION_KEY,
  exists,
  INDEX_KEYS,
  isConditionalCheckFailed,
  keyAttributes,
  queryPages,
  REFUSAL,
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
import { connectionKey, connectionPartitionKey, subscriptionKey, SUBSCRIPTION_SORT_KEY_PREFIX, type TableKey } from './keys';
import type { ConnectionEnding, ConnectionRef, EndedConnection, EndedRemoval, EndedSubscription, RequestId } from './store';

/** Attribute of a subscription row: what the route's `onSubscribe` returned (JSON). */
export const HOOK_STATE = 'hookState';
/** Attribute of a connection row: how the server is ending it (`moving`, `closing`). */
export const ENDING = 'ending';
/**
 * Attribute of a subscription row: a server-side stop is ending it (set before its frame). Not
 * `ending`: a publisher may write that one (reconnect, disconnect), and only a controller may mark
 * a subscription (the publisher's grant does not name this attribute).
 */
const STOPPING = 'stopping';
/** Attribute of a subscription row: its route. */
const PATH = 'path';
/** Attribute of a connection row: still waiting for its `connectionParams`. */
const AWAITING = 'awaitingConnectionParams';
/** Subscription rows claimed at once by one removal. */
const CLAIM_CONCURRENCY = 8;

/** One row's named attributes by a Query of its key (what the publisher's grant allows; a GetItem is not). */
async function readRow(
  t: DynamoDBTable, operation: 'endSubscription' | 'endConnection', key: TableKey, attributes: readonly string[],
): Promise<Record<string, unknown> | undefined> {
  const names = Object.fromEntries(attributes.map((name, index) => [`#a${index}`, name]));
  const output = await t.client.send(new QueryCommand({
    TableName: t.tableName,
    KeyConditionExpression: '#pk = :pk AND #sk = :sk',
    ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY, ...names },
    ExpressionAttributeValues: toItem({ ':pk': key.pk, ':sk': key.sk }),
    ProjectionExpression: Object.keys(names).join(', '),
    Select: 'SPECIFIC_ATTRIBUTES',
    ConsistentRead: true,
    ReturnConsumedCapacity: t.returnConsumedCapacity,
  }));
  report(t, operation, 'Query', output.ConsumedCapacity);
  const item = output.Items?.[0];
  return item ? unmarshall(item) : undefined;
}

/**
 * Deletes a subscription row, on the condition that it exists and is not a tombstone, with its
 * index rows, in one transaction (the connection's count is left alone: the caller removes the
 * connection, or releases the slot itself).
 * @returns whether this call deleted it
 */
async function claimSubscription(
  t: DynamoDBTable, operation: 'endSubscription' | 'endConnection', rowKey: TableKey, owned: readonly TableKey[], releaseSlotOf?: string,
): Promise<boolean> {
  const items: TransactWriteItem[] = [
    {
      Delete: {
        TableName: t.tableName,
        Key: toItem(keyAttributes(rowKey)),
        ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#stopped)',
        ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#stopped': STOPPED },
      },
    },
    ...owned.map((key): TransactWriteItem => ({ Delete: { TableName: t.tableName, Key: toItem(keyAttributes(key)) } })),
  ];
  const releaseSlot: TransactWriteItem[] = releaseSlotOf === undefined ? [] : [{
    Update: {
      TableName: t.tableName,
      Key: toItem(keyAttributes(connectionKey(releaseSlotOf))),
      UpdateExpression: 'SET #count = #count - :one',
      ConditionExpression: 'attribute_exists(#pk) AND #count > :zero',
      ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#count': SUBSCRIPTION_COUNT },
      ExpressionAttributeValues: toItem({ ':zero': 0, ':one': 1 }),
    },
  }];
  for (let attempt = 0; ; attempt++) {
    let reasons = await transact(t, operation, [...items, ...releaseSlot]);
    // The connection row is gone or has no count: delete without the slot.
    if (reasons && releaseSlot.length > 0 && reasons[0]?.Code !== CONDITION_FAILED && reasons[items.length]?.Code === CONDITION_FAILED) {
      reasons = await transact(t, operation, items);
    }
    if (!reasons) return true;
    if (reasons[0]?.Code === CONDITION_FAILED) return false;
    await retryOrThrow(t, operation, reasons, attempt);
  }
}

/** How the server is ending a connection, as its row says. */
async function endingOf(t: DynamoDBTable, connectionId: string): Promise<{ ending?: ConnectionEnding }> {
  const row = await readRow(t, 'endSubscription', connectionKey(connectionId), [ENDING]);
  return endingIn(row);
}

function endingIn(row: Record<string, unknown> | undefined): { ending?: ConnectionEnding } {
  const ending = row?.[ENDING];
  return ending === 'moving' || ending === 'closing' ? { ending } : {};
}

/**
 * {@link SubscriptionStore.endSubscription}: reads the row (route, hook state, index keys) and
 * how the server is ending its connection, then deletes it conditionally with its index rows and its
 * slot; a subscription not stored yet gets the stop's tombstone, as `removeSubscription`.
 */
export async function endSubscription(t: DynamoDBTable, connectionId: string, subscriptionId: RequestId): Promise<Omit<EndedRemoval, 'connection'>> {
  const rowKey = subscriptionKey(connectionId, subscriptionId);
  for (let attempt = 0; ; attempt++) {
    const [row, ending] = await Promise.all([
      readRow(t, 'endSubscription', rowKey, [STOPPED, INDEX_KEYS, PATH, HOOK_STATE, STOPPING]),
      endingOf(t, connectionId),
    ]);
    if (row?.[STOPPED] === true) return { subscriptions: [], ...ending };
    if (row) {
      const won = await claimSubscription(t, 'endSubscription', rowKey, (row[INDEX_KEYS] ?? []) as TableKey[], connectionId);
      return { subscriptions: won ? [ended(connectionId, subscriptionId, row)] : [], ...ending };
    }
    // Stop before start: the tombstone refuses the late subscribe, while the connection exists.
    const reasons = await transact(t, 'endSubscription', tombstoneItems(t, connectionId, subscriptionId));
    if (!reasons || reasons[0]?.Code === CONDITION_FAILED) return { subscriptions: [], ...ending };
    // The subscribe won the race: read again (now with its route and state) and claim it.
    if (reasons[1]?.Code === CONDITION_FAILED && attempt < t.maxAttempts) continue;
    await retryOrThrow(t, 'endSubscription', reasons, attempt);
  }
}

function ended(connectionId: string, subscriptionId: RequestId, row: Record<string, unknown>): EndedSubscription {
  return {
    connectionId,
    subscriptionId,
    path: String(row[PATH]),
    ...(typeof row[HOOK_STATE] === 'string' ? { hookState: row[HOOK_STATE] } : {}),
    ...(row[STOPPING] === true ? { ending: 'closing' as const } : {}),
  };
}

/**
 * {@link SubscriptionStore.endConnection}: the connection row's delete first, on the condition
 * that it exists (from then on no subscription can be added), then each subscription row read
 * afterwards (strongly consistent), each in its own conditional transaction with its index rows;
 * then `removeConnection` removes what is left (tombstones; the age and key rows).
 */
export async function endConnection(t: DynamoDBTable, connectionId: string, known?: Pick<ConnectionRef, 'connectedAt' | 'key'>): Promise<EndedRemoval> {
  const row = await readRow(t, 'endConnection', connectionKey(connectionId), [CONNECTED_AT, CONNECTION_KEY, ENDING, AWAITING, REFUSAL]);
  let connection: EndedConnection | undefined;
  if (row && await deleteIfExists(t, connectionKey(connectionId))) {
    connection = {
      connectionId,
      connectedAt: row[CONNECTED_AT] as number,
      ...(typeof row[CONNECTION_KEY] === 'string' ? { key: row[CONNECTION_KEY] } : {}),
      accepted: row[AWAITING] !== true && row[REFUSAL] === undefined,
    };
  }
  const subscriptions: EndedSubscription[] = [];
  const pages = queryPages(t, 'endConnection', {
    KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :sub)',
    ExpressionAttributeNames: {
      '#pk': PARTITION_KEY, '#sk': SORT_KEY, '#stopped': STOPPED, '#index': INDEX_KEYS, '#path': PATH, '#state': HOOK_STATE, '#sub': SUBSCRIPTION_ID,
    },
    ExpressionAttributeValues: toItem({ ':pk': connectionPartitionKey(connectionId), ':sub': SUBSCRIPTION_SORT_KEY_PREFIX }),
    ProjectionExpression: '#sk, #stopped, #index, #path, #state, #sub',
    Select: 'SPECIFIC_ATTRIBUTES',
    ConsistentRead: true,
  });
  for await (const page of pages) {
    const live = page.filter((item) => item[STOPPED] !== true);
    for (let start = 0; start < live.length; start += CLAIM_CONCURRENCY) {
      await Promise.all(live.slice(start, start + CLAIM_CONCURRENCY).map(async (item) => {
        const subscriptionId = item[SUBSCRIPTION_ID] as RequestId;
        const rowKey = { pk: connectionPartitionKey(connectionId), sk: item[SORT_KEY] as string };
        if (await claimSubscription(t, 'endConnection', rowKey, (item[INDEX_KEYS] ?? []) as TableKey[])) {
          subscriptions.push(ended(connectionId, subscriptionId, item));
        }
      }));
    }
  }
  const rowKnown = row && typeof row[CONNECTED_AT] === 'number'
    ? { connectedAt: row[CONNECTED_AT], ...(typeof row[CONNECTION_KEY] === 'string' ? { key: row[CONNECTION_KEY] } : {}) }
    : undefined;
  await removeConnection(t, connectionId, known ?? rowKnown);
  return { subscriptions, ...(connection ? { connection } : {}), ...endingIn(row) };
}

/** Deletes a row on the condition that it exists; whether this call deleted it. */
async function deleteIfExists(t: DynamoDBTable, key: TableKey): Promise<boolean> {
  try {
    const output = await t.client.send(new DeleteItemCommand({
      TableName: t.tableName,
      Key: toItem(keyAttributes(key)),
      ...exists(),
      ReturnConsumedCapacity: t.returnConsumedCapacity,
    }));
    report(t, 'endConnection', 'DeleteItem', output.ConsumedCapacity);
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/** {@link SubscriptionStore.markEnding}: one conditional UpdateItem of the connection row. */
export async function markEnding(t: DynamoDBTable, connectionId: string, ending: ConnectionEnding, subscriptionId?: RequestId): Promise<void> {
  try {
    const output = await t.client.send(new UpdateItemCommand({
      TableName: t.tableName,
      Key: toItem(keyAttributes(subscriptionId === undefined ? connectionKey(connectionId) : subscriptionKey(connectionId, subscriptionId))),
      UpdateExpression: 'SET #ending = :ending',
      // A subscription row: not a tombstone (a stop's tombstone stays one).
      ConditionExpression: subscriptionId === undefined ? 'attribute_exists(#pk)' : 'attribute_exists(#pk) AND attribute_not_exists(#stopped)',
      ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#ending': subscriptionId === undefined ? ENDING : STOPPING, ...(subscriptionId === undefined ? {} : { '#stopped': STOPPED }) },
      ExpressionAttributeValues: toItem({ ':ending': subscriptionId === undefined ? ending : true }),
      ReturnConsumedCapacity: t.returnConsumedCapacity,
    }));
    report(t, 'markEnding', 'UpdateItem', output.ConsumedCapacity);
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
}
