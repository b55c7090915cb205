import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { initTRPC } from '@trpc/server';
import { initSubscriptions, memory, REGION_ENDPOINTS_ENV, REGION_ENV, type MemoryStore } from '../../../lambda';
import { regionsFromEnvironment } from '../../../lambda/core/environment';
import { settleRegions } from '../../../lambda/core/regions';
import { UNREACHABLE_REGION_FAILURES } from '../../../lambda/publisher/fan-out';
import { connection, subscription } from '../store/store-conformance';
import { startFakeManagementApi, type FakeManagementApi } from '../support/fake-management';

const quiet = { error: () => undefined, warn: () => undefined };

function app(store: MemoryStore) {
  const subscriptions = initSubscriptions();
  const t = initTRPC.create();
  const router = t.router({ onPing: t.procedure.subscription(subscriptions.resolver<string>()) });
  return subscriptions.router({ router }).store({ store });
}

async function addSubscriber(store: MemoryStore, connectionId: string, region?: string): Promise<void> {
  await store.putConnection(connection(connectionId, region ? { region } : {}));
  await store.addSubscription({ ...subscription(connectionId, 1, [], 'onPing'), ...(region ? { region } : {}) });
}

describe('multi-region settings', () => {
  const endpoints = { 'eu-west-1': 'https://a.execute-api.eu-west-1.amazonaws.com/prod', 'us-east-1': 'http://127.0.0.1:1/prod' };

  test('valid settings are kept as given', () => {
    const settings = settleRegions({ region: 'eu-west-1', endpoints }, 'regions()');
    expect(settings.region).toBe('eu-west-1');
    expect(Object.fromEntries(settings.endpoints)).toEqual(endpoints);
  });

  test.each([
    ['a region that is not a Region name', { region: 'EU West', endpoints }, 'regions(): `region` must be a Region name such as eu-west-1, got: "EU West"'],
    ['no endpoint for the own Region', { region: 'ap-south-1', endpoints }, 'regions(): `endpoints` must include this Region (ap-south-1), got: eu-west-1, us-east-1'],
    ['an endpoint that is not http(s)', { region: 'eu-west-1', endpoints: { 'eu-west-1': 'ftp://x' } }, 'regions(): the endpoint of eu-west-1 must be an http(s) URL, got: "ftp://x"'],
    ['endpoints that are not a map', { region: 'eu-west-1', endpoints: [] }, 'regions(): `endpoints` must map each Region to its Management API endpoint, got: []'],
  ])('%s is refused', (_case, options, message) => {
    expect(() => settleRegions(options as never, 'regions()')).toThrow(message);
  });

  describe('from the environment', () => {
    const saved = { ...process.env };
    afterEach(() => {
      process.env = { ...saved };
    });

    test('unset: single-region', () => {
      delete process.env[REGION_ENDPOINTS_ENV];
      expect(regionsFromEnvironment()).toBeUndefined();
    });

    test('the construct\'s variables, with AWS_REGION when the Region variable is unset', () => {
      process.env[REGION_ENDPOINTS_ENV] = JSON.stringify(endpoints);
      process.env.AWS_REGION = 'us-east-1';
      delete process.env[REGION_ENV];
      expect(regionsFromEnvironment()?.region).toBe('us-east-1');
      process.env[REGION_ENV] = 'eu-west-1';
      expect(regionsFromEnvironment()?.region).toBe('eu-west-1');
    });

    test('a bad value fails when a handler is built, naming the variable', () => {
      process.env[REGION_ENDPOINTS_ENV] = '{not json';
      expect(() => app(memory()).connect()).toThrow(`${REGION_ENDPOINTS_ENV} must be a JSON object of Region endpoints, got: {not json`);
      process.env[REGION_ENDPOINTS_ENV] = JSON.stringify(endpoints);
      process.env[REGION_ENV] = 'sa-east-1';
      expect(() => app(memory()).publisher()).toThrow('`endpoints` must include this Region (sa-east-1)');
    });
  });
});

