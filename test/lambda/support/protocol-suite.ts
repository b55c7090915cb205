import { TRPCClientError } from '@trpc/client';
import superjson from 'superjson';
import { WebSocket } from 'ws';
import { clientPool, decodeServerFrame, rawSocket, startExampleServer, waitFor, type ExampleServer } from './harness';
import type { StoreFixture } from './store-fixtures';
import type { SubscriptionStore } from '../../../lambda';
import { appSubscriptions, type ChatMessage } from '../../fixtures/router';

/**
 * The tRPC v11 WebSocket protocol end to end: the real `@trpc/client` over a real WebSocket,
 * through the local API Gateway emulator into the example app's Lambda handlers, over a store
 * (`protocol.test.ts`: memory(); `protocol-dynamodb.test.ts`: dynamodb() on DynamoDB Local).
 */
export function describeProtocol(fixture: StoreFixture): void {
  let server: ExampleServer;
  let store: SubscriptionStore;
  const clients = clientPool();

  beforeEach(async () => {
    store = await fixture.create();
    server = await startExampleServer({ store });
  });
  afterEach(async () => {
    clients.closeAll();
    await server.close();
  });

  function client(params?: Record<string, string>) {
    return clients.client(server.gateway.url, params);
  }

  /** For the local gateway's `unordered.random`: delays the connection's first frame the most. */
  function firstThenZero(): () => number {
    let calls = 0;
    return () => (calls++ === 0 ? 1 : 0);
  }

  function publisher() {
    return appSubscriptions.publisher({ endpoint: server.gateway.endpoint, store });
  }

  describe('queries and mutations', () => {
    test('a query answers with ctx built from connectionParams', async () => {
      await expect(client({ userId: 'alice' }).whoami.query()).resolves.toBe('alice');
    });

    test('without connectionParams ctx is built from what $connect saw', async () => {
      await expect(client().whoami.query()).resolves.toBe('anon');
    });

    test('a mutation publishes to the room, excluding the sender; superjson Dates survive both ways', async () => {
      const alice = client({ userId: 'alice' });
      const bob = client({ userId: 'bob' });
      const received: { alice: ChatMessage[]; bob: ChatMessage[] } = { alice: [], bob: [] };
      await Promise.all((['alice', 'bob'] as const).map((who) => new Promise<void>((resolve) => {
        (who === 'alice' ? alice : bob).onMessage.subscribe({ room: 'r1' }, { onStarted: () => resolve(), onData: (m) => received[who].push(m) });
      })));

      const at = new Date('2024-02-03T04:05:06.789Z');
      const result = await alice.sendMessage.mutate({ room: 'r1', text: 'hello', at });

      expect(result.at).toBeInstanceOf(Date);
      expect(result.at.toISOString()).toBe(at.toISOString());
      expect(result.delivered).toBe(1);
      await waitFor(() => received.bob.length === 1, 5000, 'bob receives');
      expect(received.bob[0]).toEqual({ text: 'hello', at, from: 'alice' });
      expect(received.bob[0].at).toBeInstanceOf(Date);
      expect(received.alice).toEqual([]);
    });

    test('input validation errors come back as BAD_REQUEST for that request', async () => {
      const error = await client().sendMessage.mutate({ room: 'r', text: '' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TRPCClientError);
      expect((error as TRPCClientError<any>).data?.code).toBe('BAD_REQUEST');
    });
  });

  describe('subscriptions', () => {
    test('started is sent only once the rows are durable: a publish right after onStarted is received', async () => {
      const c = client({ userId: 'alice' });
      const data: ChatMessage[] = [];
      await new Promise<void>((resolve) => {
        c.onMessage.subscribe({ room: 'a' }, {
          onStarted: () => {
            void publisher().routes.onMessage.publish({
              data: { text: 'first', at: new Date(0), from: 'x' },
              filter: { name: 'byUserAndRoom', ctx: { userId: 'alice' }, input: { room: 'a' } },
            }).then(() => resolve());
          },
          onData: (message) => data.push(message),
        });
      });
      await waitFor(() => data.length === 1, 5000, 'first message');
      expect(data[0].text).toBe('first');
    });

    test('nested routes: chat.onTyping with a ctx filter', async () => {
      const alice = client({ userId: 'alice' });
      const bob = client({ userId: 'bob' });
      const got: string[] = [];
      await Promise.all([alice, bob].map((c, i) => new Promise<void>((resolve) => {
        c.chat.onTyping.subscribe(undefined, { onStarted: () => resolve(), onData: (d) => got.push(`${i}:${d}`) });
      })));
      const result = await publisher().routes.chat.onTyping.publish({ data: 'typing', filter: { name: 'byUser', ctx: { userId: 'bob' } } });
      expect(result).toMatchObject({ matched: 1, delivered: 1, gone: 0, failed: 0 });
      await waitFor(() => got.length === 1);
      expect(got).toEqual(['1:typing']);
    });

    test('unsubscribe stops: the rows are removed and later publishes match nothing', async () => {
      const c = client({ userId: 'alice' });
      const sub = await new Promise<{ unsubscribe(): void }>((resolve) => {
        const s = c.onMessage.subscribe({ room: 'a' }, { onStarted: () => resolve(s) });
      });
      const [connectionId] = server.gateway.connections();
      expect(await fixture.subscriptionsOf(store, connectionId)).toHaveLength(1);
      sub.unsubscribe();
      await waitFor(async () => (await fixture.subscriptionsOf(store, connectionId)).length === 0, 5000, 'subscription removed');
      const result = await publisher().routes.onMessage.publish({ data: { text: 'x', at: new Date(), from: 'x' } });
      expect(result.matched).toBe(0);
    });

    test('tracked events carry their id, and a resubscribe after reconnect sends lastEventId into the input', async () => {
    // A filter on the input's lastEventId makes the input the procedure received observable.
      const withLastEventId = appSubscriptions.routes.onNotification.filter({ name: 'byLastEventId', input: { lastEventId: true } });
      await server.close();
      server = await startExampleServer({ subscriptions: withLastEventId, store });
      const tracked = withLastEventId.publisher({ endpoint: server.gateway.endpoint, store });

      const c = client({ userId: 'alice' });
      const events: Array<{ id: string; data: { message: string } }> = [];
      let starts = 0;
      c.onNotification.subscribe(undefined, { onStarted: () => starts++, onData: (event) => events.push(event) });
      await waitFor(() => starts === 1, 5000, 'started');
      const result = await tracked.routes.onNotification.publish({ data: { message: 'one' }, id: 'e1' });
      expect(result.delivered).toBe(1);
      await waitFor(() => events.length === 1);
      expect(events[0]).toEqual({ id: 'e1', data: { message: 'one' } });
      // Before the reconnect nobody subscribed with lastEventId e1.
      expect((await tracked.routes.onNotification.publish({ data: { message: 'x' }, id: 'e0', filter: { name: 'byLastEventId', input: { lastEventId: 'e1' } } })).matched).toBe(0);

      // tRPC's reconnect notification: the client opens a new connection and resubscribes there
      // with lastEventId "e1", which the handler merges into the procedure's input.
      const [oldConnection] = server.gateway.connections();
      const response = await fetch(`${server.gateway.endpoint}/@connections/${encodeURIComponent(oldConnection)}`, { method: 'POST', body: '{"id":null,"method":"reconnect"}' });
      expect(response.status).toBe(200);
      await waitFor(async () => {
        const probe = await tracked.routes.onNotification.publish({ data: { message: 'two' }, id: 'e2', filter: { name: 'byLastEventId', input: { lastEventId: 'e1' } } });
        return probe.delivered === 1;
      }, 5000, 'resubscribed with lastEventId');
      await waitFor(() => events.some((event) => event.id === 'e2'));
    });
  });

  describe('wire details (raw WebSocket)', () => {
    test('PING is answered PONG', async () => {
      const ws = await rawSocket(server.gateway.url);
      ws.socket.send('PING');
      expect(await ws.next()).toEqual(['PONG']);
      ws.socket.close();
    });

    test('garbage gets a PARSE_ERROR frame with id null', async () => {
      const ws = await rawSocket(server.gateway.url);
      ws.socket.send('{not json');
      const [frame] = await ws.next();
      expect(decodeServerFrame(frame)).toMatchObject({ id: null, error: { code: -32700, data: { code: 'PARSE_ERROR' } } });
      // JSON.parse's own message, as tRPC's adapter sends it.
      const parseMessage = (() => {
        try {
          JSON.parse('{not json');
          return '';
        } catch (error) {
          return (error as Error).message;
        }
      })();
      expect(parseMessage).not.toBe('');
      expect(decodeServerFrame(frame).error.message).toBe(parseMessage);
      ws.socket.close();
    });

    test('data frames echo jsonrpc: "2.0" for subscriptions whose request carried it, and only those', async () => {
      const ws = await rawSocket(server.gateway.url);
      const input = superjson.serialize({ room: 'j' });
      ws.socket.send(JSON.stringify([
        { id: 1, jsonrpc: '2.0', method: 'subscription', params: { path: 'onMessage', input } },
        { id: 2, method: 'subscription', params: { path: 'onMessage', input } },
      ]));
      expect((await ws.next(2)).map((frame) => JSON.parse(frame))).toEqual(expect.arrayContaining([
        { id: 1, jsonrpc: '2.0', result: { type: 'started' } }, { id: 2, result: { type: 'started' } },
      ]));
      expect(await publisher().routes.onMessage.publish({ data: { text: 'j', at: new Date(0), from: 's' } })).toMatchObject({ delivered: 2 });
      const data = (await ws.next(2)).map((frame) => JSON.parse(frame)).sort((a, b) => a.id - b.id);
      expect(data[0]).toMatchObject({ id: 1, jsonrpc: '2.0', result: { type: 'data' } });
      expect(data[1]).toMatchObject({ id: 2, result: { type: 'data' } });
      expect(data[1]).not.toHaveProperty('jsonrpc');
      ws.socket.close();
    });

    test('a batch gets one frame per request, never an array', async () => {
      const ws = await rawSocket(server.gateway.url);
      ws.socket.send(JSON.stringify([
        { id: 1, method: 'query', params: { path: 'whoami', input: superjson.serialize(undefined) } },
        { id: 2, method: 'subscription', params: { path: 'onMessage', input: { json: { room: 'a' } } } },
        { id: 3, method: 'query', params: { path: 'nope', input: superjson.serialize(undefined) } },
        { id: 4, method: 'query', params: {} },
      ]));
      const frames = (await ws.next(4)).map(decodeServerFrame);
      expect(frames.every((frame) => !Array.isArray(frame))).toBe(true);
      const byId = Object.fromEntries(frames.map((frame) => [frame.id, frame]));
      expect(byId[1]).toEqual({ id: 1, result: { type: 'data', data: 'anon' } });
      // On the wire the data went through superjson.
      expect(ws.frames.map((frame) => JSON.parse(frame)).find((frame) => frame.id === 1)).toEqual({ id: 1, result: { type: 'data', data: { json: 'anon' } } });
      expect(byId[2]).toEqual({ id: 2, result: { type: 'started' } });
      expect(byId[3].error.data.code).toBe('NOT_FOUND');
      // One malformed request of a batch fails alone, with its own id.
      expect(byId[4].error.data.code).toBe('PARSE_ERROR');
      ws.socket.close();
    });

    test('stop of a stored subscription answers stopped; a stop of an unknown id is ignored', async () => {
      const ws = await rawSocket(server.gateway.url);
      ws.socket.send(JSON.stringify({ id: 7, method: 'subscription', params: { path: 'onMessage', input: { json: { room: 'a' } } } }));
      expect(JSON.parse((await ws.next())[0])).toEqual({ id: 7, result: { type: 'started' } });
      ws.socket.send(JSON.stringify({ id: 7, method: 'subscription.stop' }));
      expect(JSON.parse((await ws.next())[0])).toEqual({ id: 7, result: { type: 'stopped' } });
      ws.socket.send(JSON.stringify({ id: 99, method: 'subscription.stop' }));
      // Frames are handled concurrently: wait long enough for a reply to the stop to arrive first.
      await new Promise((resolve) => setTimeout(resolve, 200));
      ws.socket.send('PING');
      expect(await ws.next()).toEqual(['PONG']);
      expect(ws.frames).toHaveLength(3);
      ws.socket.close();
    });

    test('a subscription whose stop arrived first is never stored', async () => {
      const ws = await rawSocket(server.gateway.url);
      const [connectionId] = server.gateway.connections();
      ws.socket.send(JSON.stringify({ id: 5, method: 'subscription.stop' }));
      await waitFor(async () => (await store.removeSubscription(connectionId, 4)) === false); // tombstone path works
      await new Promise((resolve) => setTimeout(resolve, 100));
      ws.socket.send(JSON.stringify({ id: 5, method: 'subscription', params: { path: 'onMessage', input: { json: { room: 'a' } } } }));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await fixture.subscriptionsOf(store, connectionId)).toEqual([]);
      expect(ws.frames).toEqual([]);
      ws.socket.close();
    });

    test('a duplicate subscription id gets BAD_REQUEST "Duplicate id"', async () => {
      const ws = await rawSocket(server.gateway.url);
      const subscribe = JSON.stringify({ id: 1, method: 'subscription', params: { path: 'onMessage', input: { json: { room: 'a' } } } });
      ws.socket.send(subscribe);
      await ws.next();
      ws.socket.send(subscribe);
      const frame = decodeServerFrame((await ws.next())[0]);
      expect(frame).toMatchObject({ id: 1, error: { message: 'Duplicate id 1', data: { code: 'BAD_REQUEST' } } });
      ws.socket.close();
    });

    test('$disconnect removes the connection and its subscriptions', async () => {
      const ws = await rawSocket(server.gateway.url);
      ws.socket.send(JSON.stringify({ id: 1, method: 'subscription', params: { path: 'onMessage', input: { json: { room: 'a' } } } }));
      await ws.next();
      expect(await fixture.connectionCount(store)).toBe(1);
      ws.socket.close();
      await waitFor(async () => (await fixture.connectionCount(store)) === 0, 5000, 'disconnect');
    });
  });

  describe('connection params and createContext', () => {
    test('requests handled before the connectionParams frame wait for it', async () => {
      await server.close();
      // The first frame (connectionParams) is delayed by 400 ms, the requests are not.
      server = await startExampleServer({ store, unordered: { maxDelayMs: 400, random: firstThenZero() } });
      await expect(client({ userId: 'late' }).whoami.query()).resolves.toBe('late');
    });

    test('when the params never come, the wait is bounded and the request fails cleanly with TIMEOUT', async () => {
      await server.close();
      server = await startExampleServer({
        store,
        handler: { connectionParamsTimeoutMs: 200 },
        unordered: { maxDelayMs: 1500, random: firstThenZero() },
      });
      const error = await client({ userId: 'late' }).whoami.query().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TRPCClientError);
      expect((error as TRPCClientError<any>).data?.code).toBe('TIMEOUT');
    });

    /** The error a request of the stock client rejects with. */
    async function rejection(request: Promise<unknown>): Promise<TRPCClientError<any>> {
      const error = await request.then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(TRPCClientError);
      return error as TRPCClientError<any>;
    }

    test('createContext throwing at $connect: the stock client\'s pending query rejects with its code and message, no row is left', async () => {
      const refused = clients.client(`${server.gateway.url}/?token=invalid`);
      const error = await rejection(refused.whoami.query());
      expect(error.data?.code).toBe('UNAUTHORIZED');
      expect(error.message).toBe('Invalid token');
      await waitFor(async () => (await fixture.connectionCount(store)) === 0);
    });

    test('createContext throwing at $connect: raw frames are the connection error, then the error for each id, then close', async () => {
      const ws = await rawSocket(`${server.gateway.url}/?token=invalid`);
      ws.socket.send(JSON.stringify([
        { id: 1, jsonrpc: '2.0', method: 'query', params: { path: 'whoami', input: superjson.serialize(undefined) } },
        { id: 2, method: 'subscription', params: { path: 'onMessage', input: superjson.serialize({ room: 'a' }) } },
      ]));
      const frames = (await ws.next(3)).map(decodeServerFrame);
      const error = (path?: string) => ({ code: -32001, message: 'Invalid token', data: { code: 'UNAUTHORIZED', ...(path ? { path } : {}) } });
      // As tRPC's adapter: each request's error is built for it (its path), the connection's has none.
      expect(frames).toMatchObject([{ id: null, error: error() }, { id: 1, jsonrpc: '2.0', error: error('whoami') }, { id: 2, error: error('onMessage') }]);
      expect(frames[0].error.data).not.toHaveProperty('path');
      expect(frames[2]).not.toHaveProperty('jsonrpc');
      await ws.closed;
      await waitFor(async () => (await fixture.connectionCount(store)) === 0);
    });

    test('a row refused by an earlier version (the serialized error alone) is still answered: connection error, then one per id', async () => {
      const ws = await rawSocket(server.gateway.url);
      const [connectionId] = server.gateway.connections();
      const error = { message: 'Invalid token', code: -32001, data: { code: 'UNAUTHORIZED', httpStatus: 401 } };
      await store.putConnection({
        connectionId,
        connectedAt: Date.now(),
        expireAt: Math.floor(Date.now() / 1000) + 900,
        awaitingConnectionParams: false,
        connect: {},
        refusal: JSON.stringify(superjson.serialize(error)),
      });
      ws.socket.send(JSON.stringify({ id: 3, method: 'query', params: { path: 'whoami', input: superjson.serialize(undefined) } }));
      await ws.closed;
      expect(ws.frames.map(decodeServerFrame)).toMatchObject([{ id: null, error }, { id: 3, error }]);
    });

    test('with refuseWith: http-status, createContext throwing at $connect rejects the upgrade with its HTTP status', async () => {
      await server.close();
      server = await startExampleServer({ store, connect: { refuseWith: 'http-status' } });
      const status = await new Promise<number>((resolve, reject) => {
        const socket = new WebSocket(`${server.gateway.url}/?token=invalid`);
        socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        socket.on('open', () => reject(new Error('connection was accepted')));
        socket.on('error', () => undefined);
      });
      expect(status).toBe(401);
      expect(await fixture.connectionCount(store)).toBe(0);
    });

    test('createContext throwing once the params arrive: the stock client\'s requests already sent reject with its code and message', async () => {
      const refused = client({ token: 'invalid' });
      const [query, mutation] = await Promise.all([
        rejection(refused.whoami.query()),
        rejection(refused.sendMessage.mutate({ room: 'a', text: 'x' })),
      ]);
      for (const error of [query, mutation]) {
        expect(error.data?.code).toBe('UNAUTHORIZED');
        expect(error.message).toBe('Invalid token');
      }
      await waitFor(async () => (await fixture.connectionCount(store)) === 0);
    });

    test('createContext throwing once the params arrive sends the connection error once; the next requests get it for their ids, then close', async () => {
      const ws = await rawSocket(`${server.gateway.url}/?connectionParams=1`);
      ws.socket.send(JSON.stringify({ method: 'connectionParams', data: { token: 'invalid' } }));
      const frame = decodeServerFrame((await ws.next())[0]);
      expect(frame).toMatchObject({ id: null, error: { code: -32001, data: { code: 'UNAUTHORIZED' } } });
      ws.socket.send(JSON.stringify({ id: 7, jsonrpc: '2.0', method: 'query', params: { path: 'whoami', input: superjson.serialize(undefined) } }));
      await ws.closed;
      // Only the request's own error: the connection error is not sent a second time.
      expect(ws.frames.slice(1).map(decodeServerFrame)).toMatchObject([
        { id: 7, jsonrpc: '2.0', error: { message: 'Invalid token', data: { code: 'UNAUTHORIZED', path: 'whoami' } } },
      ]);
      await waitFor(async () => (await fixture.connectionCount(store)) === 0);
    });

    test('connectionParams of the wrong shape refuse the connection with a clear error', async () => {
      const ws = await rawSocket(`${server.gateway.url}/?connectionParams=1`);
      ws.socket.send(JSON.stringify({ method: 'connectionParams', data: { userId: 42 } }));
      const frame = decodeServerFrame((await ws.next())[0]);
      expect(frame).toMatchObject({ id: null, error: { message: 'Invalid connection params shape', data: { code: 'PARSE_ERROR' } } });
      ws.socket.send(JSON.stringify({ id: 1, method: 'query', params: { path: 'whoami', input: superjson.serialize(undefined) } }));
      await ws.closed;
      expect(ws.frames.slice(1).map(decodeServerFrame)).toMatchObject([{ id: 1, error: { data: { code: 'PARSE_ERROR', path: 'whoami' } } }]);
    });

    test('a connectionParams frame on a connection not awaiting them gets PARSE_ERROR, whatever its data, and the connection stays usable', async () => {
      const ws = await rawSocket(server.gateway.url);
      for (const data of [{ userId: 42 }, 'garbage', { blob: 'x'.repeat(5000) }]) {
        ws.socket.send(JSON.stringify({ method: 'connectionParams', data }));
        expect(decodeServerFrame((await ws.next())[0])).toMatchObject({ id: null, error: { data: { code: 'PARSE_ERROR' }, message: expect.stringContaining('Unexpected connectionParams') } });
      }
      ws.socket.send(JSON.stringify({ id: 1, method: 'query', params: { path: 'whoami', input: superjson.serialize(undefined) } }));
      expect(decodeServerFrame((await ws.next())[0])).toMatchObject({ id: 1, result: { type: 'data', data: 'anon' } });
      expect(ws.socket.readyState).toBe(WebSocket.OPEN);
      ws.socket.close();
    });

    test('oversized connectionParams are refused', async () => {
      const ws = await rawSocket(`${server.gateway.url}/?connectionParams=1`);
      ws.socket.send(JSON.stringify({ method: 'connectionParams', data: { blob: 'x'.repeat(5000) } }));
      const frame = decodeServerFrame((await ws.next())[0]);
      expect(frame).toMatchObject({ id: null, error: { data: { code: 'PAYLOAD_TOO_LARGE' } } });
      ws.socket.close();
    });
  });
}
