/**
 * The reconnect notification and the graceful rollover, with the real tRPC client through the
 * local gateway on DynamoDB Local.
 */
import { dynamodb, type SubscriptionStore, type WebSocketEvent } from '../../../lambda';
import { silentLogger, startLocalGateway, type LocalGateway } from '../../../lambda/local';
import { appRouter, createContext, subscriptions } from '../../fixtures/router';
import { createTestTable, type TestTable } from '../../support/dynamodb';
import { clientPool, waitFor } from '../support/harness';

const controlled = subscriptions
  .router({ router: appRouter, createContext, connectionKey: (ctx) => `user:${ctx.userId}` })
  .routes.onNotification.filter({ name: 'byLastEventId', input: { lastEventId: true } });

interface Server {
  readonly gateway: LocalGateway;
  readonly store: SubscriptionStore;
  /** `disconnectStatusCode` of every `$disconnect`, by connection id. */
  readonly closeCodes: Map<string, number | undefined>;
  readonly publisher: ReturnType<typeof controlled.publisher>;
}

let table: TestTable;
const servers: LocalGateway[] = [];
const pool = clientPool();

beforeAll(async () => {
  table = await createTestTable('control');
});
afterEach(async () => {
  pool.closeAll();
  await Promise.all(servers.splice(0).map((gateway) => gateway.close()));
});
afterAll(() => table.client.destroy());

async function startServer(maxConnectionMs?: number): Promise<Server> {
  const store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
  const closeCodes = new Map<string, number | undefined>();
  const disconnect = controlled.disconnect({ store });
  const gateway = await startLocalGateway({
    handlers: {
      connect: controlled.connect({ store }),
      handler: controlled.handler({ store }),
      disconnect: async (event: WebSocketEvent) => {
        closeCodes.set(event.requestContext.connectionId, (event.requestContext as { disconnectStatusCode?: number }).disconnectStatusCode);
        return disconnect(event);
      },
    },
    maxConnectionMs,
    logger: silentLogger,
  });
  servers.push(gateway);
  return { gateway, store, closeCodes, publisher: controlled.publisher({ store, endpoint: gateway.endpoint }) };
}

/** Connects a client as `userId` and subscribes to the tracked notifications. */
async function subscribedClient(server: Server, userId: string) {
  const before = new Set(server.gateway.connections());
  const client = pool.client(server.gateway.url, { userId });
  const events: { id: string; message: string }[] = [];
  let starts = 0;
  client.onNotification.subscribe(undefined, {
    onStarted: () => starts++,
    onData: (event) => events.push({ id: event.id, message: event.data.message }),
  });
  await waitFor(() => starts === 1, 5000, 'started');
  const connectionId = server.gateway.connections().find((id) => !before.has(id))!;
  return { events, connectionId, starts: () => starts };
}

