/**
 * Lifecycle hooks with real `@trpc/client` clients through the local gateway on DynamoDB Local:
 * `onSubscribe` refuses and publishes, `onUnsubscribe` and `onDisconnect` run exactly once per
 * subscription and connection, whoever ends it (a stop, `$disconnect`, a 410 after a lost
 * `$disconnect`, a server-side stop or disconnect, the rollover's sweep, all of them at once), and
 * a move (reconnect notification, rollover) is reported as `moved`, never as a leave.
 */
import { ApiGatewayManagementApiClient, DeleteConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { TRPCError } from '@trpc/server';
import { dynamodb, type SubscriptionStore, type WebSocketEvent } from '../../../lambda';
import { silentLogger, startLocalGateway, type LocalGateway } from '../../../lambda/local';
import { appRouter, createContext, subscriptions, type ChatMessage } from '../../fixtures/router';
import { createTestTable, scanRows, type TestTable } from '../../support/dynamodb';
import { clientPool, connectClient, waitFor } from '../support/harness';

/** Every hook call, in order. */
interface HookCall {
  readonly hook: 'subscribe' | 'unsubscribe' | 'connect' | 'disconnect';
  readonly connectionId: string;
  readonly reason?: string;
  readonly state?: unknown;
  readonly key?: string;
}

const calls: HookCall[] = [];

const app = subscriptions
  .router({ router: appRouter, createContext, connectionKey: (ctx) => `user:${ctx.userId}` })
  .routes.onMessage.filter({ name: 'byRoom', input: { room: true } })
  .routes.onMessage.hooks({
    onSubscribe: async ({ ctx, input, connectionId }) => {
      if (input.room === 'locked') throw new TRPCError({ code: 'FORBIDDEN', message: `${ctx.userId} may not enter ${input.room}` });
      calls.push({ hook: 'subscribe', connectionId, state: { userId: ctx.userId, room: input.room } });
      if (input.room === 'announced') {
        // A join, published from the hook to the room's other members.
        await publisherOf().routes.onMessage.publish({
          data: { text: `${ctx.userId} joined`, at: new Date(0), from: 'hooks' },
          filter: { name: 'byRoom', input: { room: input.room } },
          excludeConnectionId: connectionId,
        });
      }
      return { userId: ctx.userId, room: input.room };
    },
    onUnsubscribe: ({ state, reason, connectionId }) => {
      calls.push({ hook: 'unsubscribe', connectionId, reason, state });
    },
  })
  .hooks({
    onConnect: ({ key, connectionId }) => void calls.push({ hook: 'connect', connectionId, key }),
    onDisconnect: ({ key, reason, connectionId }) => void calls.push({ hook: 'disconnect', connectionId, key, reason }),
  });

let currentPublisher: ReturnType<typeof app.publisher> | undefined;
const publisherOf = () => currentPublisher!;

interface Server {
  readonly gateway: LocalGateway;
  readonly store: SubscriptionStore;
  readonly publisher: ReturnType<typeof app.publisher>;
  /** Connections whose `$disconnect` is lost (never handled), as API Gateway may do. */
  readonly loseDisconnectOf: Set<string>;
  /** The `$disconnect` handler itself. */
  readonly disconnect: (event: WebSocketEvent) => Promise<unknown>;
}

let table: TestTable;
const servers: LocalGateway[] = [];
const pool = clientPool();

beforeAll(async () => {
  table = await createTestTable('hooks');
});
afterEach(async () => {
  pool.closeAll();
  await Promise.all(servers.splice(0).map((gateway) => gateway.close()));
  calls.length = 0;
});
afterAll(() => table.client.destroy());

async function startServer(maxConnectionMs?: number, maxSubscriptionsPerConnection?: number): Promise<Server> {
  const store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
  const loseDisconnectOf = new Set<string>();
  const disconnect = app.disconnect({ store, logger: silentLogger });
  const gateway = await startLocalGateway({
    handlers: {
      connect: app.connect({ store, logger: silentLogger }),
      handler: app.handler({ store, logger: silentLogger, maxSubscriptionsPerConnection }),
      disconnect: async (event: WebSocketEvent) => (loseDisconnectOf.has(event.requestContext.connectionId)
        ? { statusCode: 200 }
        : disconnect(event)),
    },
    maxConnectionMs,
    logger: silentLogger,
  });
  servers.push(gateway);
  const publisher = app.publisher({ store, endpoint: gateway.endpoint, logger: silentLogger });
  currentPublisher = publisher;
  return { gateway, store, publisher, loseDisconnectOf, disconnect: (event) => disconnect(event) };
}

/** A client of `userId` subscribed to `room`; resolves once started, with its connection id. */
async function member(server: Server, userId: string, room: string) {
  const before = new Set(server.gateway.connections());
  const { client, close } = connectClient(server.gateway.url, { userId });
  pool.track(close);
  const inbox: string[] = [];
  let starts = 0;
  const subscription = client.onMessage.subscribe({ room }, {
    onStarted: () => starts++,
    onData: (message: ChatMessage) => inbox.push(message.text),
  });
  await waitFor(() => starts === 1, 10_000, `${userId} started`);
  const connectionId = server.gateway.connections().find((id) => !before.has(id))!;
  return { client, close, subscription, inbox, connectionId, starts: () => starts };
}

const of = (connectionId: string, hook: HookCall['hook']) => calls.filter((call) => call.connectionId === connectionId && call.hook === hook);
const reasons = (connectionId: string, hook: 'unsubscribe' | 'disconnect') => of(connectionId, hook).map((call) => call.reason);

/** Closes a connection from the gateway's side (what a network drop looks like to the handlers). */
async function drop(server: Server, connectionId: string): Promise<void> {
  const management = new ApiGatewayManagementApiClient({
    endpoint: server.gateway.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1,
  });
  try {
    await management.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
  } finally {
    management.destroy();
  }
  await waitFor(() => !server.gateway.connections().includes(connectionId), 5000, 'dropped');
}

/** Waits a little more, so that a second (wrong) hook call would have arrived. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

describe('onSubscribe', () => {
  test('a TRPCError refuses the subscription: the client gets it as from tRPC\'s adapter, nothing is stored', async () => {
    const server = await startServer();
    const { client, close } = connectClient(server.gateway.url, { userId: 'mallory' });
    pool.track(close);
    const error = await new Promise<any>((resolve) => {
      client.onMessage.subscribe({ room: 'locked' }, { onStarted: () => resolve(new Error('started')), onError: resolve });
    });

    expect(error.data?.code).toBe('FORBIDDEN');
    expect(error.message).toBe('mallory may not enter locked');
    expect((await server.publisher.routes.onMessage.publish({ data: { text: 'x', at: new Date(), from: 's' }, filter: { name: 'byRoom', input: { room: 'locked' } } })).matched).toBe(0);
    await settle();
    // It threw: no onUnsubscribe pairs with it.
    expect(calls.filter((call) => call.hook === 'unsubscribe')).toEqual([]);
  });

  test('it may publish: the room\'s other members get the join; its result reaches onUnsubscribe', async () => {
    const server = await startServer();
    const bob = await member(server, 'bob', 'announced');
    const alice = await member(server, 'alice', 'announced');

    await waitFor(() => bob.inbox.includes('alice joined'), 5000, 'join');
    expect(alice.inbox).toEqual([]);
    alice.subscription.unsubscribe();
    await waitFor(() => of(alice.connectionId, 'unsubscribe').length === 1, 5000, 'onUnsubscribe');
    expect(of(alice.connectionId, 'unsubscribe')).toEqual([{ hook: 'unsubscribe', connectionId: alice.connectionId, reason: 'stop', state: { userId: 'alice', room: 'announced' } }]);
  });
});

describe('onUnsubscribe and onDisconnect: once, by whoever ends it', () => {
  test('a subscription onSubscribe let through but the store refused (the limit): refused, at once', async () => {
    const server = await startServer(undefined, 1);
    const alice = await member(server, 'alice', 'r');
    const error = await new Promise<any>((resolve) => {
      alice.client.onMessage.subscribe({ room: 'second' }, { onStarted: () => resolve(new Error('started')), onError: resolve });
    });

    expect(error.data?.code).toBe('TOO_MANY_REQUESTS');
    expect(of(alice.connectionId, 'subscribe')).toHaveLength(2);
    expect(of(alice.connectionId, 'unsubscribe')).toEqual([{ hook: 'unsubscribe', connectionId: alice.connectionId, reason: 'refused', state: { userId: 'alice', room: 'second' } }]);
  });

  test('a client stop, then the close: stop once, then disconnect once, onConnect before', async () => {
    const server = await startServer();
    const alice = await member(server, 'alice', 'r');
    expect(of(alice.connectionId, 'connect')).toEqual([{ hook: 'connect', connectionId: alice.connectionId, key: 'user:alice' }]);

    alice.subscription.unsubscribe();
    await waitFor(() => of(alice.connectionId, 'unsubscribe').length === 1, 5000, 'stop');
    alice.close();
    await waitFor(() => of(alice.connectionId, 'disconnect').length === 1, 5000, 'disconnect');
    await settle();

    expect(reasons(alice.connectionId, 'unsubscribe')).toEqual(['stop']);
    expect(reasons(alice.connectionId, 'disconnect')).toEqual(['disconnect']);
  });

  test('a dropped socket: disconnect, once each (the client reconnects: a new connection)', async () => {
    const server = await startServer();
    const alice = await member(server, 'alice', 'r');
    await drop(server, alice.connectionId);
    await waitFor(() => of(alice.connectionId, 'disconnect').length === 1, 5000, 'disconnect');
    await settle();
    expect(reasons(alice.connectionId, 'unsubscribe')).toEqual(['disconnect']);
    expect(of(alice.connectionId, 'disconnect')).toEqual([{ hook: 'disconnect', connectionId: alice.connectionId, key: 'user:alice', reason: 'disconnect' }]);
  });

  test('a lost $disconnect: the first publish finds the connection gone (410) and ends it, once', async () => {
    const server = await startServer();
    const alice = await member(server, 'alice', 'r');
    server.loseDisconnectOf.add(alice.connectionId);
    await drop(server, alice.connectionId);
    // The client reconnects and subscribes again on a new connection.
    await waitFor(() => calls.filter((call) => call.hook === 'subscribe').length === 2, 5000, 'resubscribed');
    await settle();
    expect(calls.filter((call) => call.hook === 'unsubscribe' || call.hook === 'disconnect')).toEqual([]);

    const result = await server.publisher.routes.onMessage.publish({ data: { text: 'hi', at: new Date(), from: 's' }, filter: { name: 'byRoom', input: { room: 'r' } } });
    expect(result).toMatchObject({ matched: 2, gone: 1, delivered: 1 });
    const again = await server.publisher.routes.onMessage.publish({ data: { text: 'hi', at: new Date(), from: 's' }, filter: { name: 'byRoom', input: { room: 'r' } } });
    expect(again).toMatchObject({ matched: 1, delivered: 1 });
    await settle();
    expect(reasons(alice.connectionId, 'unsubscribe')).toEqual(['gone']);
    expect(reasons(alice.connectionId, 'disconnect')).toEqual(['gone']);
  });

  test('server-side stop and disconnect: server-stop, once, also when the $disconnect that follows runs', async () => {
    const server = await startServer();
    const alice = await member(server, 'alice', 'r');
    const bob = await member(server, 'bob', 'r');

    await expect(server.publisher.routes.onMessage.stop({ filter: { name: 'byRoom', input: { room: 'r' } }, excludeConnectionId: bob.connectionId }))
      .resolves.toMatchObject({ matched: 1, stopped: 1 });
    await expect(server.publisher.connections.disconnect({ key: 'user:bob' })).resolves.toMatchObject({ matched: 1, succeeded: 1 });
    // The gateway delivers bob's $disconnect too: it finds nothing left to end.
    await waitFor(() => !server.gateway.connections().includes(bob.connectionId), 5000, 'bob closed');
    await settle();

    expect(reasons(alice.connectionId, 'unsubscribe')).toEqual(['server-stop']);
    expect(reasons(alice.connectionId, 'disconnect')).toEqual([]);
    expect(reasons(bob.connectionId, 'unsubscribe')).toEqual(['server-stop']);
    expect(reasons(bob.connectionId, 'disconnect')).toEqual(['server-stop']);
  });

  test('concurrent ends ($disconnect, a 410, the sweep, a server disconnect) fire each hook once', async () => {
    const lifetimeMs = 1500;
    const server = await startServer(60_000);
    const clients = await Promise.all(['a', 'b', 'c'].map((userId) => member(server, userId, 'race')));
    for (const client of clients) {
      // A second subscription on the same connection: each ends once too.
      await new Promise<void>((resolve) => {
        client.client.onMessage.subscribe({ room: 'other' }, { onStarted: () => resolve() });
      });
      server.loseDisconnectOf.add(client.connectionId);
      client.close();
    }
    await waitFor(() => clients.every((client) => !server.gateway.connections().includes(client.connectionId)), 5000, 'closed');
    // The sweep treats them as past the gateway's lifetime (they are: the gateway closed them).
    const rollover = app.rollover({
      store: server.store, endpoint: server.gateway.endpoint, maxConnectionMs: lifetimeMs, olderThanMs: 1000, sweepAfterMs: 0, logger: silentLogger,
    });
    await new Promise((resolve) => setTimeout(resolve, lifetimeMs + 100));
    const event = (connectionId: string) => ({ requestContext: { connectionId, routeKey: '$disconnect', eventType: 'DISCONNECT' } }) as unknown as WebSocketEvent;

    await Promise.all([
      ...clients.map((client) => server.disconnect(event(client.connectionId))),
      server.publisher.routes.onMessage.publish({ data: { text: 'x', at: new Date(), from: 's' } }),
      rollover(),
      ...clients.map((client) => server.publisher.connections.disconnect({ connectionId: client.connectionId })),
    ]);
    await settle();

    for (const client of clients) {
      expect(of(client.connectionId, 'unsubscribe')).toHaveLength(2);
      expect(of(client.connectionId, 'disconnect')).toHaveLength(1);
    }
    const rows = await scanRows(table.client, table.tableName);
    const left = rows.filter((row) => clients.some((client) => JSON.stringify(row).includes(client.connectionId)));
    expect(left).toEqual([]);
  });

  test('a lost $disconnect nobody publishes to: the rollover\'s sweep ends it after the lifetime, as expired', async () => {
    const lifetimeMs = 2000;
    const server = await startServer(lifetimeMs);
    const rollover = app.rollover({
      store: server.store,
      endpoint: server.gateway.endpoint,
      logger: silentLogger,
      maxConnectionMs: lifetimeMs,
      olderThanMs: lifetimeMs - 500,
      sweepAfterMs: 200,
    });
    const alice = await member(server, 'alice', 'quiet');
    const openedAt = Date.now();
    server.loseDisconnectOf.add(alice.connectionId);
    await drop(server, alice.connectionId);
    // The client stops reconnecting (whatever it does on a new connection is not this test's).
    alice.close();

    // Too young: the sweep leaves it (it may still be open, and its $disconnect may yet come).
    await rollover();
    expect(of(alice.connectionId, 'unsubscribe')).toEqual([]);
    // No run between the rollover age and the lifetime (those would find it gone, 410): only the
    // sweep, once it is past the lifetime, can end it.
    await new Promise((resolve) => setTimeout(resolve, openedAt + lifetimeMs + 400 - Date.now()));
    await waitFor(async () => (await rollover()).expired > 0 && of(alice.connectionId, 'disconnect').length > 0, 5000, 'swept');
    await settle();

    expect(reasons(alice.connectionId, 'unsubscribe')).toEqual(['expired']);
    expect(reasons(alice.connectionId, 'disconnect')).toEqual(['expired']);
    await rollover();
    expect(of(alice.connectionId, 'unsubscribe')).toHaveLength(1);
  }, 20_000);
});

describe('moves are not leaves', () => {
  test('a reconnect notification: the old connection\'s subscription ends as moved, after the new one started', async () => {
    const server = await startServer();
    const alice = await member(server, 'alice', 'r');
    await expect(server.publisher.connections.reconnect({ key: 'user:alice' })).resolves.toMatchObject({ succeeded: 1 });
    await waitFor(() => of(alice.connectionId, 'disconnect').length === 1, 5000, 'old connection ended');
    await settle();

    expect(reasons(alice.connectionId, 'unsubscribe')).toEqual(['moved']);
    expect(reasons(alice.connectionId, 'disconnect')).toEqual(['moved']);
    // The new subscription started first: alice was never out of the room.
    const aliceCalls = calls.filter((call) => (call.state as { userId?: string } | undefined)?.userId === 'alice');
    expect(aliceCalls.map((call) => call.hook)).toEqual(['subscribe', 'subscribe', 'unsubscribe']);
    expect(alice.starts()).toBe(1);
  });

  test('rollover across three lifetimes: every end is a move, the member count never drops to 0, then a real leave', async () => {
    const lifetimeMs = 3000;
    const server = await startServer(lifetimeMs);
    const rollover = app.rollover({
      store: server.store, endpoint: server.gateway.endpoint, olderThanMs: lifetimeMs - 1000, maxConnectionMs: lifetimeMs, logger: silentLogger,
    });
    let stopped = false;
    const rolls = (async () => {
      while (!stopped) {
        await rollover();
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    const alice = await member(server, 'alice', 'r');
    // The room's member count as an app would keep it from the hooks.
    let members = 0;
    let lowest = Infinity;
    const counted = new Set<HookCall>();
    const count = () => {
      for (const call of calls) {
        if (counted.has(call)) continue;
        counted.add(call);
        if (call.hook === 'subscribe') members++;
        if (call.hook === 'unsubscribe') {
          members--;
          lowest = Math.min(lowest, members);
        }
      }
    };
    const until = Date.now() + 3 * lifetimeMs;
    while (Date.now() < until) {
      count();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    stopped = true;
    await rolls;
    count();
    const moves = calls.filter((call) => call.hook === 'unsubscribe');
    expect(moves.length).toBeGreaterThanOrEqual(2);
    expect(new Set(moves.map((call) => call.reason))).toEqual(new Set(['moved']));
    expect(lowest).toBe(1);
    expect(alice.starts()).toBe(1);

    // A real leave: the stock client's close stops its subscriptions first.
    alice.close();
    await waitFor(() => { count(); return members === 0; }, 5000, 'left');
    expect(calls.filter((call) => call.hook === 'unsubscribe').at(-1)?.reason).toBe('stop');
  }, 30_000);
});
