import superjson from 'superjson';
import type { MemoryStore } from '../../lambda';
import { appSubscriptions, type ChatMessage } from '../fixtures/router';
import { parseServerFrame as parseFrame } from './support/frames';
import { clientPool, rawSocket, startExampleServer, waitFor, type ExampleServer } from '../lambda/support/harness';

/**
 * What a client controls and what it cannot: through the local gateway into the example app's
 * handlers (memory store), with real `@trpc/client` clients and raw sockets for frames the client
 * never sends.
 */
let server: ExampleServer;
let store: MemoryStore;
const clients = clientPool();

beforeEach(async () => {
  server = await startExampleServer();
  store = server.store as MemoryStore;
});
afterEach(async () => {
  clients.closeAll();
  await server.close();
});

function client(params?: Record<string, string>) {
  return clients.client(server.gateway.url, params);
}

async function raw(query = '') {
  const socket = await rawSocket(`${server.gateway.url}/${query}`);
  clients.track(() => socket.socket.close());
  return socket;
}

/** This server runs in development mode (stacks are allowed; production-errors.test.ts covers production). */
const parseServerFrame = (frame: string) => parseFrame(frame, false);

const subscribeFrame = (id: unknown, room: string, extra: Record<string, unknown> = {}) =>
  `{"id":${typeof id === 'string' ? JSON.stringify(id) : String(id)},"method":"subscription","params":{"path":"onMessage","input":${JSON.stringify(superjson.serialize({ room, ...extra }))}}}`;

function publisher() {
  return appSubscriptions.publisher({ endpoint: server.gateway.endpoint, store });
}

const message = (text: string): ChatMessage => ({ text, at: new Date(0), from: 'system' });

