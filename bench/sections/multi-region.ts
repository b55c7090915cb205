/**
 * 5. Multi-region (issue 15): two local gateways as two Regions on one DynamoDB Local table (the
 * global table's replicas), real WebSocket clients. Cross-region round trips are simulated by
 * delaying every Management API request to the other Region by a fixed RTT.
 *
 * - direct: the design shipped. A publish in Region A queries its replica and posts to each
 *   subscriber of Region B through B's API (each post pays the RTT; `concurrency` in flight).
 * - forwarded: the alternative (per-Region tables, forwarding through EventBridge), emulated as
 *   one hop of RTT/2 then B's own publisher fanning out locally. EventBridge's own delivery and the
 *   receiving Lambda's invocation are not included (they cannot be measured locally), so this is
 *   a lower bound for that design.
 * - down: Region B accepts connections but never answers (a Region cut off): how long the
 *   publish and A's own deliveries take with the remote clients' timeouts and the skip after
 *   repeated unanswered deliveries.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { initTRPC } from '@trpc/server';
import superjson from 'superjson';
import * as z from 'zod/mini';
import { dynamodb, initSubscriptions, type PublishResult, type SubscriptionStore } from '../../lambda';
import { createSubscriptionTable, silentLogger, startLocalGateway, type LambdaStyleHandler, type LocalGateway } from '../../lambda/local';
import { startCrowd } from '../support/crowd';
import type { BenchEnv } from '../support/env';
import { fmt, median, table, wallClockMs } from '../support/stats';

/** A cross-Region round trip (eu-west-1 <-> us-east-1 is about 70-80 ms). */
const RTT_MS = 80;

type ClientFactory = (endpoint: string) => ApiGatewayManagementApiClient;

function regionalApp(region: string, endpoints: Record<string, string>, store: SubscriptionStore, env: BenchEnv) {
  const subscriptions = initSubscriptions();
  // The crowd's clients speak superjson, as the example app does.
  const t = initTRPC.create({ transformer: superjson });
  const router = t.router({ onMessage: t.procedure.input(z.object({ room: z.string() })).subscription(subscriptions.resolver<string>()) });
  const app = subscriptions.router({ router }).store({ store }).regions({ region, endpoints })
    .routes.onMessage.filter({ name: 'byRoom', input: { room: true } });
  const publish = (room: string, options: { managementClient?: ClientFactory; concurrency?: number } = {}): Promise<PublishResult> =>
    app.publisher({ logger: { error: () => undefined, warn: env.logger.warn }, ...options })
      .routes.onMessage.publish({ data: 'hello', filter: { name: 'byRoom', input: { room } } });
  return { handlers: { connect: app.connect(), handler: app.handler(), disconnect: app.disconnect() }, publish };
}

/** Clients that add `rttMs` before every request to `slowEndpoint` and count requests per endpoint. */
function clientFactory(slowEndpoint: string, rttMs: number, calls: Map<string, number>): ClientFactory {
  const clients = new Map<string, ApiGatewayManagementApiClient>();
  return (endpoint) => {
    let client = clients.get(endpoint);
    if (!client) {
      client = new ApiGatewayManagementApiClient({ endpoint, maxAttempts: 1 });
      client.middlewareStack.add((next) => async (args) => {
        calls.set(endpoint, (calls.get(endpoint) ?? 0) + 1);
        if (endpoint === slowEndpoint) await new Promise((resolve) => setTimeout(resolve, rttMs));
        return next(args);
      }, { step: 'finalizeRequest', name: 'simulatedRegionRtt' });
      clients.set(endpoint, client);
    }
    return client;
  };
}

export interface MultiRegionRow {
  readonly subscribers: number;
  readonly localMs: number;
  readonly directMs: number;
  readonly direct200Ms: number;
  readonly forwardedMs: number;
  readonly queries: number;
  readonly remotePosts: number;
}

export interface MultiRegionResult {
  readonly rows: MultiRegionRow[];
  readonly down: {
    readonly publishMs: number;
    readonly localLastMs: number;
    readonly localSubscribers: number;
    readonly remoteRows: number;
    readonly failures: string;
  };
}