describe('publishing across Regions', () => {
  let eu: FakeManagementApi;
  let us: FakeManagementApi;
  beforeEach(async () => {
    [eu, us] = await Promise.all([startFakeManagementApi(), startFakeManagementApi()]);
  });
  afterEach(async () => {
    await Promise.all([eu.close(), us.close()]);
  });

  test('each connection is posted to through its Region\'s API; rows without a Region are the publisher\'s own', async () => {
    const store = memory();
    await addSubscriber(store, 'e1', 'eu');
    await addSubscriber(store, 'u1', 'us');
    await addSubscriber(store, 'u2', 'us');
    await addSubscriber(store, 'old');
    const publisher = app(store).regions({ region: 'eu', endpoints: { eu: eu.endpoint, us: us.endpoint } }).publisher({ logger: quiet });

    const result = await publisher.routes.onPing.publish({ data: 'x' });

    expect(eu.delivered().sort()).toEqual(['e1', 'old']);
    expect(us.delivered().sort()).toEqual(['u1', 'u2']);
    expect(result).toEqual({
      matched: 4,
      delivered: 4,
      gone: 0,
      failed: 0,
      failures: [],
      regions: { eu: { matched: 2, delivered: 2, gone: 0, failed: 0 }, us: { matched: 2, delivered: 2, gone: 0, failed: 0 } },
      failedRegions: [],
    });
  });

  test('a Region without an endpoint fails its deliveries by name, keeps its rows, and does not hold up the others', async () => {
    const store = memory();
    await addSubscriber(store, 'e1', 'eu');
    await addSubscriber(store, 'a1', 'ap');
    const publisher = app(store).regions({ region: 'eu', endpoints: { eu: eu.endpoint } }).publisher({ logger: quiet });

    const result = await publisher.routes.onPing.publish({ data: 'x' });

    expect(result).toMatchObject({ delivered: 1, failed: 1, failedRegions: ['ap'] });
    expect(result.failures).toEqual([expect.objectContaining({ connectionId: 'a1', region: 'ap', name: 'UnknownRegionError', attempts: 0 })]);
    expect(store.subscriptionsOf('a1')).toHaveLength(1);
  });

  test('server errors of one Region are reported under that Region', async () => {
    const store = memory();
    await addSubscriber(store, 'e1', 'eu');
    await addSubscriber(store, 'u1', 'us');
    us.always('u1', 500);
    const publisher = app(store).regions({ region: 'us', endpoints: { eu: eu.endpoint, us: us.endpoint } }).publisher({ logger: quiet });

    const result = await publisher.routes.onPing.publish({ data: 'x' });

    expect(result).toMatchObject({ delivered: 1, failed: 1, regions: { eu: { delivered: 1 }, us: { failed: 1 } }, failedRegions: ['us'] });
    expect(result.failures[0]).toMatchObject({ connectionId: 'u1', region: 'us', statusCode: 500 });
  });

  test('a Region that does not answer is skipped for the rest of the publish after a few attempts', async () => {
    // Accepts connections and cuts them: no HTTP answer, as from a Region that is down.
    let connections = 0;
    const dead = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const deadEndpoint = `http://127.0.0.1:${(dead.address() as AddressInfo).port}/prod`;
    try {
      const store = memory();
      await addSubscriber(store, 'e1', 'eu');
      for (let i = 0; i < 10; i++) await addSubscriber(store, `u${i}`, 'us');
      const publisher = app(store).regions({ region: 'eu', endpoints: { eu: eu.endpoint, us: deadEndpoint } }).publisher({ logger: quiet, concurrency: 1 });

      const result = await publisher.routes.onPing.publish({ data: 'x' });

      expect(connections).toBe(UNREACHABLE_REGION_FAILURES);
      expect(result).toMatchObject({ matched: 11, delivered: 1, failed: 10, failedRegions: ['us'] });
      const names = result.failures.map((failure) => failure.name);
      expect(names.filter((name) => name === 'RegionUnavailableError')).toHaveLength(10 - UNREACHABLE_REGION_FAILURES);
      expect(eu.delivered()).toEqual(['e1']);
    } finally {
      await new Promise((resolve) => dead.close(resolve));
    }
  });

  test('single-region publishes have no per-Region fields', async () => {
    const store = memory();
    await addSubscriber(store, 'e1');
    const publisher = app(store).publisher({ endpoint: eu.endpoint, logger: quiet });

    const result = await publisher.routes.onPing.publish({ data: 'x' });

    expect(result).toEqual({ matched: 1, delivered: 1, gone: 0, failed: 0, failures: [] });
  });
});
