import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createSubscriptionTable, LOCAL_AWS_SETTINGS } from '../../lambda/local/dynamodb-local';

/** A fresh table with the construct's schema in the run's DynamoDB Local. */
export interface TestTable {
  readonly tableName: string;
  readonly client: DynamoDBClient;
  readonly endpoint: string;
}

/** Create a uniquely named subscriptions table in the DynamoDB Local started by global setup. */
export async function createTestTable(prefix = 'test'): Promise<TestTable> {
  const endpoint = process.env.DYNAMODB_ENDPOINT;
  if (!endpoint) throw new Error('DYNAMODB_ENDPOINT is not set: is test/setup/global-setup.ts configured?');
  const client = new DynamoDBClient({ endpoint, ...LOCAL_AWS_SETTINGS });
  const tableName = `${prefix}-${randomUUID()}`;
  await createSubscriptionTable({ client, tableName });
  return { tableName, client, endpoint };
}
