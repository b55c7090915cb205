import { dynamodbLedger, memoryLedger, type DeliveryLedger } from '../../../lambda';
import { createTestTable, scanRows, type TestTable } from '../../support/dynamodb';

/** The delivery ledger's contract, for the DynamoDB and the in-memory ledger alike. */
let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('ledger');
});
afterAll(() => table.client.destroy());

describe.each([
  ['dynamodbLedger', () => dynamodbLedger({ tableName: table.tableName, dynamoDBClient: table.client })],
  ['memoryLedger', () => memoryLedger()],
])('%s', (name, create: () => DeliveryLedger) => {
  test('a new batch: claimed, nothing delivered; a second claim while leased is busy', async () => {
    const ledger = create();
    await expect(ledger.claim(`${name}-a`, 10_000)).resolves.toEqual({ busy: false, done: false, delivered: new Set() });
    await expect(ledger.claim(`${name}-a`, 10_000)).resolves.toMatchObject({ busy: true });
  });

  test('recorded progress is returned by the next claim; done is kept; the lease is released', async () => {
    const ledger = create();
    await ledger.claim(`${name}-b`, 10_000);
    await ledger.record(`${name}-b`, [0, 2], false, 3600);
    await expect(ledger.claim(`${name}-b`, 10_000)).resolves.toEqual({ busy: false, done: false, delivered: new Set([0, 2]) });
    await ledger.record(`${name}-b`, [1], true, 3600);
    await expect(ledger.claim(`${name}-b`, 10_000)).resolves.toEqual({ busy: false, done: true, delivered: new Set([0, 1, 2]) });
  });

  test('an expired lease can be taken over (a worker that crashed)', async () => {
    const ledger = create();
    await ledger.claim(`${name}-c`, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await expect(ledger.claim(`${name}-c`, 10_000)).resolves.toMatchObject({ busy: false });
  });
});

test('dynamodbLedger rows live in QUEUE# partitions with a TTL', async () => {
  const ledger = dynamodbLedger({ tableName: table.tableName, dynamoDBClient: table.client });
  await ledger.claim('rows#1', 10_000);
  await ledger.record('rows#1', [4], true, 3600);
  const row = (await scanRows(table.client, table.tableName)).find((r) => r.pk === 'QUEUE#rows\\#1');
  expect(row).toMatchObject({ sk: 'BATCH', done: true, delivered: new Set([4]) });
  expect(row!.leaseUntil).toBeUndefined();
  expect(row!.expireAt).toBeGreaterThan(Date.now() / 1000 + 3500);
});
