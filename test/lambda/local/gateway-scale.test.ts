import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { memory } from '../../../lambda';
import { LOCAL_AWS_SETTINGS, silentLogger, startLocalGateway, type LocalGateway } from '../../../lambda/local';
import { appSubscriptions } from '../../fixtures/router';

/** The local gateway's simulated AWS scale: account-wide rate limit, per-call latency, virtual connections. */
let gateway: LocalGateway | undefined;
let client: ApiGatewayManagementApiClient | undefined;
afterEach(async () => {
  client?.destroy();
  await gateway?.close();
  gateway = undefined;
});

async function start(options: Partial<Parameters<typeof startLocalGateway>[0]>): Promise<LocalGateway> {
  const store = memory();
  gateway = await startLocalGateway({
    handlers: {
      connect: appSubscriptions.connect({ store }),
      handler: appSubscriptions.handler({ store }),
      disconnect: appSubscriptions.disconnect({ store }),
    },
    logger: silentLogger,
    ...options,
  });
  client = new ApiGatewayManagementApiClient({ endpoint: gateway.endpoint, ...LOCAL_AWS_SETTINGS, maxAttempts: 1 });
  return gateway;
}

const post = (connectionId: string, data: string) =>
  client!.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(data) }));

test('virtual connections accept posts without a socket and keep what they received; a removed one is gone (410)', async () => {
  const g = await start({});
  const [a, b] = g.virtualConnections.add(2);
  await post(a, 'one');
  await post(a, 'two');
  expect(g.virtualConnections.received(a)).toEqual(['one', 'two']);
  expect(g.virtualConnections.received(b)).toEqual([]);
  expect(g.virtualConnections.totalReceived()).toBe(2);
  g.virtualConnections.remove(b);
  await expect(post(b, 'x')).rejects.toMatchObject({ name: 'GoneException' });
  expect(g.connections()).toEqual([]);
});

test('the account-wide rate limit answers 429 LimitExceededException beyond the burst, then refills', async () => {
  // One token a second: the six posts meet an empty bucket after three even on a loaded machine.
  const g = await start({ managementRateLimit: { requestsPerSecond: 1, burst: 3 } });
  const [id] = g.virtualConnections.add(1);
  const outcomes = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => post(id, `m${i}`)));
  const refused = outcomes.filter((o) => o.status === 'rejected');
  expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(3);
  expect(refused).toHaveLength(3);
  expect((refused[0] as PromiseRejectedResult).reason).toMatchObject({ name: 'LimitExceededException', $metadata: { httpStatusCode: 429 } });
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  await expect(post(id, 'later')).resolves.toBeDefined();
  expect(g.virtualConnections.received(id)).toHaveLength(4);
});

test('every management call takes at least the configured latency', async () => {
  const g = await start({ managementLatencyMs: 60 });
  const [id] = g.virtualConnections.add(1);
  const t0 = performance.now();
  await post(id, 'slow');
  expect(performance.now() - t0).toBeGreaterThanOrEqual(55);
});
