import { createServer, type Server, type Socket } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { dynamodbLedger, memoryLedger, type DeliveryLedger } from '../../../lambda';
import { LOCAL_AWS_SETTINGS } from '../../../lambda/local';
import type { DeliveryTarget } from '../../../lambda/queue/messages';
import { createTestTable, localDynamoDBClient, scanRows, type TestTable } from '../../support/dynamodb';

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

  test('a split: new, then busy while leased; after a failed attempt resumed with its saved cut; once done, done for every copy', async () => {
    const ledger = create();
    const publishId = `${name}-split`;
    await expect(ledger.claimSplit(publishId, 10_000)).resolves.toEqual({ busy: false, done: false, resumed: false });
    await expect(ledger.claimSplit(publishId, 10_000)).resolves.toEqual({ busy: true, done: false, resumed: true });
    // 30 batches: more than one BatchWriteItem; indexes 2 and 10 sort as numbers.
    const batches = Array.from({ length: 30 }, (_, index) => ({
      index, targets: [[`c${index}`, index], [`d${index}`, 's', '2.0'], [`e${index}`, 1, null, 'eu-west-1']] as DeliveryTarget[],
    }));
    await ledger.saveCut(publishId, batches.slice(0, 1), 3600);
    await ledger.saveCut(publishId, batches.slice(1), 3600);
    await ledger.finishSplit(publishId, false, 3600);
    await expect(ledger.claimSplit(publishId, 10_000)).resolves.toEqual({ busy: false, done: false, resumed: true });
    await expect(ledger.readCut(publishId)).resolves.toEqual(batches);
    await ledger.finishSplit(publishId, true, 3600);
    await expect(ledger.claimSplit(publishId, 10_000)).resolves.toEqual({ busy: false, done: true, resumed: true });
    // Done wins over a lease: a copy arriving at once is not made to wait.
    await expect(ledger.claimSplit(publishId, 10_000)).resolves.toEqual({ busy: false, done: true, resumed: true });
    await expect(ledger.readCut(`${name}-never-split`)).resolves.toEqual([]);
  });

  test('an expired split lease can be taken over (a splitting worker that died)', async () => {
    const ledger = create();
    await ledger.claimSplit(`${name}-split-c`, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await expect(ledger.claimSplit(`${name}-split-c`, 10_000)).resolves.toEqual({ busy: false, done: false, resumed: true });
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

test('dynamodbLedger keeps a split in the QUEUE# partition of its publish: the SPLIT row and one CUT# row of JSON targets per batch, with a TTL', async () => {
  const ledger = dynamodbLedger({ tableName: table.tableName, dynamoDBClient: table.client });
  await ledger.claimSplit('rows-split', 10_000);
  await ledger.saveCut('rows-split', [{ index: 0, targets: [['c0', 1]] }, { index: 1, targets: [['c1', 's', '2.0']] }], 3600);
  await ledger.finishSplit('rows-split', true, 3600);
  const rows = (await scanRows(table.client, table.tableName)).filter((r) => r.pk === 'QUEUE#rows-split').sort((a, b) => a.sk.localeCompare(b.sk));
  expect(rows.map(({ sk, targets, done }) => ({ sk, targets, done }))).toEqual([
    { sk: 'CUT#0', targets: '[["c0",1]]', done: undefined },
    { sk: 'CUT#1', targets: '[["c1","s","2.0"]]', done: undefined },
    { sk: 'SPLIT', targets: undefined, done: true },
  ]);
  for (const row of rows) expect(row.expireAt).toBeGreaterThan(Date.now() / 1000 + 3500);
  expect(rows[2].leaseUntil).toBeUndefined();
});

describe('dynamodbLedger against an endpoint that never answers', () => {
  let server: Server;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  test('every call fails within its deadline instead of hanging', async () => {
    const { port } = server.address() as { port: number };
    const client = new DynamoDBClient({ endpoint: `http://127.0.0.1:${port}`, ...LOCAL_AWS_SETTINGS, maxAttempts: 1 });
    const ledger = dynamodbLedger({ tableName: 't', dynamoDBClient: client, timeouts: { callTimeoutMs: 300 } });
    try {
      await expect(ledger.claim('x', 1000)).rejects.toThrow('did not answer within 300 ms');
      await expect(ledger.claimSplit('x', 1000)).rejects.toThrow('did not answer within 300 ms');
      await expect(ledger.saveCut('x', [{ index: 0, targets: [['c', 1]] }], 60)).rejects.toThrow('did not answer within 300 ms');
      await expect(ledger.readCut('x')).rejects.toThrow('did not answer within 300 ms');
      await expect(ledger.finishSplit('x', true, 60)).rejects.toThrow('did not answer within 300 ms');
    } finally {
      client.destroy();
    }
  });
});

test('dynamodbLedger costs (docs/table-design.md): a claim or record 1 WCU; a saved batch of 100 targets 3 WCU (4 with Regions)', async () => {
  const units: Array<[string, number]> = [];
  const client = localDynamoDBClient(table.endpoint);
  client.middlewareStack.add((next, context) => async (args) => {
    (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity = 'TOTAL';
    const result = await next(args);
    const consumed = (result.output as { ConsumedCapacity?: { CapacityUnits?: number } | Array<{ CapacityUnits?: number }> }).ConsumedCapacity;
    const total = [consumed ?? []].flat().reduce((sum, entry) => sum + (entry.CapacityUnits ?? 0), 0);
    units.push([String(context.commandName).replace(/Command$/, ''), total]);
    return result;
  }, { step: 'initialize', name: 'consumedCapacity' });
  const ledger = dynamodbLedger({ tableName: table.tableName, dynamoDBClient: client });
  // API Gateway's connection ids are 16 characters.
  const id = (n: number) => `L0SM9cOFv${String(n).padStart(6, '0')}=`;
  try {
    await ledger.claimSplit('cost', 10_000);
    await ledger.saveCut('cost', [{ index: 0, targets: Array.from({ length: 100 }, (_, n) => [id(n), 1] as DeliveryTarget) }], 3600);
    await ledger.saveCut('cost', [{ index: 1, targets: Array.from({ length: 100 }, (_, n) => [id(n), 1, null, 'eu-west-1'] as DeliveryTarget) }], 3600);
    await ledger.claim('cost#0', 10_000);
    await ledger.record('cost#0', Array.from({ length: 100 }, (_, n) => n), true, 3600);
    await ledger.finishSplit('cost', true, 3600);
    await ledger.readCut('cost');
  } finally {
    client.destroy();
  }
  expect(units).toEqual([['UpdateItem', 1], ['BatchWriteItem', 3], ['BatchWriteItem', 4], ['UpdateItem', 1], ['UpdateItem', 1], ['UpdateItem', 1], ['Query', 2]]);
});
