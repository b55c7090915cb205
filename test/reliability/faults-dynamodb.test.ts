import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import superjson from 'superjson';
import { dynamodb, type SubscriptionStore } from '../../lambda';
import { appSubscriptions } from '../fixtures/router';
import { faultyClient, localDynamoDBClient, inconsistentRows, scanRows, subscriptionsIn, type FaultPlan, createTestTable, type TestTable } from '../support/dynamodb';
import { quietLogger } from './support/env';
import { parseServerFrame } from './support/frames';
import { connectEvent, disconnectEvent, messageEvent } from '../lambda/support/events';
import { startFakeManagementApi, type FakeManagementApi } from '../lambda/support/fake-management';

/**
 * DynamoDB throttling and failures, injected through the SDK middleware stack of the client given
 * to `dynamodb({ dynamoDBClient })`, against DynamoDB Local: the handlers answer with clean error
 * frames and leave no partial rows, or succeed fully; cleanup retries; publish retries and reports.
 */
let table: TestTable;
let api: FakeManagementApi;
let plan: FaultPlan;
const parse = (frame: string) => parseServerFrame(frame, false);

beforeAll(async () => {
  table = await createTestTable('faults');
});
afterAll(() => table.client.destroy());
beforeEach(async () => {
  plan = {};
  api = await startFakeManagementApi();
});
afterEach(async () => {
  await api.close();
});

let counter = 0;
/** A store over a client that consults the current `plan`; `sdkAttempts` is the SDK's maxAttempts. */
function setup(options: { sdkAttempts?: number; storeAttempts?: number; pageSize?: number } = {}) {
  const { client, log } = faultyClient(table.endpoint, {
    attempt: (command, attempt) => plan.attempt?.(command, attempt),
    unprocessedHalf: (request) => plan.unprocessedHalf?.(request) ?? false,
  }, options.sdkAttempts ?? 3);
  const store: SubscriptionStore = dynamodb({
    tableName: table.tableName, dynamoDBClient: client, maxAttempts: options.storeAttempts ?? 3, pageSize: options.pageSize,
  });
  const logger = quietLogger();
  const connectionId = `faults-${++counter}`;
  return {
    connectionId,
    /** A room of this test only (the table is shared by the file's tests). */
    room: connectionId,
    log,
    logger,
    store,
    connect: (id = connectionId, query?: Record<string, string>) => appSubscriptions.connect({ store, logger })(connectEvent(id, query)),
    send: (body: unknown, id = connectionId) => appSubscriptions.handler({ store, logger, endpoint: api.endpoint })(messageEvent(id, body)),
    disconnect: (id = connectionId) => appSubscriptions.disconnect({ store, logger })(disconnectEvent(id)),
    publisher: () => appSubscriptions.publisher({ endpoint: api.endpoint, store, logger, retry: { baseDelayMs: 1, maxDelayMs: 5 } }),
    close: () => client.destroy(),
  };
}

const subscribe = (id: number, room: string) => ({ id, method: 'subscription', params: { path: 'onMessage', input: superjson.serialize({ room }) } });

async function rowsOf(connectionId: string) {
  const rows = await scanRows(table.client, table.tableName);
  return { rows, mine: rows.filter((row) => row.connectionId === connectionId), problems: inconsistentRows(rows) };
}