describe('ctx is computed on the server only', () => {
  test('a client cannot subscribe as another user: ctx fields in the input do not reach a ctx filter', async () => {
    const alice = client({ userId: 'alice' });
    const got: string[] = [];
    await new Promise<void>((resolve) => {
      alice.onMessage.subscribe({ room: 'r' }, { onStarted: () => resolve(), onData: (m) => got.push(`alice:${m.text}`) });
    });
    // Mallory puts alice's id wherever a client can: input fields and an extra ctx-like key.
    const mallory = await raw();
    mallory.socket.send(subscribeFrame(1, 'r', { userId: 'alice', ctx: { userId: 'alice' }, connectionId: 'x' }));
    expect(parseServerFrame((await mallory.next())[0])).toMatchObject({ kind: 'result', type: 'started' });

    const result = await publisher().routes.onMessage.publish({
      data: message('for alice'), filter: { name: 'byUserAndRoom', ctx: { userId: 'alice' }, input: { room: 'r' } },
    });
    expect(result).toMatchObject({ matched: 1, delivered: 1 });
    await waitFor(() => got.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(mallory.frames).toHaveLength(1);
    // Mallory's subscription is indexed under her server-side ctx ('anon'), whatever she sent.
    const [malloryConnection] = server.gateway.connections().filter((id) => store.subscriptionsOf(id).some((s) => s.filters.some((f) => f.values[0] === 'anon')));
    expect(store.subscriptionsOf(malloryConnection)[0].filters).toEqual(expect.arrayContaining([{ name: 'byUserAndRoom', values: ['anon', 'r'] }]));
  });

  test('a client cannot stop another connection\'s subscription (same request id)', async () => {
    const alice = client({ userId: 'alice' });
    const got: string[] = [];
    await new Promise<void>((resolve) => {
      alice.onMessage.subscribe({ room: 'r' }, { onStarted: () => resolve(), onData: (m) => got.push(m.text) });
    });
    const mallory = await raw();
    // The tRPC client numbers requests from 1: alice's subscription has a small id.
    for (let id = 0; id <= 5; id++) mallory.socket.send(`{"id":${id},"method":"subscription.stop"}`);
    mallory.socket.send('PING');
    expect(await mallory.next()).toEqual(['PONG']);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(mallory.frames).toEqual(['PONG']);
    const result = await publisher().routes.onMessage.publish({ data: message('still here'), filter: { name: 'byRoom', input: { room: 'r' } } });
    expect(result).toMatchObject({ matched: 1, delivered: 1 });
    await waitFor(() => got.length === 1);
  });

  test('connectionParams are accepted once, and only when announced: a later frame cannot switch identity', async () => {
    // Announced: the first params frame sets the identity.
    const announced = await raw('?connectionParams=1');
    announced.socket.send('{"method":"connectionParams","data":{"userId":"mallory"}}');
    announced.socket.send('{"method":"connectionParams","data":{"userId":"alice"}}');
    const [refusal] = await announced.next();
    expect(parseServerFrame(refusal)).toMatchObject({ kind: 'error', id: null, dataCode: 'PARSE_ERROR', message: expect.stringMatching(/accepted once/) });
    announced.socket.send(`{"id":1,"method":"query","params":{"path":"whoami","input":${JSON.stringify(superjson.serialize(undefined))}}}`);
    expect(parseServerFrame((await announced.next())[0])).toMatchObject({ kind: 'result', data: 'mallory' });

    // Not announced: ctx came from $connect; a params frame is refused and changes nothing.
    const unannounced = await raw();
    unannounced.socket.send('{"method":"connectionParams","data":{"userId":"alice"}}');
    expect(parseServerFrame((await unannounced.next())[0])).toMatchObject({ kind: 'error', id: null, dataCode: 'PARSE_ERROR' });
    unannounced.socket.send(`{"id":1,"method":"query","params":{"path":"whoami","input":${JSON.stringify(superjson.serialize(undefined))}}}`);
    expect(parseServerFrame((await unannounced.next())[0])).toMatchObject({ kind: 'result', data: 'anon' });
  });

  test('connectionParams with prototype keys are plain data', async () => {
    const socket = await raw('?connectionParams=1');
    socket.socket.send('{"method":"connectionParams","data":{"__proto__":"x","constructor":"y","userId":"bob"}}');
    socket.socket.send(`{"id":1,"method":"query","params":{"path":"whoami","input":${JSON.stringify(superjson.serialize(undefined))}}}`);
    expect(parseServerFrame((await socket.next())[0])).toMatchObject({ kind: 'result', data: 'bob' });
    expect(({} as Record<string, unknown>).constructor).toBe(Object);
  });
});

describe('limits', () => {
  test('a batch over maxBatchSize (100) is refused with one error frame, and none of its requests runs', async () => {
    const socket = await raw();
    const [connectionId] = server.gateway.connections();
    socket.socket.send(`[${Array.from({ length: 101 }, (_, i) => subscribeFrame(i + 1, 'r')).join(',')}]`);
    const [frame] = await socket.next();
    expect(parseServerFrame(frame)).toMatchObject({ kind: 'error', id: null, dataCode: 'PAYLOAD_TOO_LARGE', message: 'A frame may carry at most 100 requests, got 101' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(socket.frames).toHaveLength(1);
    expect(store.subscriptionsOf(connectionId)).toEqual([]);
  });

  test('a batch of exactly 100 is served: one frame per request', async () => {
    const socket = await raw();
    const [connectionId] = server.gateway.connections();
    socket.socket.send(`[${Array.from({ length: 100 }, (_, i) => subscribeFrame(i + 1, 'r')).join(',')}]`);
    const frames = (await socket.next(100)).map((frame) => parseServerFrame(frame));
    expect(new Set(frames.map((frame) => frame.id)).size).toBe(100);
    expect(frames.every((frame) => frame.kind === 'result' && frame.type === 'started')).toBe(true);
    expect(store.subscriptionsOf(connectionId)).toHaveLength(100);
  });

  test('maxBatchSize is configurable', async () => {
    await server.close();
    server = await startExampleServer({ handler: { maxBatchSize: 2 } });
    store = server.store as MemoryStore;
    const socket = await raw();
    socket.socket.send(`[${subscribeFrame(1, 'a')},${subscribeFrame(2, 'a')},${subscribeFrame(3, 'a')}]`);
    expect(parseServerFrame((await socket.next())[0])).toMatchObject({ id: null, message: 'A frame may carry at most 2 requests, got 3' });
  });

  test('an id JSON cannot carry back (1e400 is Infinity) is refused with PARSE_ERROR, and nothing is stored', async () => {
    const socket = await raw();
    const [connectionId] = server.gateway.connections();
    socket.socket.send(subscribeFrame('1e400', 'r').replace('"1e400"', '1e400'));
    expect(parseServerFrame((await socket.next())[0])).toMatchObject({ kind: 'error', id: null, dataCode: 'PARSE_ERROR' });
    socket.socket.send('{"id":-1e400,"method":"subscription.stop"}');
    expect(parseServerFrame((await socket.next())[0])).toMatchObject({ kind: 'error', id: null, dataCode: 'PARSE_ERROR' });
    expect(store.subscriptionsOf(connectionId)).toEqual([]);
  });

  test('oversized connectionParams are refused before createContext runs or anything is stored', async () => {
    const socket = await raw('?connectionParams=1');
    const [connectionId] = server.gateway.connections();
    socket.socket.send(JSON.stringify({ method: 'connectionParams', data: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, 'v'.repeat(20)])) }));
    expect(parseServerFrame((await socket.next())[0])).toMatchObject({ id: null, dataCode: 'PAYLOAD_TOO_LARGE' });
    expect(await store.getConnection(connectionId)).toMatchObject({ awaitingConnectionParams: false, refusal: expect.any(String) });
    expect((await store.getConnection(connectionId))?.connectionParams).toBeUndefined();
    // The next request gets the refusal for its id, then the connection is closed and its rows removed.
    socket.socket.send(subscribeFrame(1, 'r'));
    await socket.closed;
    expect(socket.frames.slice(1).map((frame) => parseServerFrame(frame))).toMatchObject([{ id: 1, dataCode: 'PAYLOAD_TOO_LARGE' }]);
    expect(await store.getConnection(connectionId)).toBeUndefined();
  });
});