describe('reconnect notification', () => {
  test('one connection: the client moves to a new connection and resubscribes with lastEventId', async () => {
    const server = await startServer();
    const alice = await subscribedClient(server, 'alice');
    await server.publisher.routes.onNotification.publish({ data: { message: 'one' }, id: 'e1' });
    await waitFor(() => alice.events.length === 1, 5000, 'e1');
    const resumedWithE1 = { name: 'byLastEventId', input: { lastEventId: 'e1' } } as const;
    expect((await server.publisher.routes.onNotification.publish({ data: { message: 'x' }, id: 'e0', filter: resumedWithE1 })).matched).toBe(0);

    const result = await server.publisher.connections.reconnect({ connectionId: alice.connectionId });

    expect(result).toEqual({ matched: 1, succeeded: 1, gone: 0, failed: 0, failures: [] });
    // The client opens a new connection, resubscribes there and, once it is `started`, stops the
    // subscription on the old one and closes it (a graceful move: onStarted does not fire again).
    await waitFor(() => !server.gateway.connections().includes(alice.connectionId), 5000, 'old connection closed');
    expect(server.gateway.connections()).toHaveLength(1);
    expect(server.closeCodes.get(alice.connectionId)).not.toBe(1001);
    await waitFor(async () => (await server.store.getConnection(alice.connectionId)) === undefined, 5000, 'old rows removed');
    const resumed = await server.publisher.routes.onNotification.publish({ data: { message: 'two' }, id: 'e2', filter: resumedWithE1 });
    expect(resumed).toMatchObject({ matched: 1, delivered: 1 });
    await waitFor(() => alice.events.length === 2, 5000, 'e2');
    expect(alice.events.map((event) => event.id)).toEqual(['e1', 'e2']);
  });

  test('by key reaches every connection of the key and only those; { all: true } reaches everyone', async () => {
    const server = await startServer();
    const u1a = await subscribedClient(server, 'u1');
    const u1b = await subscribedClient(server, 'u1');
    const u2 = await subscribedClient(server, 'u2');

    const byKey = await server.publisher.connections.reconnect({ key: 'user:u1' });

    expect(byKey).toMatchObject({ matched: 2, succeeded: 2, failed: 0 });
    const moved = (ids: readonly string[]) =>
      ids.every((id) => !server.gateway.connections().includes(id)) && server.gateway.connections().length === 3;
    await waitFor(() => moved([u1a.connectionId, u1b.connectionId]), 5000, 'u1 moved');
    expect(server.gateway.connections()).toContain(u2.connectionId);
    // Presence follows once the old connections' $disconnect removed their key rows.
    await waitFor(async () => (await server.publisher.connections.count('user:u1')) === 2, 5000, 'u1 presence');
    await expect(server.publisher.connections.count('user:u2')).resolves.toBe(1);
    // Each subscription lives on exactly one connection again.
    expect((await server.publisher.routes.onNotification.publish({ data: { message: 'm' }, id: 'm1' })).matched).toBe(3);

    const current = server.gateway.connections();
    const everyone = await server.publisher.connections.reconnect({ all: true });

    expect(everyone).toMatchObject({ matched: 3, succeeded: 3, failed: 0 });
    await waitFor(() => moved(current), 5000, 'everyone moved');
    expect((await server.publisher.routes.onNotification.publish({ data: { message: 'm' }, id: 'm2' })).matched).toBe(3);
    await waitFor(() => [u1a, u1b, u2].every((client) => client.events.length === 2), 5000, 'm2');
  });
});

describe('rollover', () => {
  test('a client subscribed for three gateway lifetimes is moved before every cut and gets its events once, in order', async () => {
    // A move must finish between olderThanMs and the lifetime: 2.5 s of margin, so that a loaded
    // machine (CI runs two jest workers beside DynamoDB Local) still moves before the cut.
    const lifetimeMs = 4500;
    const server = await startServer(lifetimeMs);
    const rollover = controlled.rollover({
      store: server.store, endpoint: server.gateway.endpoint, olderThanMs: lifetimeMs - 2500, maxConnectionMs: lifetimeMs,
    });
    let stopped = false;
    const rolls = (async () => {
      while (!stopped) {
        await rollover();
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    const client = await subscribedClient(server, 'roller');
    const published: string[] = [];
    // Events published while the client had the same one connection from the publish's start to its end.
    // This route is tracked without a history: an event whose publish races a move's hand-off may
    // reach only the old socket after the new one answered `started`, and the client drops it
    // (docs/runtime.md, "What a server-initiated move guarantees"). Every other event must arrive.
    const steady: string[] = [];
    const until = Date.now() + 3 * lifetimeMs;
    for (let i = 0; Date.now() < until; i++) {
      const id = `e${String(i).padStart(4, '0')}`;
      const before = server.gateway.connections();
      await server.publisher.routes.onNotification.publish({ data: { message: id }, id });
      const after = server.gateway.connections();
      if (before.length === 1 && after.length === 1 && before[0] === after[0]) steady.push(id);
      published.push(id);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const received = () => new Set(client.events.map((event) => event.id));
    try {
      // The rollover keeps running while the last events arrive, so no connection outlives its lifetime.
      await waitFor(() => steady.every((id) => received().has(id)) && received().has(published[published.length - 1]), 5000, 'the events');
    } catch (error) {
      const missing = published.filter((id) => !received().has(id));
      throw new Error(`${(error as Error).message}: missing ${missing.join(', ')} of ${published.length} (${steady.length} steady); closes ${JSON.stringify([...server.closeCodes])}; starts ${client.starts()}`);
    } finally {
      stopped = true;
      await rolls;
    }

    const ids = client.events.map((event) => event.id);
    // Each at most once, in publish order, and only what was published.
    expect(ids).toEqual(published.filter((id) => ids.includes(id)));
    expect(steady.length).toBeGreaterThan(published.length / 2);
    // It moved at least twice, each time before the gateway's cut (1001 Going away), and gracefully.
    expect(client.starts()).toBe(1);
    expect(server.closeCodes.size).toBeGreaterThanOrEqual(2);
    expect([...server.closeCodes.values()]).not.toContain(1001);
  }, 45_000);
});
