/**
 * Server-side stop, fail and disconnect, with the real tRPC client through the local gateway on
 * DynamoDB Local.
 */
import type { TRPCClientError } from '@trpc/client';
import { initTRPC, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import { dynamodb, type SubscriptionStore } from '../../../lambda';
import { silentLogger, startLocalGateway, type LocalGateway } from '../../../lambda/local';
import { subscriptionErrorFrames } from '../../../lambda/protocol/encode';
import { appRouter, createContext, subscriptions, type AppRouter } from '../../fixtures/router';
import { createTestTable, type TestTable } from '../../support/dynamodb';
import { clientPool, decodeServerFrame, rawSocket, recordingLogger, waitFor } from '../support/harness';

const controlled = subscriptions
  .router({ router: appRouter, createContext, connectionKey: (ctx) => (ctx.userId === 'anon' ? undefined : `user:${ctx.userId}`) })
  .routes.onMessage.filter({ name: 'byUserAndRoom', ctx: { userId: true }, input: { room: true } });

let table: TestTable;
let gateway: LocalGateway;
let store: SubscriptionStore;
let publisher: ReturnType<typeof controlled.publisher>;
const pool = clientPool();

beforeAll(async () => {
  table = await createTestTable('control-stop');
  store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
  gateway = await startLocalGateway({
    handlers: { connect: controlled.connect({ store }), handler: controlled.handler({ store }), disconnect: controlled.disconnect({ store }) },
    logger: silentLogger,
  });
  publisher = controlled.publisher({ store, endpoint: gateway.endpoint });
});
afterEach(() => pool.closeAll());
afterAll(async () => {
  await gateway.close();
  table.client.destroy();
});

/** A client as `userId` subscribed to a room, recording what its subscription sees. */
async function member(userId: string, room: string) {
  const before = new Set(gateway.connections());
  const client = pool.client(gateway.url, { userId });
  const seen = { started: 0, data: 0, stopped: 0, completed: 0, errors: [] as TRPCClientError<AppRouter>[] };
  client.onMessage.subscribe({ room }, {
    onStarted: () => seen.started++,
    onData: () => seen.data++,
    onStopped: () => seen.stopped++,
    onComplete: () => seen.completed++,
    onError: (error) => seen.errors.push(error),
  });
  await waitFor(() => seen.started === 1, 5000, 'started');
  const connectionId = gateway.connections().find((id) => !before.has(id))!;
  return { seen, connectionId, client };
}

async function liveSubscriptions(connectionId: string): Promise<number> {
  let count = 0;
  for await (const page of store.findSubscribers({ path: 'onMessage' })) count += page.filter((ref) => ref.connectionId === connectionId).length;
  return count;
}

describe('stop', () => {
  test('completes the matching subscriptions on the client and removes their rows, others stay', async () => {
    const alice = await member('alice', 'r1');
    const bob = await member('bob', 'r1');

    const result = await publisher.routes.onMessage.stop({ filter: { name: 'byUserAndRoom', ctx: { userId: 'alice' } } });

    expect(result).toEqual({ matched: 1, stopped: 1, gone: 0, failed: 0, failures: [] });
    await waitFor(() => alice.seen.completed === 1, 5000, 'completed');
    expect(alice.seen.stopped).toBe(1);
    expect(alice.seen.errors).toEqual([]);
    await expect(liveSubscriptions(alice.connectionId)).resolves.toBe(0);
    await expect(liveSubscriptions(bob.connectionId)).resolves.toBe(1);
    expect(bob.seen.completed).toBe(0);
    // The connection itself stays open and usable.
    await expect(alice.client.whoami.query()).resolves.toBe('alice');
  });

  test('with a TRPCError fails the subscriptions: onError gets the code and message, rows are removed', async () => {
    const carol = await member('carol', 'r2');

    const result = await publisher.routes.onMessage.stop({
      filter: { name: 'byUserAndRoom', ctx: { userId: 'carol' }, input: { room: 'r2' } },
      error: new TRPCError({ code: 'FORBIDDEN', message: 'You were removed from r2' }),
    });

    expect(result).toMatchObject({ matched: 1, stopped: 1, failed: 0 });
    await waitFor(() => carol.seen.errors.length === 1, 5000, 'onError');
    expect(carol.seen.errors[0].message).toBe('You were removed from r2');
    expect(carol.seen.errors[0].data?.code).toBe('FORBIDDEN');
    expect(carol.seen.errors[0].data?.httpStatus).toBe(403);
    await expect(liveSubscriptions(carol.connectionId)).resolves.toBe(0);
  });

  test('echoes jsonrpc when the subscribe carried it, in the stopped result and in the error, as tRPC\'s adapter does', async () => {
    const ws = await rawSocket(`${gateway.url}/?connectionParams=1`);
    ws.socket.send(JSON.stringify({ method: 'connectionParams', data: { userId: 'heidi' } }));
    const subscribe = (id: number, room: string, jsonrpc?: '2.0') => JSON.stringify({
      id, ...(jsonrpc ? { jsonrpc } : {}), method: 'subscription', params: { path: 'onMessage', input: superjson.serialize({ room }) },
    });
    ws.socket.send(JSON.stringify([subscribe(1, 'j1', '2.0'), subscribe(2, 'j2', '2.0'), subscribe(3, 'j3')].map((frame) => JSON.parse(frame))));
    const started = (await ws.next(3)).map(decodeServerFrame);
    expect(started.map((frame) => [frame.id, frame.jsonrpc, frame.result.type])).toEqual([[1, '2.0', 'started'], [2, '2.0', 'started'], [3, undefined, 'started']]);
    const byRoom = (room: string) => ({ filter: { name: 'byUserAndRoom', ctx: { userId: 'heidi' }, input: { room } } }) as const;

    await publisher.routes.onMessage.stop(byRoom('j1'));
    await publisher.routes.onMessage.stop({ ...byRoom('j2'), error: new TRPCError({ code: 'FORBIDDEN', message: 'out' }) });
    await publisher.routes.onMessage.stop(byRoom('j3'));

    const frames = (await ws.next(3)).map(decodeServerFrame);
    expect(frames).toMatchObject([
      { id: 1, jsonrpc: '2.0', result: { type: 'stopped' } },
      { id: 2, jsonrpc: '2.0', error: { message: 'out', data: { code: 'FORBIDDEN', path: 'onMessage' } } },
      { id: 3, result: { type: 'stopped' } },
    ]);
    expect(frames[2]).not.toHaveProperty('jsonrpc');
    ws.socket.close();
  });

  test('refuses an error that is not a TRPCError, and a route without a subscription, before any query', async () => {
    await expect(publisher.routes.onMessage.stop({ error: new Error('x') as TRPCError })).rejects.toThrow('`error` must be a TRPCError');
    await expect((publisher.routes as any).whoami.stop({})).rejects.toThrow('Stop on "whoami": the router has no subscription procedure');
  });
});

describe('disconnect and presence', () => {
  test('by key closes every connection of that key and only those; presence follows', async () => {
    const dave1 = await member('dave', 'r3');
    const dave2 = await member('dave', 'r4');
    const erin = await member('erin', 'r3');
    await expect(publisher.connections.isOnline('user:dave')).resolves.toBe(true);
    await expect(publisher.connections.count('user:dave')).resolves.toBe(2);

    const result = await publisher.connections.disconnect({ key: 'user:dave' });

    expect(result).toEqual({ matched: 2, succeeded: 2, gone: 0, failed: 0, failures: [] });
    await expect(publisher.connections.isOnline('user:dave')).resolves.toBe(false);
    await expect(publisher.connections.count('user:dave')).resolves.toBe(0);
    await expect(store.getConnection(dave1.connectionId)).resolves.toBeUndefined();
    await expect(store.getConnection(dave2.connectionId)).resolves.toBeUndefined();
    expect(gateway.connections()).not.toContain(dave1.connectionId);
    expect(gateway.connections()).not.toContain(dave2.connectionId);
    expect(gateway.connections()).toContain(erin.connectionId);
    await expect(publisher.connections.count('user:erin')).resolves.toBe(1);
  });

  test('by connection id closes that connection', async () => {
    const frank = await member('frank', 'r5');
    const result = await publisher.connections.disconnect({ connectionId: frank.connectionId });
    expect(result).toMatchObject({ matched: 1, succeeded: 1 });
    await waitFor(() => !gateway.connections().includes(frank.connectionId), 5000, 'closed');
    await expect(store.getConnection(frank.connectionId)).resolves.toBeUndefined();
  });

  test('a connection id that never existed is gone, for disconnect as for reconnect; a closed connection\'s too', async () => {
    await expect(publisher.connections.disconnect({ connectionId: 'never-existed' })).resolves
      .toEqual({ matched: 1, succeeded: 0, gone: 1, failed: 0, failures: [] });
    await expect(publisher.connections.reconnect({ connectionId: 'never-existed' })).resolves
      .toEqual({ matched: 1, succeeded: 0, gone: 1, failed: 0, failures: [] });
    const grace = await member('grace', 'r7');
    const byId = { connectionId: grace.connectionId };
    await expect(publisher.connections.disconnect(byId)).resolves.toMatchObject({ matched: 1, succeeded: 1, gone: 0 });
    await expect(publisher.connections.disconnect(byId)).resolves.toMatchObject({ matched: 1, succeeded: 0, gone: 1 });
  });

  test('a connection without a key (connectionKey returned undefined) is not indexed', async () => {
    const anon = await member('anon', 'r6');
    await expect(store.getConnection(anon.connectionId)).resolves.not.toHaveProperty('key');
    await expect(publisher.connections.count('user:anon')).resolves.toBe(0);
  });

  test('bad targets fail clearly', async () => {
    await expect(publisher.connections.disconnect({ key: '' as never })).rejects.toThrow('disconnect(): the connection key must be a non-empty string');
    await expect(publisher.connections.disconnect({ all: true } as never)).rejects.toThrow('every connection is not a target');
    await expect(publisher.connections.reconnect({} as never)).rejects.toThrow('expected { connectionId }, { key } or { all: true }');
  });
});

test('the error frame of a failed subscription has no stack in production (isDev false)', () => {
  const t = initTRPC.create({ isDev: false });
  const router = t.router({});
  const frame = subscriptionErrorFrames({ router, logger: recordingLogger() }, 'onMessage', new TRPCError({ code: 'FORBIDDEN', message: 'no' }))(7);
  const parsed = JSON.parse(frame);
  expect(parsed).toMatchObject({ id: 7, error: { message: 'no', data: { code: 'FORBIDDEN', httpStatus: 403, path: 'onMessage' } } });
  expect(parsed.error.data).not.toHaveProperty('stack');
});
