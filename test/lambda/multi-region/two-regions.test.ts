import { eventually, startRegions, subscribeClient, type Region, type RegionClient } from './harness';
import { dynamodb } from '../../../lambda';
import { scanRows, createTestTable, type TestTable } from '../../support/dynamodb';

/**
 * Issue 15, locally: two gateways act as two Regions over one DynamoDB Local table (the global
 * table's replicas); stock tRPC clients connect to each; publishes from either Region reach the
 * matching clients of both exactly once, also while one Region is down.
 */
describe('two Regions on one (global) table', () => {
  let table: TestTable;
  let regions: Map<string, Region>;
  let eu: Region;
  let us: Region;
  const clients: RegionClient[] = [];

  beforeEach(async () => {
    table = await createTestTable('multi-region');
    regions = await startRegions(['eu', 'us'], table);
    eu = regions.get('eu')!;
    us = regions.get('us')!;
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    for (const region of regions.values()) region.down = false;
    await Promise.all([...regions.values()].map((region) => region.gateway.close()));
  });

  async function subscribe(url: () => string, room: string): Promise<RegionClient> {
    const client = await subscribeClient(url, room);
    clients.push(client);
    return client;
  }

  test('a publish in either Region reaches the matching clients of both, exactly once', async () => {
    const euA = await subscribe(() => eu.gateway.url, 'a');
    const euB = await subscribe(() => eu.gateway.url, 'b');
    const usA1 = await subscribe(() => us.gateway.url, 'a');
    const usA2 = await subscribe(() => us.gateway.url, 'a');

    // From Europe's backend (outside any invocation).
    const fromEu = await eu.app.publisher.routes.onMessage.publish({
      data: { id: 'm1', text: 'from eu' }, filter: { name: 'byRoom', input: { room: 'a' } },
    });
    // From a mutation a client of the US Region sends (inside its $default invocation).
    const fromUs = await usA1.trpc.send.mutate({ room: 'a', id: 'm2', text: 'from us' });

    expect(fromEu).toMatchObject({
      matched: 3,
      delivered: 3,
      gone: 0,
      failed: 0,
      regions: { eu: { matched: 1, delivered: 1, gone: 0, failed: 0 }, us: { matched: 2, delivered: 2, gone: 0, failed: 0 } },
      failedRegions: [],
    });
    expect(fromUs).toMatchObject({ matched: 3, delivered: 3, failedRegions: [] });
    await eventually(() => [euA, usA1, usA2].every((client) => client.received.length === 2), 'both messages on every room-a client');
    // A little longer: a duplicate would arrive in this window.
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const client of [euA, usA1, usA2]) {
      expect([client.countOf('m1'), client.countOf('m2')]).toEqual([1, 1]);
    }
    expect(euB.received).toEqual([]);
  });

  test('every row a connection writes carries its Region', async () => {
    await subscribe(() => eu.gateway.url, 'a');
    await subscribe(() => us.gateway.url, 'a');

    const rows = await scanRows(table.client, table.tableName);

    const regionsByConnection = new Map<string, Set<unknown>>();
    for (const row of rows) {
      const id = row.connectionId as string;
      regionsByConnection.set(id, (regionsByConnection.get(id) ?? new Set()).add(row.region));
    }
    const euIds = new Set(eu.gateway.connections());
    expect(rows.length).toBeGreaterThanOrEqual(2 * 4); // connection, subscription, 2 index rows each
    for (const [connectionId, seen] of regionsByConnection) {
      expect([connectionId, [...seen]]).toEqual([connectionId, [euIds.has(connectionId) ? 'eu' : 'us']]);
    }
  });

  test('a connection gone in the other Region (410 there) has its rows removed by the publishing Region', async () => {
    const usA = await subscribe(() => us.gateway.url, 'a');
    // A US connection whose $disconnect never ran: its rows stay, its API answers 410.
    const store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
    const expireAt = Math.floor(Date.now() / 1000) + 7800;
    await store.putConnection({ connectionId: 'ghost', connectedAt: Date.now(), expireAt, awaitingConnectionParams: false, connect: {}, region: 'us' });
    const filters = [{ name: 'byRoom', values: ['a'] }];
    await store.addSubscription({ connectionId: 'ghost', subscriptionId: 1, path: 'onMessage', filters, expireAt, region: 'us' });

    const result = await eu.app.publisher.routes.onMessage.publish({ data: { id: 'm1', text: 'hi' }, filter: { name: 'byRoom', input: { room: 'a' } } });

    expect(result).toMatchObject({
      matched: 2, delivered: 1, gone: 1, failed: 0, regions: { us: { matched: 2, delivered: 1, gone: 1, failed: 0 } }, failedRegions: [],
    });
    const ghostRows = (await scanRows(table.client, table.tableName)).filter((row) => row.connectionId === 'ghost');
    expect(ghostRows).toEqual([]);
    await eventually(() => usA.countOf('m1') === 1, 'the live US client got it');
  });

  test('while one Region is down, the other keeps serving its clients, clients that fail over get everything once, and results name the failed Region', async () => {
    const euA = await subscribe(() => eu.gateway.url, 'a');
    // The US client fails over to Europe when its Region is unreachable (as latency-based DNS would).
    const usA = await subscribe(() => (us.down ? eu.gateway.url : us.gateway.url), 'a');
    const usConnection = us.gateway.connections()[0];

    // The US Region goes down: its Lambdas stop (no $disconnect cleans up), then its API.
    us.down = true;
    await us.gateway.close();

    // Europe publishes while the US client is still reconnecting: Europe's clients get it.
    const during = await eu.app.publisher.routes.onMessage.publish({ data: { id: 'm1', text: 'during' }, filter: { name: 'byRoom', input: { room: 'a' } } });
    expect(during).toMatchObject({ delivered: 1, failed: 1, regions: { eu: { delivered: 1, failed: 0 }, us: { failed: 1 } }, failedRegions: ['us'] });
    expect(during.failures).toEqual([expect.objectContaining({ connectionId: usConnection, region: 'us' })]);

    // The US client is back, through Europe, and resubscribed.
    await eventually(() => usA.started === 2, 'the US client resubscribed through Europe');
    // Europe publishes, and the US Region's backend (still running, its API down) publishes too.
    const after = await eu.app.publisher.routes.onMessage.publish({ data: { id: 'm2', text: 'after' }, filter: { name: 'byRoom', input: { room: 'a' } } });
    const fromUsBackend = await us.app.publisher.routes.onMessage.publish({ data: { id: 'm3', text: 'from us' }, filter: { name: 'byRoom', input: { room: 'a' } } });

    for (const result of [after, fromUsBackend]) {
      // The failed-over client is now a European connection; the stale US rows still fail.
      expect(result).toMatchObject({ matched: 3, delivered: 2, failed: 1, regions: { eu: { delivered: 2 }, us: { failed: 1 } }, failedRegions: ['us'] });
    }
    await eventually(() => euA.received.length === 3 && usA.countOf('m3') === 1, 'every message on the clients');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(euA.received.map((message) => message.id)).toEqual(['m1', 'm2', 'm3']);
    expect(usA.received.map((message) => message.id)).toEqual(['m2', 'm3']);
  });
});
