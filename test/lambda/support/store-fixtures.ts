import { QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { dynamodb, memory, type MemoryStore, type SubscriptionStore } from '../../../lambda';
import { CONNECTION_SORT_KEY, connectionPartitionKey, SUBSCRIPTION_SORT_KEY_PREFIX } from '../../../lambda/store/keys';
import { createTestTable, type TestTable } from '../../support/dynamodb';

/** A store implementation for a suite that runs over several, and a way to look inside it. */
export interface StoreFixture {
  /** A fresh, empty store. */
  create(): Promise<SubscriptionStore>;
  /** How many connections the store holds. */
  connectionCount(store: SubscriptionStore): Promise<number>;
  /** The live subscriptions (not stop tombstones) stored for a connection. */
  subscriptionsOf(store: SubscriptionStore, connectionId: string): Promise<readonly unknown[]>;
}

/** `memory()`, inspected through its test helpers. */
export const memoryFixture: StoreFixture = {
  create: async () => memory(),
  connectionCount: async (store) => (store as MemoryStore).connectionCount(),
  subscriptionsOf: async (store, connectionId) => (store as MemoryStore).subscriptionsOf(connectionId),
};

/** `dynamodb()` on a fresh table in the run's DynamoDB Local, inspected by reading the table. */
export function dynamodbFixture(): StoreFixture {
  const tables = new WeakMap<SubscriptionStore, TestTable>();
  const tableOf = (store: SubscriptionStore): TestTable => {
    const table = tables.get(store);
    if (!table) throw new Error('store was not created by this fixture');
    return table;
  };
  return {
    async create() {
      const table = await createTestTable('protocol');
      const store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
      tables.set(store, table);
      return store;
    },
    async connectionCount(store) {
      const { client, tableName } = tableOf(store);
      const { Count } = await client.send(new ScanCommand({
        TableName: tableName,
        ConsistentRead: true,
        FilterExpression: 'sk = :conn',
        ExpressionAttributeValues: { ':conn': { S: CONNECTION_SORT_KEY } },
      }));
      return Count ?? 0;
    },
    async subscriptionsOf(store, connectionId) {
      const { client, tableName } = tableOf(store);
      const { Items } = await client.send(new QueryCommand({
        TableName: tableName,
        ConsistentRead: true,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sub)',
        FilterExpression: 'attribute_not_exists(stopped)',
        ExpressionAttributeValues: { ':pk': { S: connectionPartitionKey(connectionId) }, ':sub': { S: SUBSCRIPTION_SORT_KEY_PREFIX } },
      }));
      return Items ?? [];
    },
  };
}
