/**
 * The stop's tombstone for a subscription not stored yet, shared by the store's removal
 * (./dynamodb-subscriptions.ts) and the hooks' (./dynamodb-hooks.ts).
 */
import type { TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { DEFAULT_ROW_TTL_SECONDS, TTL_ATTRIBUTE } from '../constants';
import { CONNECTION_ID, exists, keyAttributes, notExists, STOPPED, SUBSCRIPTION_ID, toItem, type DynamoDBTable } from './dynamodb-requests';
import { connectionKey, subscriptionKey } from './keys';
import type { RequestId } from './store';

/**
 * The transaction that leaves a stop's tombstone for a subscription not stored yet: the
 * connection row must exist ($disconnect would not find a tombstone written after it), and the
 * subscription row must not (else the subscribe won the race: read it again and delete it).
 */
export function tombstoneItems(t: DynamoDBTable, connectionId: string, subscriptionId: RequestId): TransactWriteItem[] {
  return [
    { ConditionCheck: { TableName: t.tableName, Key: toItem(keyAttributes(connectionKey(connectionId))), ...exists() } },
    {
      Put: {
        TableName: t.tableName,
        Item: toItem({
          ...keyAttributes(subscriptionKey(connectionId, subscriptionId)),
          [CONNECTION_ID]: connectionId,
          [SUBSCRIPTION_ID]: subscriptionId,
          [STOPPED]: true,
          // The connection's rows expire at most this long after it opened, which was earlier.
          [TTL_ATTRIBUTE]: Math.floor(Date.now() / 1000) + DEFAULT_ROW_TTL_SECONDS,
        }),
        ...notExists(),
      },
    },
  ];
}