describe('subscribe under DynamoDB faults', () => {
  test('a transaction failing with 500 on every SDK attempt: a clean INTERNAL_SERVER_ERROR frame, no rows; the same id then starts', async () => {
    const s = setup();
    await s.connect();
    plan = { attempt: (command) => (command === 'TransactWriteItems' ? 'internal' : undefined) };
    const failed = await s.send(subscribe(1, s.room));
    expect(parse(failed.body!)).toMatchObject({ kind: 'error', id: 1, dataCode: 'INTERNAL_SERVER_ERROR' });
    expect(s.log.attempts.get('TransactWriteItems')).toBe(3);
    // The connection's own rows (its row and its age bucket row) only.
    expect((await rowsOf(s.connectionId)).mine.filter((row) => row.sk !== 'CONN' && !row.pk.startsWith('AGE#'))).toEqual([]);

    plan = {};
    expect(parse((await s.send(subscribe(1, s.room))).body!)).toMatchObject({ kind: 'result', id: 1, type: 'started' });
    const after = await rowsOf(s.connectionId);
    expect(subscriptionsIn(after.rows, s.connectionId)).toEqual([{ subscriptionId: 1, path: 'onMessage' }]);
    expect(after.problems).toEqual([]);
    s.close();
  });

  test('ProvisionedThroughputExceeded on the first two attempts: the SDK retries and the subscription starts, complete', async () => {
    const s = setup();
    await s.connect();
    plan = { attempt: (command, attempt) => (command === 'TransactWriteItems' && attempt <= 2 ? 'throttle' : undefined) };
    expect(parse((await s.send(subscribe(1, s.room))).body!)).toMatchObject({ type: 'started' });
    expect(s.log.injected).toHaveLength(2);
    const { rows, problems } = await rowsOf(s.connectionId);
    expect(subscriptionsIn(rows, s.connectionId)).toHaveLength(1);
    expect(problems).toEqual([]);
    s.close();
  });

  test('a transaction cancelled by throttling is retried by the store', async () => {
    const s = setup({ sdkAttempts: 1 });
    await s.connect();
    plan = { attempt: (command, attempt) => (command === 'TransactWriteItems' && attempt <= 2 ? 'transaction-throttled' : undefined) };
    expect(parse((await s.send(subscribe(1, s.room))).body!)).toMatchObject({ type: 'started' });
    expect((await rowsOf(s.connectionId)).problems).toEqual([]);
    s.close();
  });

  test('a transaction cancelled on every attempt: a clean error after bounded attempts, and nothing written', async () => {
    const s = setup({ sdkAttempts: 1, storeAttempts: 3 });
    await s.connect();
    plan = { attempt: (command) => (command === 'TransactWriteItems' ? 'transaction-conflict' : undefined) };
    expect(parse((await s.send([subscribe(1, s.room), subscribe(2, 'other')])).body!)).toMatchObject({ kind: 'error', dataCode: 'INTERNAL_SERVER_ERROR' });
    // The first frame of the batch went through PostToConnection.
    expect(api.received.map((r) => parse(r.body))).toEqual([expect.objectContaining({ kind: 'error', dataCode: 'INTERNAL_SERVER_ERROR' })]);
    expect(s.log.attempts.get('TransactWriteItems')).toBe(6);
    expect((await rowsOf(s.connectionId)).mine.filter((row) => !row.pk.startsWith('AGE#')).map((row) => row.sk)).toEqual(['CONN']);
    s.close();
  });

  test('connectionParams that cannot be stored close the connection with an error frame instead of leaving it waiting', async () => {
    const s = setup({ sdkAttempts: 1 });
    await s.connect(s.connectionId, { connectionParams: '1' });
    plan = { attempt: (command) => (command === 'UpdateItem' ? 'internal' : undefined) };
    const result = await s.send({ method: 'connectionParams', data: { userId: 'u1' } });
    expect(result).toEqual({ statusCode: 200 });
    const sent = api.received.filter((r) => r.connectionId === s.connectionId);
    expect(sent.map((r) => r.method)).toEqual(['POST', 'DELETE']);
    expect(parse(sent[0].body)).toMatchObject({ kind: 'error', id: null, dataCode: 'INTERNAL_SERVER_ERROR' });
    expect((await rowsOf(s.connectionId)).mine).toEqual([]);
    s.close();
  });
});

describe('disconnect cleanup under DynamoDB faults', () => {
  test('throttled Query and BatchWriteItem, and unprocessed batch items: every row is removed', async () => {
    const s = setup();
    await s.connect();
    const started = await s.send(Array.from({ length: 30 }, (_, i) => subscribe(i + 1, `${s.room}-${i % 3}`)));
    expect(parse(started.body!)).toMatchObject({ type: 'started' });
    expect(subscriptionsIn((await rowsOf(s.connectionId)).rows, s.connectionId)).toHaveLength(30);

    plan = {
      attempt: (command, attempt) => (['Query', 'BatchWriteItem'].includes(command) && attempt === 1 ? 'throttle' : undefined),
      unprocessedHalf: (request) => request <= 4,
    };
    expect(await s.disconnect()).toEqual({ statusCode: 200 });
    expect(s.log.injected.filter((entry) => entry.includes('unprocessed')).length).toBeGreaterThan(0);
    const { rows, problems } = await rowsOf(s.connectionId);
    expect(rows.filter((row) => row.connectionId === s.connectionId || row.pk.includes(s.connectionId))).toEqual([]);
    expect(problems).toEqual([]);
    s.close();
  });

  test('a disconnect that fails for good leaves rows behind; the next publish meets 410 and removes them', async () => {
    const s = setup({ sdkAttempts: 2 });
    await s.connect();
    await s.send(subscribe(1, s.room));
    plan = { attempt: (command) => (command === 'BatchWriteItem' ? 'internal' : undefined) };
    await expect(s.disconnect()).rejects.toThrow(/injected: internal server error/);
    expect(subscriptionsIn((await rowsOf(s.connectionId)).rows, s.connectionId)).toHaveLength(1);

    plan = {};
    api.always(s.connectionId, 410);
    const result = await s.publisher().routes.onMessage.publish({ data: { text: 'x', at: new Date(0), from: 'y' }, filter: { name: 'byRoom', input: { room: s.room } } });
    expect(result).toMatchObject({ matched: 1, delivered: 0, gone: 1, failed: 0 });
    expect((await rowsOf(s.connectionId)).mine).toEqual([]);
    s.close();
  });
});

