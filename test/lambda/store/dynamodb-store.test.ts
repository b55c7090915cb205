import {
  BatchWriteItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { connection, describeStoreConformance, findAll, subscription } from './store-conformance';
import { TABLE_NAME_ENV } from '../../../lambda/constants';
import { dynamodb, type ConsumedCapacityReport, type DynamoDBStoreOptions } from '../../../lambda/store/dynamodb';
import { connectionKey, INDEX_SHARDS } from '../../../lambda/store/keys';
import type { SubscriptionStore } from '../../../lambda/store/store';
import { createTestTable, localDynamoDBClient, scanRows, type TestTable } from '../../support/dynamodb';

describeStoreConformance('dynamodb', async () => {
  const table = await createTestTable('store');
  return {
    store: dynamodb({ tableName: table.tableName, dynamoDBClient: table.client }),
    listRows: async () => (await scanRows(table.client, table.tableName)).map((row) => ({ pk: row.pk as string, sk: row.sk as string })),
    dispose: () => table.client.destroy(),
  };
});

describe('dynamodb store', () => {
  let table: TestTable;
  beforeAll(async () => {
    table = await createTestTable('store-ddb');
  });
  afterAll(() => table.client.destroy());

  function store(options: DynamoDBStoreOptions = {}): SubscriptionStore {
    return dynamodb({ tableName: table.tableName, dynamoDBClient: table.client, ...options });
  }

  describe('configuration', () => {
    const saved = process.env[TABLE_NAME_ENV];
    afterEach(() => {
      if (saved === undefined) delete process.env[TABLE_NAME_ENV];
      else process.env[TABLE_NAME_ENV] = saved;
    });

    test('reads the table name from the environment at first use, never at import or creation', async () => {
      delete process.env[TABLE_NAME_ENV];
      const lazy = dynamodb({ dynamoDBClient: table.client });
      process.env[TABLE_NAME_ENV] = table.tableName;
      await lazy.putConnection(connection('env-conn'));
      await expect(store().getConnection('env-conn')).resolves.toBeDefined();
    });

    test('fails with an error naming the environment variable when there is no table name', async () => {
      delete process.env[TABLE_NAME_ENV];
      const nameless = dynamodb({ dynamoDBClient: table.client });
      await expect(nameless.getConnection('x')).rejects.toThrow(
        `dynamodb() store has no table name: pass \`tableName\` or set the ${TABLE_NAME_ENV} environment variable`,
      );
    });

    test.each([0, 1.5])('refuses pageSize %p', (pageSize) => {
      expect(() => dynamodb({ tableName: 't', pageSize })).toThrow(`\`pageSize\` must be a positive integer, got: ${pageSize}`);
    });
  });

  describe('rows', () => {
    test('store what the design documents: keys, delivery attributes, owned index keys and integer expireAt', async () => {
      const s = store();
      const id = 'rows-conn';
      await s.putConnection(connection(id, { connectedAt: 1_700_000_000_000, expireAt: 1_700_007_800 }));
      await s.addSubscription({ ...subscription(id, 1, [{ name: 'byRoom', values: ['a'] }]), expireAt: 1_700_007_800 });
      await s.removeSubscription(id, 2);
      const rows = (await scanRows(table.client, table.tableName)).filter((row) => JSON.stringify(row).includes(id));
      const byKey = Object.fromEntries(rows.map((row) => [`${row.pk as string} | ${row.sk as string}`, row]));
      expect(Object.keys(byKey).sort()).toEqual([
        'AGE#28333333 | C#rows-conn',
        'CONN#rows-conn | CONN',
        'CONN#rows-conn | SUB#n1;',
        'CONN#rows-conn | SUB#n2;',
        'ROUTE#onMessage#ALL#5 | C#rows-conn#S#n1;',
        'ROUTE#onMessage#F#byRoom#0 | sa;#C#rows-conn#S#n1;',
      ]);
      expect(byKey['CONN#rows-conn | SUB#n1;']).toEqual({
        pk: 'CONN#rows-conn',
        sk: 'SUB#n1;',
        connectionId: id,
        subscriptionId: 1,
        path: 'onMessage',
        expireAt: 1_700_007_800,
        indexKeys: [
          { pk: 'ROUTE#onMessage#ALL#5', sk: 'C#rows-conn#S#n1;' },
          { pk: 'ROUTE#onMessage#F#byRoom#0', sk: 'sa;#C#rows-conn#S#n1;' },
        ],
      });
      expect(byKey['ROUTE#onMessage#F#byRoom#0 | sa;#C#rows-conn#S#n1;']).toEqual({
        pk: 'ROUTE#onMessage#F#byRoom#0',
        sk: 'sa;#C#rows-conn#S#n1;',
        connectionId: id,
        subscriptionId: 1,
        expireAt: 1_700_007_800,
      });
      // 1_700_000_000_000 ms is in minute 28_333_333 since the epoch.
      expect(byKey['AGE#28333333 | C#rows-conn']).toEqual({
        pk: 'AGE#28333333', sk: 'C#rows-conn', connectionId: id, connectedAt: 1_700_000_000_000, expireAt: 1_700_007_800,
      });
      const tombstone = byKey['CONN#rows-conn | SUB#n2;'];
      expect(tombstone).toMatchObject({ stopped: true, subscriptionId: 2 });
      expect(Number.isInteger(tombstone.expireAt)).toBe(true);
      expect(tombstone.expireAt as number).toBeGreaterThan(Date.now() / 1000);
      await s.removeConnection(id);
    });

    test('removeConnection with the rows the caller knows removes the key and age rows after a concurrent removal took the connection row', async () => {
      const s = store();
      const id = 'known-rows-conn';
      await s.putConnection(connection(id, { key: 'user:known', connectedAt: 1_700_000_000_000 }));
      const known = (await s.findConnection(id))!;
      // The connection's $disconnect deleted its row first (the rows naming its key and age bucket are still there).
      await table.client.send(new DeleteItemCommand({ TableName: table.tableName, Key: marshall({ pk: `CONN#${id}`, sk: 'CONN' }) }));
      const mine = async () => (await scanRows(table.client, table.tableName)).filter((row) => row.connectionId === id).map((row) => row.pk);
      expect(await mine()).toEqual(expect.arrayContaining(['AGE#28333333', 'KEY#user:known']));

      await s.removeConnection(id, known);

      expect(await mine()).toEqual([]);
      await expect(s.countConnectionsByKey('user:known')).resolves.toBe(0);
    });
  });

  describe('findSubscribers pages', () => {
    test('follows LastEvaluatedKey through small pages (Limit)', async () => {
      const s = store({ pageSize: 7 });
      await s.putConnection(connection('paged-conn'));
      for (let i = 0; i < 40; i++) await s.addSubscription(subscription('paged-conn', i, [], 'small-pages'));
      const pages: number[] = [];
      for await (const page of s.findSubscribers({ path: 'small-pages' })) pages.push(page.length);
      expect(pages).toEqual([7, 7, 7, 7, 7, 5]);
      await s.removeConnection('paged-conn');
    });

    test('follows LastEvaluatedKey past DynamoDB 1 MB pages', async () => {
      const s = store();
      const id = 'big-page-conn';
      await s.putConnection(connection(id));
      // Index rows carry the subscription id; 12 ids of 100 KB make the route partition ~1.2 MB.
      for (let i = 0; i < 12; i++) await s.addSubscription(subscription(id, `${i}-${'x'.repeat(100 * 1024)}`, [], 'big-pages'));
      const pages: number[] = [];
      for await (const page of s.findSubscribers({ path: 'big-pages' })) pages.push(page.length);
      expect(pages.length).toBeGreaterThan(1);
      expect(pages.reduce((a, b) => a + b, 0)).toBe(12);
      await s.removeConnection(id);
    });
  });

  describe('faults a real DynamoDB Local does not produce', () => {
    /**
     * The real client, except that the first `timesToFail` BatchWriteItem calls process only their
     * first item (none when there is only one) and return the rest as UnprocessedItems.
     */
    function clientWithUnprocessedItems(timesToFail: number): { client: DynamoDBClient; batchCalls: () => number } {
      const client = localDynamoDBClient(table.endpoint);
      const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
      let calls = 0;
      let failures = 0;
      (client as unknown as { send: typeof send }).send = async (command: unknown) => {
        if (!(command instanceof BatchWriteItemCommand)) return send(command);
        calls++;
        const [[tableName, requests]] = Object.entries(command.input.RequestItems ?? {});
        if (failures >= timesToFail) return send(command);
        failures++;
        if (requests.length < 2) return { UnprocessedItems: { [tableName]: requests }, $metadata: {} };
        await send(new BatchWriteItemCommand({ RequestItems: { [tableName]: requests.slice(0, 1) } }));
        return { UnprocessedItems: { [tableName]: requests.slice(1) }, $metadata: {} };
      };
      return { client, batchCalls: () => calls };
    }

    /** The real client, except that the first `times` transactions are cancelled with `code`. */
    function clientWithCancelledTransactions(times: number, code: string): { client: DynamoDBClient; attempts: () => number } {
      const client = localDynamoDBClient(table.endpoint);
      const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
      let attempts = 0;
      (client as unknown as { send: typeof send }).send = async (command: unknown) => {
        if (!(command instanceof TransactWriteItemsCommand)) return send(command);
        attempts++;
        if (attempts > times) return send(command);
        throw new TransactionCanceledException({
          message: 'Transaction cancelled',
          $metadata: {},
          CancellationReasons: (command.input.TransactItems ?? []).map((_, i) => ({ Code: i === 1 ? code : 'None' })),
        });
      };
      return { client, attempts: () => attempts };
    }

    test('addSubscription and removeSubscription retry transactions cancelled by a conflict', async () => {
      await store().putConnection(connection('conflict-conn'));
      const { client, attempts } = clientWithCancelledTransactions(2, 'TransactionConflict');
      const s = dynamodb({ tableName: table.tableName, dynamoDBClient: client });
      await expect(s.addSubscription(subscription('conflict-conn', 1, [], 'conflict'))).resolves.toBe('created');
      expect(attempts()).toBe(3);
      await expect(findAll(s, { path: 'conflict' })).resolves.toEqual(['conflict-conn/1']);
      client.destroy();

      const second = clientWithCancelledTransactions(1, 'TransactionConflict');
      const t = dynamodb({ tableName: table.tableName, dynamoDBClient: second.client });
      await expect(t.removeSubscription('conflict-conn', 1)).resolves.toBe(true);
      expect(second.attempts()).toBe(2);
      await expect(findAll(t, { path: 'conflict' })).resolves.toEqual([]);
      second.client.destroy();
      await store().removeConnection('conflict-conn');
    });

    test('a transaction that keeps conflicting, or fails validation, ends in a clear error', async () => {
      await store().putConnection(connection('conflict-conn-2'));
      const conflicting = clientWithCancelledTransactions(Number.POSITIVE_INFINITY, 'TransactionConflict');
      await expect(
        dynamodb({ tableName: table.tableName, dynamoDBClient: conflicting.client, maxAttempts: 3 }).addSubscription(subscription('conflict-conn-2', 1)),
      ).rejects.toThrow('addSubscription: DynamoDB transaction cancelled (None, TransactionConflict, None) after 3 attempts');
      expect(conflicting.attempts()).toBe(3);
      conflicting.client.destroy();
      const invalid = clientWithCancelledTransactions(1, 'ValidationError');
      await expect(
        dynamodb({ tableName: table.tableName, dynamoDBClient: invalid.client }).addSubscription(subscription('conflict-conn-2', 1)),
      ).rejects.toThrow('addSubscription: DynamoDB transaction cancelled (None, ValidationError, None)');
      expect(invalid.attempts()).toBe(1);
      invalid.client.destroy();
      await store().removeConnection('conflict-conn-2');
    });

    test('removeConnection retries unprocessed batch items until every row is gone', async () => {
      const { client, batchCalls } = clientWithUnprocessedItems(3);
      const s = dynamodb({ tableName: table.tableName, dynamoDBClient: client });
      const id = 'unprocessed-conn';
      await s.putConnection(connection(id));
      for (let i = 0; i < 10; i++) await s.addSubscription(subscription(id, i, [{ name: 'byRoom', values: ['a'] }], 'unprocessed'));
      await s.removeConnection(id);
      expect(batchCalls()).toBeGreaterThan(2);
      expect((await scanRows(table.client, table.tableName)).filter((row) => JSON.stringify(row).includes(id))).toEqual([]);
      client.destroy();
    });

    test('removeConnection fails clearly when items stay unprocessed after maxAttempts', async () => {
      const { client } = clientWithUnprocessedItems(Number.POSITIVE_INFINITY);
      const s = dynamodb({ tableName: table.tableName, dynamoDBClient: client, maxAttempts: 3 });
      const id = 'stuck-conn';
      await store().putConnection(connection(id));
      for (let i = 0; i < 3; i++) await s.addSubscription(subscription(id, i, [], 'stuck'));
      await expect(s.removeConnection(id)).rejects.toThrow(/removeConnection: \d+ writes still unprocessed by DynamoDB after 3 attempts/);
      // Idempotent: a later attempt with a healthy client finishes the job.
      await store().removeConnection(id);
      expect((await scanRows(table.client, table.tableName)).filter((row) => JSON.stringify(row).includes(id))).toEqual([]);
      client.destroy();
    });
  });

  describe('stop and disconnect in few round trips, races closed', () => {
    const rowsOf = async (connectionId: string) =>
      (await scanRows(table.client, table.tableName)).filter((row) => JSON.stringify(row).includes(connectionId));

    test('a stop on the instance that stored the subscription deletes it whatever happened to its id meanwhile', async () => {
      const id = 'recent-conn';
      const first = store();
      const second = store();
      const max = { maxSubscriptions: 1 };
      await first.putConnection(connection(id));
      await expect(first.addSubscription(subscription(id, 1, [{ name: 'byRoom', values: ['a'] }], 'recent'), max)).resolves.toBe('created');
      // Another instance stops it, and the id comes back with other filter values (the client
      // never reuses an id, but nothing stops a client that does).
      await expect(second.removeSubscription(id, 1)).resolves.toBe(true);
      await expect(second.addSubscription(subscription(id, 1, [{ name: 'byRoom', values: ['b'] }], 'recent'), max)).resolves.toBe('created');
      // The first instance remembers the keys of room a: its delete must not take the row of room b
      // and leave room b's index rows behind.
      await expect(first.removeSubscription(id, 1)).resolves.toBe(true);
      expect((await rowsOf(id)).map((row) => row.pk).filter((pk) => pk.startsWith('ROUTE#'))).toEqual([]);
      // The slot was freed once: exactly one subscription fits again.
      await expect(first.addSubscription(subscription(id, 2, [], 'recent'), max)).resolves.toBe('created');
      await expect(first.addSubscription(subscription(id, 3, [], 'recent'), max)).resolves.toBe('limit-reached');
      await first.removeConnection(id);
      expect(await rowsOf(id)).toEqual([]);
    });

    test.each([
      ['its connection row is gone (a $disconnect in progress)', 'gone', (key: ReturnType<typeof connectionKey>) =>
        new DeleteItemCommand({ TableName: table.tableName, Key: marshall(key) })],
      ['its connection row has no count (subscribed before the cap existed)', 'uncounted', (key: ReturnType<typeof connectionKey>) =>
        new UpdateItemCommand({ TableName: table.tableName, Key: marshall(key), UpdateExpression: 'REMOVE subscriptionCount' })],
    ])('a stop still deletes the subscription when %s', async (_case, name, change) => {
      const id = `${name}-conn`;
      const adder = store();
      // The instance that stored it (it knows the keys), then another one (it reads the row).
      for (const stopper of [adder, store()]) {
        await adder.putConnection(connection(id));
        await adder.addSubscription(subscription(id, 1, [{ name: 'byRoom', values: ['a'] }], name));
        await table.client.send(change(connectionKey(id)));
        await expect(stopper.removeSubscription(id, 1)).resolves.toBe(true);
        expect((await rowsOf(id)).filter((row) => row.pk.startsWith('ROUTE#') || row.sk.startsWith('SUB#'))).toEqual([]);
        await adder.removeConnection(id);
      }
    });

    test('removeConnection removes what a subscribe, a stop or a reused id committed between its first read and the connection row\'s delete', async () => {
      const id = 'late-conn';
      const writer = store();
      await writer.putConnection(connection(id));
      await writer.addSubscription(subscription(id, 1, [{ name: 'byRoom', values: ['a'] }], 'late'));
      const client = localDynamoDBClient(table.endpoint);
      const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
      let queries = 0;
      (client as unknown as { send: typeof send }).send = async (command: unknown) => {
        const output = await send(command);
        // Right after the first read of the partition, as if a subscribe and a stop ran then.
        if (command instanceof QueryCommand && queries++ === 0) {
          await expect(writer.addSubscription(subscription(id, 2, [{ name: 'byRoom', values: ['a'] }], 'late'))).resolves.toBe('created');
          await expect(writer.removeSubscription(id, 3)).resolves.toBe(false); // a tombstone
          // Id 1 stopped and stored again with other index rows than the first read saw.
          await expect(writer.removeSubscription(id, 1)).resolves.toBe(true);
          await expect(writer.addSubscription(subscription(id, 1, [{ name: 'byRoom', values: ['b'] }], 'late'))).resolves.toBe('created');
        }
        return output;
      };
      await dynamodb({ tableName: table.tableName, dynamoDBClient: client }).removeConnection(id);
      expect(queries).toBe(2);
      expect(await rowsOf(id)).toEqual([]);
      await expect(findAll(store(), { path: 'late' })).resolves.toEqual([]);
      client.destroy();
    });
  });

  describe('index shards', () => {
    test('rows of the unsharded index (older versions) are found only with unshardedIndexReads', async () => {
      const legacy = [
        { pk: 'ROUTE#legacy#ALL', sk: 'C#old-conn#S#n1;', connectionId: 'old-conn', subscriptionId: 1, expireAt: 2_000_000_000 },
        { pk: 'ROUTE#legacy#F#byRoom', sk: 'sa;#C#old-conn#S#n1;', connectionId: 'old-conn', subscriptionId: 1, expireAt: 2_000_000_000 },
      ];
      await table.client.send(new BatchWriteItemCommand({
        RequestItems: { [table.tableName]: legacy.map((row) => ({ PutRequest: { Item: marshall(row) } })) },
      }));
      await store().putConnection(connection('new-conn'));
      await store().addSubscription(subscription('new-conn', 1, [{ name: 'byRoom', values: ['a'] }], 'legacy'));
      await expect(findAll(store(), { path: 'legacy' })).resolves.toEqual(['new-conn/1']);
      await expect(findAll(store({ unshardedIndexReads: true }), { path: 'legacy' })).resolves.toEqual(expect.arrayContaining(['new-conn/1', 'old-conn/1']));
      await expect(findAll(store({ unshardedIndexReads: true }), { path: 'legacy', filter: { name: 'byRoom', values: ['a'] } }))
        .resolves.toEqual(expect.arrayContaining(['new-conn/1', 'old-conn/1']));
    });
  });

  describe('consumed capacity', () => {
    test('reports the units of every request to onConsumedCapacity', async () => {
      const reports: ConsumedCapacityReport[] = [];
      const s = store({ onConsumedCapacity: (report) => reports.push(report) });
      await s.putConnection(connection('capacity-conn'));
      expect(reports).toEqual([
        // The connection row and its age bucket row.
        expect.objectContaining({ operation: 'putConnection', command: 'BatchWriteItem', readCapacityUnits: 0, writeCapacityUnits: 2 }),
      ]);
      await s.addSubscription(subscription('capacity-conn', 1, [], 'capacity'));
      reports.length = 0;
      await findAll(s, { path: 'capacity' });
      // One Query per shard of the unfiltered partition; the one holding the row reads 1 unit.
      expect(reports).toHaveLength(INDEX_SHARDS);
      expect(reports.every((report) => report.operation === 'findSubscribers' && report.command === 'Query' && report.writeCapacityUnits === 0)).toBe(true);
      expect(reports.reduce((sum, report) => sum + report.readCapacityUnits, 0)).toBe(1);
      await s.removeConnection('capacity-conn');
    });
  });
});
