import { dynamodb, memory, type SubscriptionStore, type TimeoutOptions } from '../../lambda';
import { quietLogger } from './support/env';
import { silentLogger, startLocalGateway, type LocalGateway, type ManagementFault, type ManagementRequest } from '../../lambda/local';
import { appSubscriptions } from '../fixtures/router';
import { connectEvent, messageEvent } from '../lambda/support/events';
import { connectClient, roomSubscribers, waitFor } from '../lambda/support/harness';
import { scanRows } from '../support/dynamodb';
import { createTestTable, type TestTable } from '../support/dynamodb';

/**
 * Management API faults (429, 410, 413, 500) from the local gateway's `faults` hook, with real
 * `@trpc/client` clients: retries, cleanup, reporting, and one bad connection never affects the
 * others. Also the lost `$disconnect`: rows of a connection the gateway no longer has are removed
 * by the next publish (410).
 */
let table: TestTable;
let gateway: LocalGateway;
let store: SubscriptionStore;
let faults: (request: ManagementRequest) => ManagementFault | undefined;
const logger = quietLogger();
const closers: Array<() => void> = [];

beforeAll(async () => {
  table = await createTestTable('mgmt');
});
afterAll(() => table.client.destroy());
beforeEach(async () => {
  faults = () => undefined;
  logger.entries.length = 0;
  store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
  gateway = await startLocalGateway({
    handlers: {
      connect: appSubscriptions.connect({ store, logger }),
      handler: appSubscriptions.handler({ store, logger }),
      disconnect: appSubscriptions.disconnect({ store, logger }),
    },
    faults: (request) => faults(request),
    logger: silentLogger,
  });
});
afterEach(async () => {
  closers.splice(0).forEach((close) => close());
  await gateway.close();
});

/** Connects `count` real clients to room `r`; resolves once all are started; returns their inboxes and ids. */
function subscribers(count: number): Promise<{ inboxes: string[][]; connectionIds: string[] }> {
  return roomSubscribers(gateway, count, (close) => closers.push(close));
}

function publish(text: string, retry = { baseDelayMs: 1, maxDelayMs: 5, maxAttempts: 4 }, timeouts?: TimeoutOptions) {
  return appSubscriptions.publisher({ endpoint: gateway.endpoint, store, logger, retry, timeouts })
    .routes.onMessage.publish({ data: { text, at: new Date(0), from: 's' }, filter: { name: 'byRoom', input: { room: 'r' } } });
}

const fault = (status: number, errorType: string): ManagementFault => ({ status, errorType });

test('429 twice on one connection: retried, delivered once; the others are served normally', async () => {
  const { inboxes, connectionIds } = await subscribers(3);
  const posts = new Map<string, number>();
  faults = ({ method, connectionId }) => {
    if (method !== 'POST') return undefined;
    posts.set(connectionId, (posts.get(connectionId) ?? 0) + 1);
    return connectionId === connectionIds[1] && posts.get(connectionId)! <= 2 ? fault(429, 'LimitExceededException') : undefined;
  };
  expect(await publish('hello')).toEqual({ matched: 3, delivered: 3, gone: 0, failed: 0, failures: [] });
  await waitFor(() => inboxes.every((inbox) => inbox.length === 1));
  expect(inboxes).toEqual([['hello'], ['hello'], ['hello']]);
  expect(posts.get(connectionIds[1])).toBe(3);
});

test('429 and 500 forever, 413 on three connections: each reported once, with attempts (413 never retried); the fourth delivered', async () => {
  const { inboxes, connectionIds } = await subscribers(4);
  const [throttled, tooLarge, broken] = connectionIds;
  faults = ({ method, connectionId }) => {
    if (method !== 'POST') return undefined;
    if (connectionId === throttled) return fault(429, 'LimitExceededException');
    if (connectionId === tooLarge) return fault(413, 'PayloadTooLargeException');
    if (connectionId === broken) return fault(500, 'InternalServerErrorException');
    return undefined;
  };
  const result = await publish('hello');
  expect(result).toMatchObject({ matched: 4, delivered: 1, gone: 0, failed: 3 });
  expect(result.failures.map((f) => [f.connectionId, f.statusCode, f.attempts]).sort()).toEqual(
    [[throttled, 429, 4], [tooLarge, 413, 1], [broken, 500, 4]].sort(),
  );
  await waitFor(() => inboxes[3].length === 1);
  expect(logger.entries.filter((entry) => entry.message === 'publish could not be delivered')).toHaveLength(3);
  // Failures other than 410 do not remove anything: those clients are still subscribed.
  faults = () => undefined;
  expect(await publish('again')).toMatchObject({ matched: 4, delivered: 4 });
});

test('410 from the API: that connection\'s rows are removed, counted gone; the others are served', async () => {
  const { inboxes, connectionIds } = await subscribers(3);
  faults = ({ method, connectionId }) => (method === 'POST' && connectionId === connectionIds[0] ? fault(410, 'GoneException') : undefined);
  expect(await publish('hello')).toMatchObject({ matched: 3, delivered: 2, gone: 1, failed: 0 });
  const rows = await scanRows(table.client, table.tableName);
  expect(rows.filter((row) => row.connectionId === connectionIds[0])).toEqual([]);
  await waitFor(() => inboxes[1].length === 1 && inboxes[2].length === 1);
  expect(await publish('again')).toMatchObject({ matched: 2, delivered: 2 });
});

