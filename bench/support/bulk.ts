/**
 * Bulk population of the library's table: exactly the rows the store writes for a subscriber made
 * by `seedRoomSubscriber`, written with BatchWriteItem (25 rows per request, 8 requests in flight)
 * instead of one transaction per subscriber. `checkBulkRows` proves the rows equal the store's own
 * on a sample before a run relies on them.
 */
import { BatchWriteItemCommand, ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { runBounded } from './env';
import { seedRoomSubscriber } from './example-app';
import { dynamodb } from '../../lambda';
import { createSubscriptionTable } from '../../lambda/local';
import { ageIndexKey, connectionKey, indexKeys, subscriptionKey } from '../../lambda/store/keys';

/** One subscriber to write: its connection id and room. */
export interface SeedSubscriber {
  readonly connectionId: string;
  readonly room: string;
}

/** The rows of one subscriber, as the store writes them for `seedRoomSubscriber`. */
export function subscriberRows(subscriber: SeedSubscriber, connectedAt: number, expireAt: number): Record<string, unknown>[] {
  const { connectionId, room } = subscriber;
  const path = 'onMessage';
  const filters = [{ name: 'byRoom', values: [room] }, { name: 'byUserAndRoom', values: ['anon', room] }];
  const owned = indexKeys(path, filters, connectionId, 1);
  const delivery = { connectionId, subscriptionId: 1, expireAt };
  return [
    {
      ...connectionKey(connectionId),
      connectionId,
      connectedAt,
      expireAt,
      awaitingConnectionParams: false,
      connect: { sourceIp: '127.0.0.1' },
      subscriptionCount: 1,
    },
    // The connection's row in the bucket of the minute it opened (the rollover's index).
    { ...ageIndexKey(connectedAt, connectionId), connectionId, connectedAt, expireAt },
    { ...subscriptionKey(connectionId, 1), ...delivery, path, indexKeys: owned },
    ...owned.map((key) => ({ ...key, ...delivery })),
  ];
}

/** Writes the rows of `subscribers` with BatchWriteItem, retrying unprocessed items. */
export async function bulkSeed(client: DynamoDBClient, tableName: string, subscribers: readonly SeedSubscriber[]): Promise<void> {
  const connectedAt = Date.now();
  const expireAt = Math.floor(connectedAt / 1000) + 7800;
  const rows = subscribers.flatMap((subscriber) => subscriberRows(subscriber, connectedAt, expireAt));
  const batches = Math.ceil(rows.length / 25);
  await runBounded(batches, 8, async (b) => {
    let requests = rows.slice(b * 25, b * 25 + 25).map((row) => ({ PutRequest: { Item: marshall(row, { removeUndefinedValues: true }) } }));
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt >= 10) throw new Error('bulkSeed: unprocessed items left after 10 attempts');
      const output = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }));
      requests = (output.UnprocessedItems?.[tableName] ?? []) as typeof requests;
    }
  });
}

async function scanAll(client: DynamoDBClient, tableName: string): Promise<Record<string, unknown>[]> {
  const output = await client.send(new ScanCommand({ TableName: tableName, ConsistentRead: true }));
  return (output.Items ?? []).map((item) => unmarshall(item)).sort((a, b) => `${a.pk}${a.sk}`.localeCompare(`${b.pk}${b.sk}`));
}

/**
 * Seeds one subscriber through the store and the same through `subscriberRows` in two scratch
 * tables and throws unless the rows are identical.
 */
export async function checkBulkRows(client: DynamoDBClient, tableSuffix: string): Promise<void> {
  const viaStore = `bench-bulk-check-store-${tableSuffix}`;
  const viaBulk = `bench-bulk-check-bulk-${tableSuffix}`;
  await createSubscriptionTable({ client, tableName: viaStore });
  await createSubscriptionTable({ client, tableName: viaBulk });
  const subscriber = { connectionId: 'AbC+dE/fGh12=', room: 'room #1;x' };
  await seedRoomSubscriber(dynamodb({ tableName: viaStore, dynamoDBClient: client }), subscriber.connectionId, subscriber.room);
  const stored = await scanAll(client, viaStore);
  const connection = stored.find((row) => row.sk === 'CONN')!;
  const rows = subscriberRows(subscriber, connection.connectedAt as number, connection.expireAt as number);
  let requests = rows.map((row) => ({ PutRequest: { Item: marshall(row, { removeUndefinedValues: true }) } }));
  const output = await client.send(new BatchWriteItemCommand({ RequestItems: { [viaBulk]: requests } }));
  requests = (output.UnprocessedItems?.[viaBulk] ?? []) as typeof requests;
  if (requests.length > 0) throw new Error('checkBulkRows: unprocessed items');
  const bulk = await scanAll(client, viaBulk);
  if (JSON.stringify(bulk) !== JSON.stringify(stored)) {
    throw new Error(`bulk rows differ from the store's rows:\nstore: ${JSON.stringify(stored)}\nbulk:  ${JSON.stringify(bulk)}`);
  }
}
