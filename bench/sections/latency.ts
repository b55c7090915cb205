/**
 * 2. Subscribe-to-`started` and publish-to-receive latency, p50/p95: the library through the local
 * gateway (DynamoDB Local store, and the memory store to separate the store's share) vs tRPC's
 * `applyWSSHandler` in-process. One real `@trpc/client` per server, samples taken one at a time.
 */
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import superjson from 'superjson';
import { WebSocket } from 'ws';
import type { AppRouter, ChatMessage } from '../../example/app-router';
import { appSubscriptions } from '../../example/app-router';
import { dynamodb, memory, type SubscriptionStore } from '../../lambda';
import { createSubscriptionTable, silentLogger, startLocalGateway } from '../../lambda/local';
import type { Budget } from '../support/budget';
import type { BenchEnv } from '../support/env';
import { exampleHandlers } from '../support/example-app';
import { fmt, quantile, ratio, table } from '../support/stats';
import { startFloorServer } from '../support/trpc-floor';

interface Server {
  readonly url: string;
  publish(room: string, message: ChatMessage): Promise<unknown> | void;
  close(): Promise<void>;
}

export interface LatencyRow {
  readonly name: string;
  readonly startedMs: number[];
  readonly receiveMs: number[];
}

const SAMPLE_TIMEOUT_MS = 10_000;

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`latency: no ${what} within ${SAMPLE_TIMEOUT_MS} ms`)), SAMPLE_TIMEOUT_MS); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function sample(name: string, server: Server, samples: number): Promise<LatencyRow> {
  const wsClient = createWSClient({ url: server.url, WebSocket: WebSocket as unknown as typeof globalThis.WebSocket, retryDelayMs: () => 50 });
  const client = createTRPCClient<AppRouter>({ links: [wsLink({ client: wsClient, transformer: superjson })] });
  const startedMs: number[] = [];
  const receiveMs: number[] = [];
  try {
    await withTimeout(client.whoami.query(), 'query answer');
    // Two warm-up rounds, not counted.
    for (let i = -2; i < samples; i++) {
      const room = `latency-${i}`;
      let onData: (message: ChatMessage) => void = () => undefined;
      const data = new Promise<ChatMessage>((resolve) => { onData = resolve; });
      const t0 = performance.now();
      let subscription: { unsubscribe(): void } | undefined;
      await withTimeout(new Promise<void>((resolve, reject) => {
        subscription = client.onMessage.subscribe({ room }, { onStarted: () => resolve(), onData: (message) => onData(message), onError: reject });
      }), 'started');
      const t1 = performance.now();
      await server.publish(room, { text: 'ping', at: new Date(), from: 'bench' });
      const t2 = performance.now();
      await withTimeout(data, 'data');
      const t3 = performance.now();
      subscription?.unsubscribe();
      if (i < 0) continue;
      startedMs.push(t1 - t0);
      // From the call that publishes: the library's publish resolves after PostToConnection, so the
      // frame may arrive before it returns; the emitter's emit is synchronous.
      receiveMs.push(Math.max(t3, t2) - t1);
    }
  } finally {
    void wsClient.close();
  }
  return { name, startedMs, receiveMs };
}

async function libraryServer(env: BenchEnv, store: SubscriptionStore): Promise<Server> {
  const gateway = await startLocalGateway({
    handlers: exampleHandlers(store, env.logger),
    logger: silentLogger,
  });
  const publisher = appSubscriptions.publisher({ endpoint: gateway.endpoint, store, logger: env.logger });
  return {
    url: gateway.url,
    publish: async (room, message) => {
      const result = await publisher.routes.onMessage.publish({ data: message, filter: { name: 'byRoom', input: { room } } });
      if (result.delivered !== 1) throw new Error(`latency: publish delivered ${result.delivered}`);
    },
    close: () => gateway.close(),
  };
}

export async function runLatency(env: BenchEnv): Promise<LatencyRow[]> {
  const samples = env.quick ? 40 : 200;
  const client = env.client();
  const tableName = 'bench-latency';
  await createSubscriptionTable({ client, tableName });
  const rows: LatencyRow[] = [];
  const servers: Array<[string, () => Promise<Server>]> = [
    ['library, DynamoDB Local store, via local gateway', () => libraryServer(env, dynamodb({ tableName, dynamoDBClient: client }))],
    ['library, memory store, via local gateway', () => libraryServer(env, memory())],
    ['tRPC applyWSSHandler, in-process EventEmitter', startFloorServer],
  ];
  for (const [name, start] of servers) {
    const server = await start();
    try {
      rows.push(await sample(name, server, samples));
    } finally {
      await server.close();
    }
    env.progress(`  ${name}: done`);
  }
  return rows;
}

export function renderLatency(rows: LatencyRow[]): { markdown: string; budgets: Budget[] } {
  const floor = rows[rows.length - 1];
  const floorStarted = quantile(floor.startedMs, 0.5);
  const floorReceive = quantile(floor.receiveMs, 0.5);
  const budgets: Budget[] = rows.slice(0, -1).map((row) => {
    const p50 = quantile(row.startedMs, 0.5);
    return [`subscribe->started p50 within 3x of tRPC applyWSSHandler (${row.name})`, `${fmt(p50, 2)} ms vs ${fmt(floorStarted, 2)} ms: ${ratio(p50, floorStarted)}`, p50 <= 3 * floorStarted];
  });
  const markdown = table(
    ['server', 'samples', 'subscribe->started p50 ms', 'p95 ms', 'p50 vs tRPC', 'publish->receive p50 ms', 'p95 ms', 'p50 vs tRPC'],
    rows.map((row) => [
      row.name, String(row.startedMs.length),
      fmt(quantile(row.startedMs, 0.5), 2), fmt(quantile(row.startedMs, 0.95), 2), ratio(quantile(row.startedMs, 0.5), floorStarted),
      fmt(quantile(row.receiveMs, 0.5), 2), fmt(quantile(row.receiveMs, 0.95), 2), ratio(quantile(row.receiveMs, 0.5), floorReceive),
    ]),
  );
  return { markdown, budgets };
}
