import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import superjson from 'superjson';
import { WebSocket } from 'ws';
import { quietLogger } from './env';
import type { SubscriptionStore } from '../../../lambda';
import { silentLogger, startLocalGateway } from '../../../lambda/local';
import { appSubscriptions, type AppRouter } from '../../fixtures/router';
import { seeded as random } from '../../support/seeded';

/** Size of a load run. */
export interface LoadSize {
  /** Concurrent clients (each holds 1-3 subscriptions). */
  readonly clients: number;
  /** Of which real `@trpc/client` clients; the rest speak the protocol over raw `ws`. */
  readonly trpcClients: number;
  /** Publishes, mixing filtered, prefix and broadcast. */
  readonly publishes: number;
  /** Seed of the scenario (users, rooms, subscriptions, publishes). */
  readonly seed: number;
}

/** What a run measured. */
export interface LoadFigures {
  readonly clients: number;
  readonly subscriptions: number;
  readonly publishes: number;
  readonly byKind: Record<string, number>;
  readonly expectedDeliveries: number;
  readonly receivedDeliveries: number;
  /** Deliveries the library reported (`delivered` summed over publishes). */
  readonly reportedDelivered: number;
  readonly missing: string[];
  readonly unexpected: string[];
  readonly duplicates: string[];
  readonly failures: number;
  readonly connectMs: number;
  readonly publishMs: number;
  readonly memory: Record<'baseline' | 'connected' | 'published' | 'closed', { heapUsedMB: number; rssMB: number }>;
}

/** A subscription of a client, as the scenario planned it. */
interface PlannedSubscription {
  readonly id: number;
  readonly path: 'onMessage' | 'chat.onTyping';
  readonly room?: string;
}

interface PlannedClient {
  readonly index: number;
  readonly userId: string;
  readonly trpc: boolean;
  readonly subscriptions: PlannedSubscription[];
}

type PlannedPublish =
  | { readonly kind: 'room'; readonly room: string }
  | { readonly kind: 'user-room'; readonly userId: string; readonly room: string }
  | { readonly kind: 'user-prefix'; readonly userId: string }
  | { readonly kind: 'broadcast' }
  | { readonly kind: 'typing-user'; readonly userId: string }
  | { readonly kind: 'typing-broadcast' };

/** Values that collide under a naive key encoding: prefixes, separators, unicode, empty. */
const ROOM_STEMS = ['r1', 'r10', 'r1#', 'r1;', '#', '', 'ü', 'r1\\', 'R1'];
const USER_STEMS = ['u1', 'u10', 'u1#', 'u', '', 'ü#1'];

/** Plans clients, subscriptions and publishes, and computes who must receive what. */
function plan(size: LoadSize) {
  const rand = random(size.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)];
  const rooms = [...ROOM_STEMS, ...Array.from({ length: Math.max(8, Math.floor(size.clients / 40)) }, (_, i) => `room-${i}`)];
  const users = [...USER_STEMS, ...Array.from({ length: Math.max(10, Math.floor(size.clients / 4)) }, (_, i) => `user-${i}`)];
  const clients: PlannedClient[] = Array.from({ length: size.clients }, (_unused, index) => {
    const count = 1 + Math.floor(rand() * 3);
    const subscriptions: PlannedSubscription[] = Array.from({ length: count }, (_, i) =>
      rand() < 0.8 ? { id: i + 1, path: 'onMessage', room: pick(rooms) } : { id: i + 1, path: 'chat.onTyping' });
    return { index, userId: pick(users), trpc: index < size.trpcClients, subscriptions };
  });
  const publishes: PlannedPublish[] = Array.from({ length: size.publishes }, (_, i): PlannedPublish => {
    const roll = i % 10;
    if (roll === 0) return { kind: 'broadcast' };
    if (roll === 1) return { kind: 'typing-broadcast' };
    if (roll <= 4) return { kind: 'room', room: pick(rooms) };
    if (roll <= 6) return { kind: 'user-room', userId: pick(users), room: pick(rooms) };
    if (roll <= 8) return { kind: 'user-prefix', userId: pick(users) };
    return { kind: 'typing-user', userId: pick(users) };
  });
  // The expected matrix, from the plan alone (not from the library's matching).
  const expected = new Set<string>();
  publishes.forEach((publish, p) => {
    for (const client of clients) {
      for (const subscription of client.subscriptions) {
        const match = (() => {
          switch (publish.kind) {
            case 'broadcast': return subscription.path === 'onMessage';
            case 'typing-broadcast': return subscription.path === 'chat.onTyping';
            case 'room': return subscription.path === 'onMessage' && subscription.room === publish.room;
            case 'user-room': return subscription.path === 'onMessage' && client.userId === publish.userId && subscription.room === publish.room;
            case 'user-prefix': return subscription.path === 'onMessage' && client.userId === publish.userId;
            case 'typing-user': return subscription.path === 'chat.onTyping' && client.userId === publish.userId;
          }
        })();
        if (match) expected.add(`${client.index}/${subscription.id}/p${p}`);
      }
    }
  });
  return { clients, publishes, expected };
}

