import { dynamodb, type ConsumedCapacityReport } from '../../../lambda';
import { roomKey } from '../../../lambda/store/presence';
import { createTestTable, type TestTable } from '../../support/dynamodb';

/**
 * The capacity of each presence request, as DynamoDB Local reports it: the figures of
 * docs/table-design.md "Cost per subscribe and unsubscribe". DynamoDB Local reports a flat 2 units
 * for a `TransactWriteItems` and 0 for an empty Query; the service bills the join's transaction
 * 2 WCU per action (6) and a consistent Query at least 1 RCU (docs/table-design.md "Cost of each
 * operation").
 */
let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('presence-cost');
});
afterAll(() => table.client.destroy());

test('a join costs a GetItem and a transaction, a sync or members() 1 RCU, a release 2 WCU, a leave 1 WCU', async () => {
  const reports: ConsumedCapacityReport[] = [];
  const store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client, onConsumedCapacity: (report) => reports.push(report) });
  const rows = store.presence!();
  const now = Date.now();
  const expireAt = Math.floor(now / 1000) + 7800;
  const cost = async (run: () => Promise<unknown>) => {
    reports.length = 0;
    await run();
    const presence = reports.filter((report) => report.operation === 'presence');
    return {
      read: presence.reduce((sum, report) => sum + report.readCapacityUnits, 0),
      write: presence.reduce((sum, report) => sum + report.writeCapacityUnits, 0),
    };
  };
  await store.putConnection({ connectionId: 'c1', connectedAt: now, expireAt, awaitingConnectionParams: false, connect: {} });
  const values = ['lobby'];
  await store.addSubscription({ connectionId: 'c1', subscriptionId: 1, path: 'members', filters: [{ name: 'byRoom', values }], expireAt });
  const room = roomKey('members', 'byRoom', values);
  const join = { room, path: 'members', values, key: 'user:ann', member: '{"name":"Ann"}', connectionId: 'c1', subscriptionId: 1, expireAt };

  expect(await cost(() => rows.join(join))).toEqual({ read: 1, write: 2 });
  expect(await cost(() => rows.members(room))).toEqual({ read: 1, write: 0 });
  let released: Awaited<ReturnType<typeof rows.release>> = [];
  expect(await cost(async () => {
    released = await rows.release('c1', 1);
  })).toEqual({ read: 0, write: 2 });
  expect(released).toHaveLength(1);
  expect(await cost(() => rows.leave(released[0]))).toEqual({ read: 0, write: 1 });
  // A disconnect's release of a connection without presence subscriptions: the pointer Query.
  expect(await cost(() => rows.release('c1'))).toEqual({ read: 0, write: 0 });
  // A stop of a subscription that never joined a room: the pointer's delete fails its condition
  // (a failed conditional write reports nothing; the service bills it 1 WCU).
  expect(await cost(() => rows.release('c1', 2))).toEqual({ read: 0, write: 0 });
});
