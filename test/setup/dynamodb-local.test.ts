import { DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { createSubscriptionTable } from '../../lambda/local/dynamodb-local';
import { createTestTable } from '../support/dynamodb';

describe('DynamoDB Local test setup', () => {
  test('creates a table with the construct schema: pk/sk strings and TTL on expireAt', async () => {
    const { client, tableName } = await createTestTable();

    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    expect(Table?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(Table?.GlobalSecondaryIndexes).toBeUndefined();
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
    expect(ttl.TimeToLiveDescription?.AttributeName).toBe('expireAt');
    expect(ttl.TimeToLiveDescription?.TimeToLiveStatus).toBe('ENABLED');

    // Idempotent: creating it again is not an error.
    await expect(createSubscriptionTable({ client, tableName })).resolves.toBeUndefined();
    client.destroy();
  });
});
