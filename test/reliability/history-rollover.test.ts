import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import superjson from 'superjson';
import { WebSocket } from 'ws';
import { quietLogger } from './support/env';
import { dynamodb, type WebSocketEvent } from '../../lambda';
import { silentLogger, startLocalGateway } from '../../lambda/local';
import { historySubscriptions, type HistoryRouter } from '../fixtures/history-router';
import { waitFor } from '../lambda/support/harness';
import { createTestTable, type TestTable } from '../support/dynamodb';

/**
 * The rollover with a history: the gateway cuts connections after 4 s, the rollover handler moves
 * them from 2 s on (reconnect notification, the client resumes on a new connection with
 * `lastEventId`), and events are published at 10 per second to rooms and to everyone, in the
 * local gateway's unordered mode on DynamoDB Local. Over three lifetimes every client receives
 * exactly its events, in order, with no gap and no duplicate, and is never cut by the gateway.
 */
let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('history-rollover');
});
afterAll(() => table.client.destroy());

test('three rollovers at 10 publishes/s: zero gaps, zero duplicates, no connection cut by the gateway', async () => {
  const lifetimeMs = 4000;
  const store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
  const app = historySubscriptions(600).store({ store });
  const logger = quietLogger();
  const closeCodes = new Map<string, number | undefined>();
  const disconnect = app.disconnect({ logger });
  const gateway = await startLocalGateway({
    handlers: {
      connect: app.connect({ logger }),
      handler: app.handler({ logger }),
      disconnect: async (event: WebSocketEvent) => {
        closeCodes.set(event.requestContext.connectionId, (event.requestContext as { disconnectStatusCode?: number }).disconnectStatusCode);
        return disconnect(event);
      },
    },
    maxConnectionMs: lifetimeMs,
    unordered: { maxDelayMs: 10 },
    logger: silentLogger,
  });
  const publisher = app.publisher({ endpoint: gateway.endpoint });
  const rollover = app.rollover({ endpoint: gateway.endpoint, olderThanMs: lifetimeMs - 2000, maxConnectionMs: lifetimeMs });
  const rooms = ['a', 'b', null] as const;
  const start = (await publisher.routes.onEvent.publish({ data: { n: -1, room: null }, filter: { name: 'byRoom', input: { room: 'none' } } })).eventId!;
  const clients = rooms.map((room) => {
    const wsClient = createWSClient({ url: gateway.url, WebSocket: WebSocket as never, retryDelayMs: () => 10 });
    const client = createTRPCClient<HistoryRouter>({ links: [wsLink({ client: wsClient, transformer: superjson })] });
    const inbox: number[] = [];
    const errors: unknown[] = [];
    let starts = 0;
    const subscription = client.onEvent.subscribe({ ...(room === null ? {} : { room }), lastEventId: start }, {
      onData: (event) => void inbox.push(event.data.n),
      onStarted: () => void starts++,
      onError: (error) => void errors.push(error),
    });
    return { room, wsClient, subscription, inbox, errors, starts: () => starts, expected: [] as number[] };
  });
  let rolling = true;
  let rolled = 0;
  const rolls = (async () => {
    while (rolling) {
      rolled += (await rollover()).succeeded;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  try {
    await waitFor(() => clients.every((client) => client.starts() === 1), 5000, 'started');
    // Paced at 10 per second from a fixed start (a slow publish is caught up after), never overlapping:
    // the ordering the history promises is for publishes that do not overlap.
    const begin = Date.now();
    let published = 0;
    while (Date.now() < begin + 3 * lifetimeMs + 500) {
      const n = published++;
      const room = rooms[n % 3];
      const data = { n, room };
      await publisher.routes.onEvent.publish(room === null ? { data } : { data, filter: { name: 'byRoom', input: { room } } });
      for (const client of clients) if (room === null || client.room === room) client.expected.push(n);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, begin + published * 100 - Date.now())));
    }
    if (process.env.HISTORY_ROLLOVER_STATS) process.stderr.write(`published ${published} events in ${Date.now() - begin} ms\n`);
    await waitFor(() => clients.every((client) => client.inbox.length >= client.expected.length), 10_000, 'every event').catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const client of clients) {
      expect({ room: client.room, inbox: client.inbox, errors: client.errors }).toEqual({ room: client.room, inbox: client.expected, errors: [] });
      expect(client.expected.length).toBeGreaterThan(9);
    }
    // Every client moved at least three times, always before the gateway's cut (1001 Going away),
    // and each move was graceful: onStarted fired once.
    expect(rolled).toBeGreaterThanOrEqual(3 * clients.length);
    expect(closeCodes.size).toBeGreaterThanOrEqual(3 * clients.length);
    expect([...closeCodes.values()]).not.toContain(1001);
    for (const client of clients) expect(client.starts()).toBe(1);
  } finally {
    rolling = false;
    await rolls;
    for (const client of clients) {
      client.subscription.unsubscribe();
      void client.wsClient.close();
    }
    await gateway.close();
  }
}, 60_000);