/** A connected client and what it received (`subscriptionId/payload`). */
interface LiveClient {
  readonly received: string[];
  close(): void;
}

/** Raw `ws` client speaking the tRPC protocol: connectionParams, one batch of subscriptions. */
async function rawClient(url: string, client: PlannedClient): Promise<LiveClient> {
  const socket = new WebSocket(`${url}/?connectionParams=1`);
  const received: string[] = [];
  const pending = new Set(client.subscriptions.map((s) => s.id));
  let onStarted: (() => void) | undefined;
  let onError: ((error: Error) => void) | undefined;
  socket.on('message', (data) => {
    const message = JSON.parse(data.toString()) as { id: number; result?: { type: string; data?: unknown }; error?: unknown };
    if (message.result?.type === 'started') {
      pending.delete(message.id);
      if (pending.size === 0) onStarted?.();
    } else if (message.result?.type === 'data') {
      const value = superjson.deserialize(message.result.data as never) as { text: string } | string;
      received.push(`${message.id}/${typeof value === 'string' ? value : value.text}`);
    } else {
      onError?.(new Error(`client ${client.index}: unexpected frame ${data.toString().slice(0, 200)}`));
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const started = new Promise<void>((resolve, reject) => {
    onStarted = resolve;
    onError = reject;
  });
  socket.send(JSON.stringify({ method: 'connectionParams', data: { userId: client.userId } }));
  socket.send(JSON.stringify(client.subscriptions.map((s) => ({
    id: s.id,
    method: 'subscription',
    params: { path: s.path, input: superjson.serialize(s.path === 'onMessage' ? { room: s.room } : undefined) },
  }))));
  await started;
  return { received, close: () => socket.close() };
}

/** A real `@trpc/client` client. */
async function trpcClient(url: string, client: PlannedClient): Promise<LiveClient> {
  const wsClient = createWSClient({
    url, WebSocket: WebSocket as unknown as typeof globalThis.WebSocket, connectionParams: { userId: client.userId },
  });
  const trpc = createTRPCClient<AppRouter>({ links: [wsLink({ client: wsClient, transformer: superjson })] });
  const received: string[] = [];
  await Promise.all(client.subscriptions.map((s) => new Promise<void>((resolve, reject) => {
    const handlers = { onStarted: () => resolve(), onError: reject };
    if (s.path === 'onMessage') trpc.onMessage.subscribe({ room: s.room! }, { ...handlers, onData: (m) => received.push(`${s.id}/${m.text}`) });
    else trpc.chat.onTyping.subscribe(undefined, { ...handlers, onData: (text) => received.push(`${s.id}/${text}`) });
  })));
  return { received, close: () => void wsClient.close() };
}

/** A full garbage collection, so heap figures compare live data (jest does not pass --expose-gc). */
const collectGarbage: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

function memoryNow(): { heapUsedMB: number; rssMB: number } {
  collectGarbage();
  const usage = process.memoryUsage();
  return { heapUsedMB: Math.round(usage.heapUsed / 1048576), rssMB: Math.round(usage.rss / 1048576) };
}

/** Runs `tasks` with at most `limit` in flight. */
async function bounded<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await task(items[next++]);
  }));
}

/**
 * Connects `size.clients` clients through the local gateway into the example app's handlers,
 * publishes `size.publishes` messages and compares what every client received with the
 * expected matrix. Loopback only; everything runs in this process.
 */
