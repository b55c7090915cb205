import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { REGION_ATTRIBUTE } from '../../../lambda/constants';
import { dynamodb } from '../../../lambda/store/dynamodb';
import { INDEX_SHARDS } from '../../../lambda/store/keys';
import { memory } from '../../../lambda/store/memory';
import type { SubscriberRef, SubscriptionStore } from '../../../lambda/store/store';
import { createTestTable, scanRows, type TestTable } from '../../support/dynamodb';
import { connection, subscription } from '../store/store-conformance';

async function refs(store: SubscriptionStore, withRegion: boolean): Promise<SubscriberRef[]> {
  const found: SubscriberRef[] = [];
  for await (const page of store.findSubscribers({ path: 'onMessage', withRegion })) found.push(...page);
  return found.sort((a, b) => a.connectionId.localeCompare(b.connectionId));
}

async function storeRegions(store: SubscriptionStore): Promise<void> {
  await store.putConnection(connection('eu-1', { region: 'eu-west-1' }));
  await store.putConnection(connection('plain'));
  await store.addSubscription({ ...subscription('eu-1', 1, [{ name: 'byRoom', values: ['a'] }]), region: 'eu-west-1' });
  await store.addSubscription(subscription('plain', 1));
}

describe.each<[string, () => Promise<{ store: SubscriptionStore; table?: TestTable }>]>([
  ['memory', async () => ({ store: memory() })],
  ['dynamodb', async () => {
    const table = await createTestTable('region');
    return { store: dynamodb({ tableName: table.tableName, dynamoDBClient: table.client }), table };
  }],
])('%s store: the Region of a connection', (_name, makeStore) => {
  test('a connection\'s Region round-trips; a connection without one has none', async () => {
    const { store } = await makeStore();
    await storeRegions(store);

    expect((await store.getConnection('eu-1'))?.region).toBe('eu-west-1');
    expect(await store.getConnection('plain')).not.toHaveProperty('region');
  });

  test('findSubscribers returns each subscriber\'s Region only when asked', async () => {
    const { store } = await makeStore();
    await storeRegions(store);

    expect(await refs(store, true)).toEqual([
      { connectionId: 'eu-1', subscriptionId: 1, region: 'eu-west-1' },
      { connectionId: 'plain', subscriptionId: 1 },
    ]);
    expect(await refs(store, false)).toEqual([{ connectionId: 'eu-1', subscriptionId: 1 }, { connectionId: 'plain', subscriptionId: 1 }]);
  });
});

describe('dynamodb store: Region attributes on rows', () => {
  test('every row of a connection with a Region carries it; rows of a connection without one have no attribute', async () => {
    const table = await createTestTable('region-rows');
    const store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
    await storeRegions(store);

    const rows = await scanRows(table.client, table.tableName);

    const euRows = rows.filter((row) => row.connectionId === 'eu-1');
    const plainRows = rows.filter((row) => row.connectionId === 'plain');
    // connection, its age bucket row, subscription, unfiltered and byRoom index rows
    expect(euRows.map((row) => row[REGION_ATTRIBUTE])).toEqual(Array(5).fill('eu-west-1'));
    expect(plainRows.length).toBe(4);
    expect(plainRows.some((row) => REGION_ATTRIBUTE in row)).toBe(false);
  });

  test('a publish read without `withRegion` names only the connection and subscription ids (single-region requests are unchanged)', async () => {
    const table = await createTestTable('region-projection');
    const sent: string[] = [];
    table.client.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === QueryCommand.name) sent.push(String((args.input as { ProjectionExpression?: string }).ProjectionExpression));
      return next(args);
    }, { step: 'initialize', name: 'recordProjection' });
    const store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
    await storeRegions(store);

    await refs(store, false);
    await refs(store, true);

    // One Query per shard of the index partition (docs/table-design.md, "Shards").
    expect(sent).toEqual([...Array<string>(INDEX_SHARDS).fill('#conn, #sub, #jsonrpc, #liveAfter'), ...Array<string>(INDEX_SHARDS).fill('#conn, #sub, #jsonrpc, #liveAfter, #region')]);
  });
});
