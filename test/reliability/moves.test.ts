import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import superjson from 'superjson';
import { WebSocket } from 'ws';
import { quietLogger } from './support/env';
import { resubscribeLink } from '../../client';
import { memory, type SubscriptionStore } from '../../lambda';
import { silentLogger, startLocalGateway, type LocalGateway } from '../../lambda/local';
import { historySubscriptions, type HistoryRouter } from '../fixtures/history-router';
import { appSubscriptions, type AppRouter } from '../fixtures/router';
import { waitFor } from '../lambda/support/harness';

/**
 * What a server-initiated move (the reconnect notification; the rollover sends the same) promises,
 * as docs/runtime.md states it: the stock client keeps the old connection until the new one
 * answers `started`, and passes on the old one's events without ids until it is stopped there.
 * Untracked routes: every event arrives, and an event arrives twice only when its publish ran
 * while the client was between two connections. Tracked routes with a history: exactly once, in
 * order. Publishes at 10 per second, a move every 600 ms, with real clients through the gateway.
 */
const RUN_MS = 4_000;
const PUBLISH_EVERY_MS = 100;
const MOVE_EVERY_MS = 600;
const logger = quietLogger();

interface Run {
  /** Each event's number, and whether its publish ran while the client was between connections. */
  readonly published: Array<{ readonly n: number; readonly inMove: boolean }>;
  readonly moves: number;
}

/**
 * Publishes `publish(n)` every 100 ms and moves the client (its only connection on `gateway`) every
 * 600 ms. A publish counts as in a move when the gateway had more than one connection when it
 * started or ended, or a different one.
 */
async function publishWhileMoving(
  gateway: LocalGateway, publish: (n: number) => Promise<unknown>, move: (connectionId: string) => Promise<unknown>,
): Promise<Run> {
  const published: Array<{ n: number; inMove: boolean }> = [];
  let moves = 0;
  let stop = false;
  const mover = (async () => {
    while (!stop) {
      await new Promise((resolve) => setTimeout(resolve, MOVE_EVERY_MS));
      const open = gateway.connections();
      if (!stop && open.length === 1) {
        await move(open[0]);
        moves++;
      }
    }
  })();
  const until = Date.now() + RUN_MS;
  for (let n = 0; Date.now() < until; n++) {
    const before = gateway.connections().join();
    await publish(n);
    const after = gateway.connections().join();
    published.push({ n, inMove: before !== after || before.includes(',') || after.includes(',') });
    await new Promise((resolve) => setTimeout(resolve, PUBLISH_EVERY_MS));
  }
  stop = true;
  await mover;
  return { published, moves };
}

async function start(handlers: { connect: unknown; handler: unknown; disconnect: unknown }): Promise<LocalGateway> {
  return startLocalGateway({ handlers: handlers as never, logger: silentLogger });
}

test('untracked route: across moves every event arrives, and only an event published during a move can arrive twice', async () => {
  const store: SubscriptionStore = memory();
  const gateway = await start({
    connect: appSubscriptions.connect({ store, logger }),
    handler: appSubscriptions.handler({ store, logger }),
    disconnect: appSubscriptions.disconnect({ store, logger }),
  });
  const publisher = appSubscriptions.publisher({ store, endpoint: gateway.endpoint });
  const wsClient = createWSClient({ url: gateway.url, WebSocket: WebSocket as never, connectionParams: { userId: 'mover' }, retryDelayMs: () => 10 });
  const trpc = createTRPCClient<AppRouter>({ links: [resubscribeLink(), wsLink({ client: wsClient, transformer: superjson })] });
  const received: number[] = [];
  let starts = 0;
  const subscription = trpc.onMessage.subscribe({ room: 'moves' }, { onStarted: () => starts++, onData: (message) => received.push(Number(message.text)) });
  await waitFor(() => starts === 1, 5000, 'started');
  try {
    const run = await publishWhileMoving(
      gateway,
      (n) => publisher.routes.onMessage.publish({ data: { text: String(n), at: new Date(0), from: 'test' }, filter: { name: 'byRoom', input: { room: 'moves' } } }),
      (connectionId) => publisher.connections.reconnect({ connectionId }),
    );
    await waitFor(() => run.published.every(({ n }) => received.includes(n)), 5000, 'every event').catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));

    const countOf = (n: number) => received.filter((value) => value === n).length;
    expect(run.moves).toBeGreaterThanOrEqual(3);
    expect(run.published.filter(({ n }) => countOf(n) === 0)).toEqual([]);
    // A duplicate is an event whose publish found the subscription on both connections.
    expect(run.published.filter(({ n, inMove }) => countOf(n) > 1 && !inMove)).toEqual([]);
    expect(run.published.filter(({ n }) => countOf(n) > 2)).toEqual([]);
    expect(starts).toBe(1);
  } finally {
    subscription.unsubscribe();
    await wsClient.close();
    await gateway.close();
  }
}, 30_000);

test('tracked route with a history: across the same moves every event arrives exactly once, in order', async () => {
  const app = historySubscriptions(600).store({ store: memory() });
  const gateway = await start({ connect: app.connect({ logger }), handler: app.handler({ logger }), disconnect: app.disconnect({ logger }) });
  const publisher = app.publisher({ endpoint: gateway.endpoint });
  const wsClient = createWSClient({ url: gateway.url, WebSocket: WebSocket as never, retryDelayMs: () => 10 });
  const trpc = createTRPCClient<HistoryRouter>({ links: [resubscribeLink(), wsLink({ client: wsClient, transformer: superjson })] });
  const start0 = (await publisher.routes.onEvent.publish({ data: { n: -1, room: null } })).eventId!;
  const received: number[] = [];
  const subscription = trpc.onEvent.subscribe({ lastEventId: start0 }, { onData: (event) => received.push(event.data.n) });
  try {
    await waitFor(() => gateway.connections().length === 1, 5000, 'connected');
    const run = await publishWhileMoving(
      gateway,
      (n) => publisher.routes.onEvent.publish({ data: { n, room: null } }),
      (connectionId) => publisher.connections.reconnect({ connectionId }),
    );
    await waitFor(() => received.length >= run.published.length, 5000, 'every event').catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(run.moves).toBeGreaterThanOrEqual(3);
    expect(received).toEqual(run.published.map(({ n }) => n));
  } finally {
    subscription.unsubscribe();
    await wsClient.close();
    await gateway.close();
  }
}, 30_000);