export async function runLoad(size: LoadSize, store: SubscriptionStore): Promise<LoadFigures> {
  const { clients, publishes, expected } = plan(size);
  const logger = quietLogger();
  // The gateway, the handlers, every client and the test runner share this process and, in CI, two
  // cores: under this load one loopback post can take seconds, which the production timeouts
  // (tested in the fault suites) would count as a failed delivery. The load test is about exactly
  // once, so it gives the Management API calls room.
  const timeouts = { connectionTimeoutMs: 10_000, requestTimeoutMs: 30_000, callTimeoutMs: 60_000 };
  const baseline = memoryNow();
  const gateway = await startLocalGateway({
    handlers: {
      connect: appSubscriptions.connect({ store, logger }),
      handler: appSubscriptions.handler({ store, logger, timeouts }),
      disconnect: appSubscriptions.disconnect({ store, logger }),
    },
    logger: silentLogger,
  });
  const live: LiveClient[] = new Array(clients.length);
  try {
    const connectStart = Date.now();
    await bounded(clients, 50, async (client) => {
      live[client.index] = client.trpc ? await trpcClient(gateway.url, client) : await rawClient(gateway.url, client);
    });
    const connectMs = Date.now() - connectStart;
    const connected = memoryNow();

    const publisher = appSubscriptions.publisher({ endpoint: gateway.endpoint, store, logger, timeouts });
    const data = (p: number) => ({ text: `p${p}`, at: new Date(0), from: 'load' });
    let reportedDelivered = 0;
    let failures = 0;
    const publishStart = Date.now();
    await bounded(publishes.map((publish, p) => ({ publish, p })), 4, async ({ publish, p }) => {
      const result = await (() => {
        switch (publish.kind) {
          case 'broadcast': return publisher.routes.onMessage.publish({ data: data(p) });
          case 'typing-broadcast': return publisher.routes.chat.onTyping.publish({ data: `p${p}` });
          case 'room': return publisher.routes.onMessage.publish({ data: data(p), filter: { name: 'byRoom', input: { room: publish.room } } });
          case 'user-room': return publisher.routes.onMessage.publish({
            data: data(p), filter: { name: 'byUserAndRoom', ctx: { userId: publish.userId }, input: { room: publish.room } },
          });
          case 'user-prefix': return publisher.routes.onMessage.publish({ data: data(p), filter: { name: 'byUserAndRoom', ctx: { userId: publish.userId } } });
          case 'typing-user': return publisher.routes.chat.onTyping.publish({ data: `p${p}`, filter: { name: 'byUser', ctx: { userId: publish.userId } } });
        }
      })();
      reportedDelivered += result.delivered;
      failures += result.failed + result.gone;
    });
    const publishMs = Date.now() - publishStart;
    const count = () => live.reduce((sum, client) => sum + client.received.length, 0);
    const deadline = Date.now() + 30_000;
    while (count() < expected.size && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    // Anything extra would arrive right behind: give it a moment.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const published = memoryNow();

    const seen = new Map<string, number>();
    live.forEach((client, index) => client.received.forEach((entry) => {
      const key = `${index}/${entry}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }));
    const missing = [...expected].filter((key) => !seen.has(key));
    const unexpected = [...seen.keys()].filter((key) => !expected.has(key));
    const duplicates = [...seen].filter(([, times]) => times > 1).map(([key]) => key);

    live.forEach((client) => client.close());
    await gateway.close();
    const byKind: Record<string, number> = {};
    for (const publish of publishes) byKind[publish.kind] = (byKind[publish.kind] ?? 0) + 1;
    return {
      clients: clients.length,
      subscriptions: clients.reduce((sum, client) => sum + client.subscriptions.length, 0),
      publishes: publishes.length,
      byKind,
      expectedDeliveries: expected.size,
      receivedDeliveries: count(),
      reportedDelivered,
      missing,
      unexpected,
      duplicates,
      failures,
      connectMs,
      publishMs,
      memory: { baseline, connected, published, closed: memoryNow() },
    };
  } finally {
    live.forEach((client) => client?.close());
    await gateway.close();
  }
}
