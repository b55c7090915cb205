import { TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { connection, findAll, subscription } from './store-conformance';
import { dynamodb, type ConsumedCapacityReport } from '../../../lambda/store/dynamodb';
import type { FilterEntry } from '../../../lambda/store/store';
import { createTestTable, type TestTable } from '../../support/dynamodb';

/**
 * The read/write units of each store operation, measured with ReturnConsumedCapacity against
 * DynamoDB Local. docs/table-design.md quotes these figures: keep both in step.
 *
 * DynamoDB Local reports single-item requests, batches and queries like the service, but reports a
 * flat 2 units for most TransactWriteItems, so for transactions the test records the number of
 * actions (the service bills 2 WCU per action and KB, a ConditionCheck included).
 */
describe('dynamodb store capacity per operation', () => {
  let table: TestTable;
  let reports: ConsumedCapacityReport[];
  let store: ReturnType<typeof dynamodb>;
  let eventual: ReturnType<typeof dynamodb>;
  /** Another warm instance: it did not store the subscriptions it stops. */
  let other: ReturnType<typeof dynamodb>;

  beforeAll(async () => {
    table = await createTestTable('capacity');
    const options = { tableName: table.tableName, dynamoDBClient: table.client, onConsumedCapacity: (r: ConsumedCapacityReport) => reports.push(r) };
    // Observe (not alter) the real client to count the actions of each transaction.
    const send = table.client.send.bind(table.client) as (command: unknown) => Promise<unknown>;
    (table.client as unknown as { send: typeof send }).send = (command: unknown) => {
      if (command instanceof TransactWriteItemsCommand) transactActions.push(command.input.TransactItems?.length ?? 0);
      return send(command);
    };
    store = dynamodb(options);
    eventual = dynamodb({ ...options, consistentPublishReads: false });
    other = dynamodb(options);
  });
  afterAll(() => table.client.destroy());

  let transactActions: number[];

  /** Units of every request except transactions, whose action counts are listed instead. */
  async function measure(action: () => Promise<unknown>): Promise<string> {
    reports = [];
    transactActions = [];
    await action();
    const plain = reports.filter((r) => r.command !== 'TransactWriteItems');
    const read = plain.reduce((sum, r) => sum + r.readCapacityUnits, 0);
    const write = plain.reduce((sum, r) => sum + r.writeCapacityUnits, 0);
    return `${read} RCU + ${write} WCU${transactActions.map((n) => ` + transaction of ${n}`).join('')}: ${reports.map((r) => r.command).join(', ')}`;
  }

  const filters = (count: number): FilterEntry[] =>
    Array.from({ length: count }, (_, i) => ({ name: `byUserAndRoom${i}`, values: ['user-0123456789', 'room-42'] }));

  test('figures', async () => {
    const figures: Record<string, unknown> = {};
    const conn = connection('L0SM9cOFvHcCIhw=', {
      awaitingConnectionParams: true,
      connect: { queryStringParameters: { connectionParams: '1' }, authorizer: { principalId: 'user-0123456789' }, sourceIp: '203.0.113.9' },
    });
    figures.connect = await measure(() => store.putConnection(conn));
    figures.connectionParams = await measure(() => store.setConnectionParams(conn.connectionId, { token: 'x'.repeat(200) }));
    figures.getConnection = await measure(() => store.getConnection(conn.connectionId));
    for (const f of [0, 1, 2, 5]) {
      figures[`subscribe F=${f}`] = await measure(() => store.addSubscription(subscription(conn.connectionId, 100 + f, filters(f))));
    }
    figures['subscribe duplicate'] = await measure(() => store.addSubscription(subscription(conn.connectionId, 101, filters(1))));
    for (const f of [0, 1, 2, 5]) {
      figures[`stop F=${f}`] = await measure(() => store.removeSubscription(conn.connectionId, 100 + f));
    }
    for (const f of [0, 2]) {
      await store.addSubscription(subscription(conn.connectionId, 200 + f, filters(f)));
      figures[`stop F=${f} by another instance`] = await measure(() => other.removeSubscription(conn.connectionId, 200 + f));
    }
    figures['stop before start'] = await measure(() => store.removeSubscription(conn.connectionId, 999));
    for (let i = 0; i < 10; i++) await store.addSubscription(subscription(conn.connectionId, i, filters(2)));
    figures['disconnect S=10 F=2'] = await measure(() => store.removeConnection(conn.connectionId));
    figures['disconnect again'] = await measure(() => store.removeConnection(conn.connectionId));

    const keyed = connection('K0SM9cOFvHcCIhw=', { key: 'user:user-0123456789', connectedAt: Date.UTC(2020, 0, 1, 0, 0, 30) });
    figures['connect with key'] = await measure(() => store.putConnection(keyed));
    const later = connection('P0SM9cOFvHcCIhw=', { awaitingConnectionParams: true });
    await store.putConnection(later);
    figures.setConnectionKey = await measure(() => store.setConnectionKey(later, 'user:user-9'));
    figures['presence count'] = await measure(() => store.countConnectionsByKey(keyed.key!));
    figures['find by key'] = await measure(async () => {
      for await (const page of store.findConnectionsByKey(keyed.key!)) void page;
    });
    // A rollover run at the default age: the 6 minute buckets from 2 h to 1 h 55 min ago.
    figures['find by age, 6 buckets'] = await measure(async () => {
      const range = { connectedFrom: keyed.connectedAt - 60_000, connectedTo: keyed.connectedAt + 4 * 60_000 };
      for await (const page of store.findConnectionsByAge(range)) void page;
    });
    figures['disconnect with key, S=0'] = await measure(() => store.removeConnection(keyed.connectionId));
    await store.removeConnection(later.connectionId);

    let subscribed = 0;
    for (const n of [1, 100, 1000]) {
      while (subscribed < n) {
        const batch = Array.from({ length: Math.min(50, n - subscribed) }, (_, i) => subscribed + i);
        await Promise.all(batch.map(async (i) => {
          const id = `conn-${String(i).padStart(6, '0')}=`;
          await store.putConnection(connection(id));
          await store.addSubscription(subscription(id, 1, filters(2)));
        }));
        subscribed += batch.length;
      }
      figures[`publish N=${n} unfiltered`] = await measure(() => findAll(store, { path: 'onMessage' }));
      figures[`publish N=${n} filtered`] = await measure(() => findAll(store, { path: 'onMessage', filter: filters(1)[0] }));
      figures[`publish N=${n} unfiltered eventual`] = await measure(() => findAll(eventual, { path: 'onMessage' }));
    }
    expect(figures).toEqual({
      'connect': '0 RCU + 2 WCU: BatchWriteItem',
      'connectionParams': '0 RCU + 1 WCU: UpdateItem',
      'getConnection': '1 RCU + 0 WCU: GetItem',
      'subscribe F=0': '0 RCU + 0 WCU + transaction of 3: TransactWriteItems',
      'subscribe F=1': '0 RCU + 0 WCU + transaction of 4: TransactWriteItems',
      'subscribe F=2': '0 RCU + 0 WCU + transaction of 5: TransactWriteItems',
      'subscribe F=5': '0 RCU + 0 WCU + transaction of 8: TransactWriteItems',
      // A cancelled transaction reports no capacity (the service still bills it).
      'subscribe duplicate': '0 RCU + 0 WCU + transaction of 4: ',
      // The instance that stored the subscription knows its index keys: one transaction deletes
      // its rows and decrements the connection's subscription count (the last action).
      'stop F=0': '0 RCU + 0 WCU + transaction of 3: TransactWriteItems',
      'stop F=1': '0 RCU + 0 WCU + transaction of 4: TransactWriteItems',
      'stop F=2': '0 RCU + 0 WCU + transaction of 5: TransactWriteItems',
      'stop F=5': '0 RCU + 0 WCU + transaction of 8: TransactWriteItems',
      // Another instance reads the subscription row for its index keys first.
      'stop F=0 by another instance': '1 RCU + 0 WCU + transaction of 3: Query, TransactWriteItems',
      'stop F=2 by another instance': '1 RCU + 0 WCU + transaction of 5: Query, TransactWriteItems',
      // A tombstone does not count.
      // DynamoDB Local reports 0 for the Query of the subscription row, which finds nothing.
      'stop before start': '0 RCU + 0 WCU + transaction of 2: Query, TransactWriteItems',
      // 1 connection row + its age bucket row + 10 subscription rows + 30 index rows + the tombstone
      // left by the stop before start. The first Query reads them all, the connection and index rows
      // go first (2 batches), then the second Query (once the connection row is gone) reads the
      // subscription rows and the tombstone, which go last.
      'disconnect S=10 F=2': '3 RCU + 43 WCU: Query, BatchWriteItem, BatchWriteItem, Query, BatchWriteItem',
      'disconnect again': '0 RCU + 0 WCU: Query',
      // The connection row, its age bucket row and its key row.
      'connect with key': '0 RCU + 3 WCU: BatchWriteItem',
      'setConnectionKey': '0 RCU + 0 WCU + transaction of 2: TransactWriteItems',
      'presence count': '1 RCU + 0 WCU: Query',
      'find by key': '1 RCU + 0 WCU: Query',
      // DynamoDB Local reports 0 for a Query that finds nothing; five of the six buckets are empty.
      'find by age, 6 buckets': '1 RCU + 0 WCU: Query, Query, Query, Query, Query, Query',
      'disconnect with key, S=0': '1 RCU + 3 WCU: Query, BatchWriteItem, Query',
      'publish N=1 unfiltered': '1 RCU + 0 WCU: Query, Query, Query, Query, Query, Query, Query, Query',
      'publish N=1 filtered': '1 RCU + 0 WCU: Query',
      'publish N=1 unfiltered eventual': '0.5 RCU + 0 WCU: Query, Query, Query, Query, Query, Query, Query, Query',
      'publish N=100 unfiltered': '8 RCU + 0 WCU: Query, Query, Query, Query, Query, Query, Query, Query',
      'publish N=100 filtered': '4 RCU + 0 WCU: Query',
      'publish N=100 unfiltered eventual': '4 RCU + 0 WCU: Query, Query, Query, Query, Query, Query, Query, Query',
      'publish N=1000 unfiltered': '28 RCU + 0 WCU: Query, Query, Query, Query, Query, Query, Query, Query',
      'publish N=1000 filtered': '34 RCU + 0 WCU: Query',
      'publish N=1000 unfiltered eventual': '14 RCU + 0 WCU: Query, Query, Query, Query, Query, Query, Query, Query',
    });
  });
});