export async function runMultiRegion(env: BenchEnv): Promise<MultiRegionResult> {
  const client = env.client();
  const tableName = `bench-multi-region-${Date.now()}`;
  await createSubscriptionTable({ client, tableName });
  let queries = 0;
  client.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === 'QueryCommand') queries++;
    return next(args);
  }, { step: 'initialize', name: 'countQueries' });
  const store = dynamodb({ tableName, dynamoDBClient: client });
  const apps = new Map<string, ReturnType<typeof regionalApp>>();
  const gateways = new Map<string, LocalGateway>();
  for (const name of ['eu', 'us']) {
    const lazy = (route: 'connect' | 'handler' | 'disconnect'): LambdaStyleHandler =>
      (event, context) => apps.get(name)!.handlers[route](event, context);
    const handlers = { connect: lazy('connect'), handler: lazy('handler'), disconnect: lazy('disconnect') };
    const gateway = await startLocalGateway({ handlers, logger: silentLogger });
    gateways.set(name, gateway);
    env.defer(() => gateway.close());
  }
  const endpoints = Object.fromEntries([...gateways].map(([name, gateway]) => [name, gateway.endpoint]));
  for (const name of gateways.keys()) apps.set(name, regionalApp(name, endpoints, store, env));
  const eu = apps.get('eu')!;
  const us = apps.get('us')!;
  const usEndpoint = gateways.get('us')!.endpoint;

  const crowd = await startCrowd();
  const rows: MultiRegionRow[] = [];
  const sizes = env.quick ? [1, 100, 500] : [1, 100, 1_000];
  const repetitions = env.quick ? 3 : 5;
  try {
    for (const subscribers of sizes) {
      const room = `room-${subscribers}`;
      await crowd.join(room, gateways.get('us')!.url, subscribers, 'onMessage', { room });
      const measure = async (publish: () => Promise<PublishResult>): Promise<number> => {
        const samples: number[] = [];
        for (let rep = -1; rep < repetitions; rep++) {
          const { received } = await crowd.arm(room, subscribers, 120_000);
          const t0 = wallClockMs();
          const result = await publish();
          const got = await received;
          if (result.delivered !== subscribers || got.received !== subscribers) {
            throw new Error(`multi-region N=${subscribers}: ${result.delivered} delivered, ${got.received} received (${JSON.stringify(result.failedRegions)})`);
          }
          if (rep >= 0) samples.push(got.lastAt - t0);
        }
        return median(samples);
      };
      const calls = new Map<string, number>();
      const delayed = clientFactory(usEndpoint, RTT_MS, calls);
      const localMs = await measure(() => us.publish(room));
      queries = 0;
      const directMs = await measure(() => eu.publish(room, { managementClient: delayed }));
      const queriesPerPublish = queries / (repetitions + 1);
      const remotePosts = (calls.get(usEndpoint) ?? 0) / (repetitions + 1);
      const direct200Ms = await measure(() => eu.publish(room, { managementClient: delayed, concurrency: 200 }));
      // Per-Region tables: Europe's own table holds none of these subscribers, so Europe only
      // forwards (one hop of RTT/2) and the US publisher fans out locally.
      const forwardedMs = await measure(async () => {
        await new Promise((resolve) => setTimeout(resolve, RTT_MS / 2));
        return us.publish(room);
      });
      rows.push({ subscribers, localMs, directMs, direct200Ms, forwardedMs, queries: queriesPerPublish, remotePosts });
      env.progress(`  multi-region N=${subscribers}: local ${fmt(localMs)} ms, direct ${fmt(directMs)} ms, forwarded ${fmt(forwardedMs)} ms`);
    }
  } finally {
    await crowd.close();
  }

  // Region down: the US API accepts connections and never answers.
  const sockets = new Set<Socket>();
  const dead = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
  const deadEndpoint = `http://127.0.0.1:${(dead.address() as AddressInfo).port}/prod`;
  const euDown = regionalApp('eu', { eu: gateways.get('eu')!.endpoint, us: deadEndpoint }, store, env);
  const localSubscribers = 100;
  const remoteRows = 100;
  const expireAt = Math.floor(Date.now() / 1000) + 7800;
  for (let i = 0; i < remoteRows; i++) {
    await store.putConnection({ connectionId: `stale-${i}`, connectedAt: Date.now(), expireAt, awaitingConnectionParams: false, connect: {}, region: 'us' });
    await store.addSubscription({ connectionId: `stale-${i}`, subscriptionId: 1, path: 'onMessage', filters: [{ name: 'byRoom', values: ['down'] }], expireAt, region: 'us' });
  }
  const crowd2 = await startCrowd();
  try {
    await crowd2.join('down', gateways.get('eu')!.url, localSubscribers, 'onMessage', { room: 'down' });
    const { received } = await crowd2.arm('down', localSubscribers, 60_000);
    const t0 = wallClockMs();
    const result = await euDown.publish('down');
    const publishMs = wallClockMs() - t0;
    const got = await received;
    const names = new Map<string, number>();
    for (const failure of result.failures) names.set(failure.name, (names.get(failure.name) ?? 0) + 1);
    return {
      rows,
      down: {
        publishMs,
        localLastMs: got.lastAt - t0,
        localSubscribers: got.received,
        remoteRows,
        failures: [...names].map(([name, count]) => `${count} ${name}`).join(', '),
      },
    };
  } finally {
    await crowd2.close();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => dead.close(resolve));
  }
}

export function renderMultiRegion(result: MultiRegionResult): string {
  const rows = result.rows.map((row) => [
    fmt(row.subscribers, 0), fmt(row.localMs), fmt(row.directMs), fmt(row.direct200Ms), fmt(row.forwardedMs),
    fmt(row.queries), fmt(row.remotePosts, 0),
  ]);
  const { down } = result;
  return [
    `Publish in one Region to N subscribers connected in the other, simulated RTT ${RTT_MS} ms; time until the last client had the message (median).`,
    '',
    table([
      'N (remote)', 'same Region ms', 'direct ms (concurrency 50)', 'direct ms (concurrency 200)', 'forwarded ms (lower bound)',
      'Query requests / publish', 'cross-Region posts / publish',
    ], rows),
    '',
    `Region down (its API accepts connections, never answers): ${down.remoteRows} subscribers there, ${down.localSubscribers} in the publishing Region; `
      + `the publish returned after ${fmt(down.publishMs)} ms, the last local client had the message after ${fmt(down.localLastMs)} ms; failures: ${down.failures}.`,
  ].join('\n');
}
