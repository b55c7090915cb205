import { TRPCError } from '@trpc/server';
import { eventually, startRegions, subscribeClient, type Region, type RegionClient } from './harness';
import { dynamodb, type SubscriptionStore } from '../../../lambda';
import { createTestTable, type TestTable } from '../../support/dynamodb';

/**
 * Server-side control in a two-Region deployment (two local gateways on one DynamoDB Local table):
 * called in either Region, `stop()`, `reconnect()` and `disconnect()` reach every connection
 * through the Management API of the connection's own Region; a 410 from another Region's API is
 * never taken for a gone connection.
 */
let table: TestTable;
let regions: Map<string, Region>;
let eu: Region;
let us: Region;
let store: SubscriptionStore;
const clients: RegionClient[] = [];

beforeEach(async () => {
  table = await createTestTable('multi-region-control');
  regions = await startRegions(['eu', 'us'], table);
  eu = regions.get('eu')!;
  us = regions.get('us')!;
  store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  for (const region of regions.values()) region.down = false;
  await Promise.all([...regions.values()].map((region) => region.gateway.close()));
  table.client.destroy();
});

async function subscribe(region: Region, room: string): Promise<{ client: RegionClient; connectionId: string }> {
  const before = new Set(region.gateway.connections());
  const client = await subscribeClient(() => region.gateway.url, room);
  clients.push(client);
  return { client, connectionId: region.gateway.connections().find((id) => !before.has(id))! };
}

const inRoom = (room: string) => ({ name: 'byRoom', input: { room } }) as const;

test('a stop in one Region stops the matching subscriptions of both, each through its own Region; both connections stay open', async () => {
  const euSub = await subscribe(eu, 'a');
  const usSub = await subscribe(us, 'a');

  const result = await eu.app.publisher.routes.onMessage.stop({ filter: inRoom('a') });

  expect(result).toEqual({ matched: 2, stopped: 2, gone: 0, failed: 0, failures: [] });
  await eventually(() => euSub.client.stopped === 1 && usSub.client.stopped === 1, 'both clients stopped');
  expect(await store.findConnection(usSub.connectionId)).toMatchObject({ region: 'us' });
  expect(us.gateway.connections()).toContain(usSub.connectionId);
  await expect(eu.app.publisher.routes.onMessage.publish({ data: { id: 'after', text: 'x' }, filter: inRoom('a') })).resolves.toMatchObject({ matched: 0 });
});

test('a stop with an error from the other Region fails the subscription with that error', async () => {
  const euSub = await subscribe(eu, 'b');

  const result = await us.app.publisher.routes.onMessage.stop({ filter: inRoom('b'), error: new TRPCError({ code: 'FORBIDDEN', message: 'closed' }) });

  expect(result).toMatchObject({ matched: 1, stopped: 1, gone: 0, failed: 0 });
  await eventually(() => euSub.client.errors.length === 1, 'onError');
  expect([euSub.client.errors[0].data?.code, euSub.client.errors[0].message]).toEqual(['FORBIDDEN', 'closed']);
});

test('reconnect and disconnect by id of a connection of the other Region reach it through its own Region', async () => {
  const usSub = await subscribe(us, 'c');

  const moved = await eu.app.publisher.connections.reconnect({ connectionId: usSub.connectionId });

  expect(moved).toEqual({ matched: 1, succeeded: 1, gone: 0, failed: 0, failures: [] });
  // The client moved to a new US connection and its subscription lives on there.
  await eventually(() => !us.gateway.connections().includes(usSub.connectionId) && us.gateway.connections().length === 1, 'moved');
  const [current] = us.gateway.connections();
  // The old connection closes once the new one answered `started`: the subscription is stored there.
  await expect(eu.app.publisher.routes.onMessage.publish({ data: { id: 'm', text: 'x' }, filter: inRoom('c') })).resolves.toMatchObject({ delivered: 1 });
  await eventually(() => usSub.client.countOf('m') === 1, 'the moved client got m');

  const closed = await eu.app.publisher.connections.disconnect({ connectionId: current });

  expect(closed).toEqual({ matched: 1, succeeded: 1, gone: 0, failed: 0, failures: [] });
  await eventually(() => !us.gateway.connections().includes(current), 'closed');
  expect(await store.findConnection(current)).toBeUndefined();
});

test('a connection id without a row is asked of every Region: gone only when every API says so', async () => {
  const usSub = await subscribe(us, 'd');
  // Its row has not reached this replica yet (global tables replicate within about a second).
  const row = (await store.findConnection(usSub.connectionId))!;
  await store.removeConnection(usSub.connectionId);

  await expect(eu.app.publisher.connections.reconnect({ connectionId: usSub.connectionId })).resolves
    .toEqual({ matched: 1, succeeded: 1, gone: 0, failed: 0, failures: [] });
  await expect(eu.app.publisher.connections.disconnect({ connectionId: 'never-existed' })).resolves
    .toEqual({ matched: 1, succeeded: 0, gone: 1, failed: 0, failures: [] });
  expect(row.region).toBe('us');
});

test('with the other Region down, a stop fails its subscriptions (naming the Region) and keeps their rows', async () => {
  const euSub = await subscribe(eu, 'e');
  const usSub = await subscribe(us, 'e');
  us.down = true;
  await us.gateway.close();

  const result = await eu.app.publisher.routes.onMessage.stop({ filter: inRoom('e') });

  expect(result).toMatchObject({ matched: 2, stopped: 1, gone: 0, failed: 1 });
  expect(result.failures).toEqual([expect.objectContaining({ connectionId: usSub.connectionId, region: 'us' })]);
  await eventually(() => euSub.client.stopped === 1, 'the European client stopped');
  expect(await store.findConnection(usSub.connectionId)).toMatchObject({ region: 'us' });
});

test('each Region\'s rollover notifies only its own connections', async () => {
  const euSub = await subscribe(eu, 'f');
  const usSub = await subscribe(us, 'f');
  await new Promise((resolve) => setTimeout(resolve, 150));

  const logger = { error: () => undefined, warn: () => undefined };
  const rollover = eu.app.subscriptions.rollover({ olderThanMs: 100, maxConnectionMs: 60_000, logger });
  const result = await rollover();

  expect(result).toMatchObject({ matched: 1, succeeded: 1, failed: 0 });
  await eventually(() => !eu.gateway.connections().includes(euSub.connectionId), 'the European client moved');
  expect(us.gateway.connections()).toEqual([usSub.connectionId]);
});
