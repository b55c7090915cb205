import { checkBulkRows } from '../../bench/support/bulk';
import { localDynamoDBClient } from '../support/dynamodb';

/**
 * The benchmark populates large tables with BatchWriteItem instead of the store; its rows must
 * stay exactly the store's (a new row kind in the store fails this, not a bench run later).
 */
test("the bench's bulk rows equal the rows the store writes for the same subscriber", async () => {
  const client = localDynamoDBClient(process.env.DYNAMODB_ENDPOINT!);
  try {
    await expect(checkBulkRows(client, `jest-${Date.now()}`)).resolves.toBeUndefined();
  } finally {
    client.destroy();
  }
});