test('lost $disconnect: rows of a connection the gateway never closed properly are removed by the next publish (410)', async () => {
  const { inboxes } = await subscribers(1);
  // A connection that went away without $disconnect: its rows exist, the gateway does not know it.
  const ghost = 'ghost-connection-id=';
  await appSubscriptions.connect({ store, logger })(connectEvent(ghost));
  const started = await appSubscriptions.handler({ store, logger, endpoint: gateway.endpoint })(
    messageEvent(ghost, { id: 1, method: 'subscription', params: { path: 'onMessage', input: { json: { room: 'r' } } } }),
  );
  expect(started.body).toBe('{"id":1,"result":{"type":"started"}}');
  expect((await scanRows(table.client, table.tableName)).filter((row) => row.connectionId === ghost).length).toBeGreaterThan(2);

  expect(await publish('hello')).toMatchObject({ matched: 2, delivered: 1, gone: 1, failed: 0 });
  expect((await scanRows(table.client, table.tableName)).filter((row) => row.connectionId === ghost)).toEqual([]);
  await waitFor(() => inboxes[0].length === 1);
  expect(await publish('again')).toMatchObject({ matched: 1, delivered: 1, gone: 0 });
});

test('a reply that meets 410 (client left mid-batch) removes the connection instead of failing the invocation', async () => {
  const memoryStore = memory();
  const connectionId = 'left-mid-batch';
  await appSubscriptions.connect({ store: memoryStore, logger })(connectEvent(connectionId));
  faults = ({ connectionId: id }) => (id === connectionId ? fault(410, 'GoneException') : undefined);
  const batch = [1, 2].map((id) => ({ id, method: 'subscription', params: { path: 'onMessage', input: { json: { room: 'r' } } } }));
  const result = await appSubscriptions.handler({ store: memoryStore, logger, endpoint: gateway.endpoint })(messageEvent(connectionId, batch));
  expect(result).toEqual({ statusCode: 200 });
  expect(await memoryStore.getConnection(connectionId)).toBeUndefined();
});

test('transient 503s and a reset socket (ECONNRESET) are retried by the client: delivered once each, the others served', async () => {
  const { inboxes, connectionIds } = await subscribers(3);
  const posts = new Map<string, number>();
  faults = ({ method, connectionId }) => {
    if (method !== 'POST') return undefined;
    const count = (posts.get(connectionId) ?? 0) + 1;
    posts.set(connectionId, count);
    if (connectionId === connectionIds[0] && count <= 2) return fault(503, 'ServiceUnavailableException');
    if (connectionId === connectionIds[1] && count === 1) return { network: 'reset' };
    return undefined;
  };
  expect(await publish('hello')).toEqual({ matched: 3, delivered: 3, gone: 0, failed: 0, failures: [] });
  await waitFor(() => inboxes.every((inbox) => inbox.length === 1));
  expect(inboxes).toEqual([['hello'], ['hello'], ['hello']]);
  expect([posts.get(connectionIds[0]), posts.get(connectionIds[1]), posts.get(connectionIds[2])]).toEqual([3, 2, 1]);
});

test('a Management API that accepts the request and never answers: publish returns within its deadline, that delivery failed with a timeout, the others delivered', async () => {
  const { inboxes, connectionIds } = await subscribers(3);
  const hung = connectionIds[1];
  faults = ({ method, connectionId }) => (method === 'POST' && connectionId === hung ? { network: 'hang' } : undefined);
  // The SDK's own request timeout is set far away: only the outer per-call deadline can end it.
  const callTimeoutMs = 300;
  const started = Date.now();
  const result = await publish('hello', undefined, { requestTimeoutMs: 600_000, callTimeoutMs });
  const elapsed = Date.now() - started;
  expect(result).toMatchObject({ matched: 3, delivered: 2, gone: 0, failed: 1 });
  expect(result.failures).toEqual([expect.objectContaining({ connectionId: hung, name: 'TimeoutError', attempts: 1, message: 'PostToConnection did not answer within 300 ms' })]);
  // No hang: bounded by the deadline (plus scheduling), far below the request timeout.
  expect(elapsed).toBeLessThan(callTimeoutMs + 5_000);
  await waitFor(() => inboxes[0].length === 1 && inboxes[2].length === 1);
  expect(inboxes[1]).toEqual([]);
});

test('the SDK\'s request timeout ends a hung call, not retried (the message may have been delivered), within the deadline', async () => {
  const { connectionIds } = await subscribers(1);
  faults = ({ method }) => (method === 'POST' ? { network: 'hang' } : undefined);
  const result = await publish('hello', { baseDelayMs: 1, maxDelayMs: 5, maxAttempts: 3 }, { requestTimeoutMs: 100, callTimeoutMs: 20_000 });
  expect(result.failures).toEqual([expect.objectContaining({ connectionId: connectionIds[0], attempts: 1, name: 'TimeoutError' })]);
  expect(result.failures[0].message).not.toContain('did not answer within 20000 ms');
});

test('a `started` reply lost to a reset socket is retried: both subscriptions of a batch start', async () => {
  const { client, close } = connectClient(gateway.url, { userId: 'batch' });
  closers.push(close);
  let resets = 0;
  faults = ({ method }) => (method === 'POST' && resets++ === 0 ? { network: 'reset' } : undefined);
  // Two subscriptions in one tick: one frame, two replies; the first goes through PostToConnection.
  await Promise.all(['a', 'b'].map((room) => new Promise<void>((resolve, reject) => {
    client.onMessage.subscribe({ room }, { onStarted: () => resolve(), onError: reject });
  })));
  expect(resets).toBeGreaterThanOrEqual(2);
});