describe('publish under DynamoDB faults', () => {
  test('throttled Query pages are retried by the SDK: every subscriber receives the message once', async () => {
    const s = setup({ pageSize: 2 });
    const ids = Array.from({ length: 7 }, (_, i) => `${s.connectionId}-${i}`);
    for (const id of ids) {
      await s.connect(id);
      await s.send(subscribe(1, s.room), id);
    }
    plan = { attempt: (command, attempt) => (command === 'Query' && attempt % 2 === 0 ? 'throttle' : undefined) };
    const result = await s.publisher().routes.onMessage.publish({ data: { text: 'x', at: new Date(0), from: 'y' }, filter: { name: 'byRoom', input: { room: s.room } } });
    expect(result).toMatchObject({ matched: 7, delivered: 7, failed: 0 });
    expect(s.log.injected.length).toBeGreaterThan(0);
    expect(api.received.map((r) => r.connectionId).sort()).toEqual([...ids].sort());
    s.close();
  });

  test('a Query that keeps failing rejects the publish with the store error: nothing is reported as delivered', async () => {
    const s = setup({ sdkAttempts: 2 });
    await s.connect();
    await s.send(subscribe(1, s.room));
    plan = { attempt: (command) => (command === 'Query' ? 'internal' : undefined) };
    await expect(s.publisher().routes.onMessage.publish({ data: { text: 'x', at: new Date(0), from: 'y' }, filter: { name: 'byRoom', input: { room: s.room } } })).rejects.toThrow(/injected: internal server error/);
    expect(api.received).toEqual([]);
    s.close();
  });

  test('a 410 whose row cleanup fails is still counted gone, logged, and the other subscribers are served', async () => {
    const s = setup({ sdkAttempts: 1, storeAttempts: 1 });
    const [dead, alive] = [`${s.connectionId}-dead`, `${s.connectionId}-alive`];
    for (const id of [dead, alive]) {
      await s.connect(id);
      await s.send(subscribe(1, s.room), id);
    }
    api.always(dead, 410);
    plan = { attempt: (command) => (command === 'BatchWriteItem' ? 'internal' : undefined) };
    const result = await s.publisher().routes.onMessage.publish({ data: { text: 'x', at: new Date(0), from: 'y' }, filter: { name: 'byRoom', input: { room: s.room } } });
    expect(result).toMatchObject({ matched: 2, delivered: 1, gone: 1, failed: 0 });
    expect(s.logger.entries).toEqual([expect.objectContaining({ level: 'error', message: 'rows of a gone connection could not be removed' })]);
    s.close();
  });
});

test('a DynamoDB endpoint that accepts requests and never answers: every store call fails with a TimeoutError within its deadline', async () => {
  const server = createServer((request) => request.resume()); // never answers
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = localDynamoDBClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 1);
  try {
    const store = dynamodb({ tableName: table.tableName, dynamoDBClient: client, timeouts: { callTimeoutMs: 200 } });
    const started = Date.now();
    await expect(store.getConnection('c1')).rejects.toMatchObject({ name: 'TimeoutError', message: 'GetItem did not answer within 200 ms' });
    await expect(store.removeConnection('c1')).rejects.toMatchObject({ name: 'TimeoutError' });
    // A publish over that store reports the failure instead of hanging.
    const publish = appSubscriptions.publisher({ endpoint: api.endpoint, store, logger: quietLogger() })
      .routes.onMessage.publish({ data: { text: 'x', at: new Date(0), from: 's' } });
    await expect(publish).rejects.toMatchObject({ name: 'TimeoutError', message: 'Query did not answer within 200 ms' });
    expect(Date.now() - started).toBeLessThan(3 * 200 + 5_000);
  } finally {
    client.destroy();
    server.closeAllConnections();
    server.close();
  }
});
