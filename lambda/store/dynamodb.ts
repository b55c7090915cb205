// STUB (runtime branch): placeholder so the runtime compiles before the real DynamoDB store lands
// from the `store` branch, which replaces this whole file at merge.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SubscriptionStore } from './store';

/** Options of {@link dynamodb}. */
export interface DynamoDBStoreOptions {
  /**
   * Name of the subscriptions table.
   * @default - `TRPC_SUBSCRIPTIONS_TABLE_NAME`
   */
  readonly tableName?: string;
  /**
   * DynamoDB client.
   * @default - a new `DynamoDBClient({})`
   */
  readonly dynamoDBClient?: DynamoDBClient;
}

/** The DynamoDB store (stub: not implemented on this branch). */
export function dynamodb(_options: DynamoDBStoreOptions = {}): SubscriptionStore {
  throw new Error('not implemented: dynamodb() store stub on the runtime branch');
}
