/**
 * 2. Latency, p50/p95. Subscribe-to-`started` and publish-to-receive with one real `@trpc/client`
 * per server, samples taken one at a time: the library through the local gateway (DynamoDB Local
 * store, and the memory store to separate the store's share) vs tRPC's `applyWSSHandler`
 * in-process, and vs its floor: the same rows written by one bare request from this process to
 * the same DynamoDB Local, sampled alternately with the library's samples. Then the rest of the
 * connection's life (connect, stop, disconnect) with a raw client, each against its own floor.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import superjson from 'superjson';
import { WebSocket } from 'ws';
import type { AppRouter, ChatMessage } from '../../example/app-router';
import { appSubscriptions } from '../../example/app-router';
import { dynamodb, memory, type SubscriptionStore } from '../../lambda';
import { createSubscriptionTable, silentLogger, startLocalGateway } from '../../lambda/local';
import { apiGatewayStyleId } from '../../lambda/local/ids';
import type { Budget } from '../support/budget';
import type { BenchEnv } from '../support/env';
import { exampleHandlers } from '../support/example-app';
import { LifecycleFloor, type FloorRequest } from '../support/floors';
import { fmt, quantile, ratio, table } from '../support/stats';
import { startFloorServer } from '../support/trpc-floor';

interface Server {
  readonly url: string;
  publish(room: string, message: ChatMessage): Promise<unknown> | void;
  /** Resolves once the store has finished the stops sent so far (the next sample starts on a quiet store). */
  stopsSettled(): Promise<void>;
  /** The same rows as a subscribe of `room`, written by one bare request (DynamoDB store only). */
  floorSubscribe?(room: string): { send: FloorRequest; undo: FloorRequest };
  close(): Promise<void>;
}

export interface LatencyRow {
  readonly name: string;
  readonly startedMs: number[];
  readonly receiveMs: number[];
  /** The floor's samples, taken alternately with `startedMs` (DynamoDB store only). */
  readonly floorStartedMs?: number[];
}

/** One operation of a connection's life, the library's samples beside its floor's. */
export interface LifecycleRow {
  readonly operation: string;
  readonly libraryMs: number[];
  readonly floorMs: number[];
  /** The library's DynamoDB requests for the operation (last sample). */
  readonly libraryRequests: string;
  readonly floorRequests: string;
  /** The same operation with the memory store: the gateway's and the handlers' own share. */
  readonly protocolMs: number[];
}

export interface LatencyResult {
  readonly rows: LatencyRow[];
  readonly lifecycle: LifecycleRow[];
}

const SAMPLE_TIMEOUT_MS = 10_000;
/** Budget of a library operation against its floor: p50 within 1.5x, plus 1 ms for the protocol. */
const FLOOR_FACTOR = 1.5;
const PROTOCOL_MS = 1;

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`latency: no ${what} within ${SAMPLE_TIMEOUT_MS} ms`)), SAMPLE_TIMEOUT_MS); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await run();
  return performance.now() - t0;
}

/** A progress line every this many samples: a slow machine must not look like a stalled run. */
const PROGRESS_EVERY = 50;

async function sample(env: BenchEnv, name: string, server: Server, samples: number): Promise<LatencyRow> {
  const wsClient = createWSClient({ url: server.url, WebSocket: WebSocket as unknown as typeof globalThis.WebSocket, retryDelayMs: () => 50 });
  const client = createTRPCClient<AppRouter>({ links: [wsLink({ client: wsClient, transformer: superjson })] });
  const startedMs: number[] = [];
  const receiveMs: number[] = [];
  const floorStartedMs: number[] = [];
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
      // The stop's requests would otherwise overlap the next subscribe (stop has its own floor below).
      await withTimeout(server.stopsSettled(), 'stop');
      // The floor's sample right after the library's, so that both see the same machine.
      const floor = server.floorSubscribe?.(room);
      const floorMs = floor ? await timed(floor.send) : undefined;
      await floor?.undo();
      if (i > 0 && i % PROGRESS_EVERY === 0) env.progress(`  ${name}: ${i} samples`);
      if (i < 0) continue;
      startedMs.push(t1 - t0);
      if (floorMs !== undefined) floorStartedMs.push(floorMs);
      // From the call that publishes: the library's publish resolves after PostToConnection, so the
      // frame may arrive before it returns; the emitter's emit is synchronous.
      receiveMs.push(Math.max(t3, t2) - t1);
    }
  } finally {
    void wsClient.close();
  }
  return { name, startedMs, receiveMs, ...(server.floorSubscribe ? { floorStartedMs } : {}) };
}

/** The store, with a promise of the completion of the stops sent so far. */
function trackStops(store: SubscriptionStore): { store: SubscriptionStore; settled(): Promise<void> } {
  let pending: Promise<unknown> = Promise.resolve();
  let started = 0;
  let waiting: (() => void) | undefined;
  const tracked = new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'removeSubscription') {
        return (...args: Parameters<SubscriptionStore['removeSubscription']>) => {
          started++;
          const result = target.removeSubscription(...args);
          pending = Promise.allSettled([pending, result]);
          waiting?.();
          return result;
        };
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  let awaited = 0;
  return {
    store: tracked,
    // A stop the client sent may still be on its way through the gateway: wait for it to start first.
    settled: async () => {
      awaited++;
      while (started < awaited) await new Promise<void>((resolve) => { waiting = resolve; });
      waiting = undefined;
      await pending;
    },
  };
}

async function libraryServer(env: BenchEnv, base: SubscriptionStore, floor?: LifecycleFloor): Promise<Server> {
  const { store, settled } = trackStops(base);
  const gateway = await startLocalGateway({
    handlers: exampleHandlers(store, env.logger),
    logger: silentLogger,
  });
  const publisher = appSubscriptions.publisher({ endpoint: gateway.endpoint, store, logger: env.logger });
  const floorConnection = apiGatewayStyleId();
  if (floor) await floor.connect(floorConnection)();
  let floorIds = 0;
  return {
    url: gateway.url,
    publish: async (room, message) => {
      const result = await publisher.routes.onMessage.publish({ data: message, filter: { name: 'byRoom', input: { room } } });
      if (result.delivered !== 1) throw new Error(`latency: publish delivered ${result.delivered}`);
    },
    stopsSettled: settled,
    ...(floor ? {
      floorSubscribe: (room: string) => {
        const id = ++floorIds;
        return { send: floor.subscribe(floorConnection, id, room), undo: floor.stop(floorConnection, id, room) };
      },
    } : {}),
    close: () => gateway.close(),
  };
}

/** The next frame of a socket that contains `fragment`. */
function frameWith(socket: WebSocket, fragment: string): Promise<string> {
  return withTimeout(new Promise<string>((resolve) => {
    const onMessage = (data: Buffer) => {
      const text = data.toString();
      if (!text.includes(fragment)) return;
      socket.off('message', onMessage);
      resolve(text);
    };
    socket.on('message', onMessage);
  }), `frame with ${fragment}`);
}

/** Counts a client's DynamoDB requests by API name without changing them (no ReturnConsumedCapacity). */
function countRequests(client: DynamoDBClient): { reset(): void; summary(): string } {
  let counts: Record<string, number> = {};
  client.middlewareStack.add((next, context) => async (args) => {
    const command = String(context.commandName ?? 'Unknown').replace(/Command$/, '');
    counts[command] = (counts[command] ?? 0) + 1;
    return next(args);
  }, { step: 'initialize', name: 'benchRequestCounter' });
  return {
    reset: () => { counts = {}; },
    summary: () => Object.entries(counts).map(([command, count]) => (count > 1 ? `${count} ${command}` : command)).join(' + ') || 'none',
  };
}

const LIFECYCLE = ['connect', 'stop', 'disconnect', 'disconnectUnguarded'] as const;
type LifecycleOperation = typeof LIFECYCLE[number];

/** Samples of each operation of a connection's life on one gateway, with its floor's when given. */
type LifecycleSamples = Record<LifecycleOperation, { libraryMs: number[]; floorMs: number[]; libraryRequests: string }>;

/**
 * Connect, stop and disconnect with a raw WebSocket client through a gateway over `store` (one
 * warm `$default` instance), each followed by its floor (when given) on a connection of its own.
 * Each connection subscribes twice to `onMessage` (not timed: the tRPC client's rows measure
 * subscribe), stops the first and disconnects with the second.
 */
async function sampleLifecycle(
  env: BenchEnv, store: SubscriptionStore, samples: number, floor?: LifecycleFloor, requests?: ReturnType<typeof countRequests>,
): Promise<LifecycleSamples> {
  const handlers = exampleHandlers(store, env.logger);
  let disconnected: () => void = () => undefined;
  const gateway = await startLocalGateway({
    handlers: {
      ...handlers,
      disconnect: async (event, context, callback) => {
        const result = await handlers.disconnect(event, context, callback);
        disconnected();
        return result;
      },
    },
    logger: silentLogger,
  });
  const rows = Object.fromEntries(LIFECYCLE.map((operation) => [operation, { libraryMs: [] as number[], floorMs: [] as number[], libraryRequests: '' }])) as LifecycleSamples;
  const measure = async (operation: LifecycleOperation, i: number, library: () => Promise<unknown>, floorRequest?: FloorRequest) => {
    requests?.reset();
    const libraryMs = await timed(library);
    if (requests) rows[operation].libraryRequests = requests.summary();
    const floorMs = floorRequest ? await timed(floorRequest) : undefined;
    if (i < 0) return;
    rows[operation].libraryMs.push(libraryMs);
    if (floorMs !== undefined) rows[operation].floorMs.push(floorMs);
  };
  const subscribe = (id: number, room: string) => ({ id, method: 'subscription', params: { path: 'onMessage', input: { json: { room } } } });
  try {
    for (let i = -2; i < samples; i++) {
      if (i > 0 && i % PROGRESS_EVERY === 0) env.progress(`  connect, stop, disconnect (${floor ? 'DynamoDB Local store' : 'memory store'}): ${i} samples`);
      const floorConnection = apiGatewayStyleId();
      const rooms = [`lifecycle-${i}-a`, `lifecycle-${i}-b`];
      let socket: WebSocket | undefined;
      await measure('connect', i, () => withTimeout(new Promise<void>((resolve, reject) => {
        socket = new WebSocket(gateway.url);
        socket.once('open', () => resolve());
        socket.once('error', reject);
      }), 'open'), floor?.connect(floorConnection));
      for (const [index, room] of rooms.entries()) {
        const started = frameWith(socket!, '"started"');
        socket!.send(JSON.stringify(subscribe(index + 1, room)));
        await started;
        await floor?.subscribe(floorConnection, index + 1, room)();
      }
      await measure('stop', i, async () => {
        const stopped = frameWith(socket!, '"stopped"');
        socket!.send(JSON.stringify({ id: 1, method: 'subscription.stop' }));
        await stopped;
      }, floor?.stop(floorConnection, 1, rooms[0]));
      await measure('disconnect', i, async () => {
        const done = withTimeout(new Promise<void>((resolve) => { disconnected = resolve; }), '$disconnect');
        socket!.close();
        await done;
      }, floor?.disconnect(floorConnection));
      // The same disconnect against the floor without the design's guarantees, on another connection.
      if (floor) {
        const unguarded = apiGatewayStyleId();
        await floor.connect(unguarded)();
        await floor.subscribe(unguarded, 2, rooms[1])();
        const floorMs = await timed(floor.disconnectUnguarded(unguarded));
        if (i >= 0) rows.disconnectUnguarded.floorMs.push(floorMs);
        if (i >= 0) rows.disconnectUnguarded.libraryMs.push(rows.disconnect.libraryMs[rows.disconnect.libraryMs.length - 1]);
        rows.disconnectUnguarded.libraryRequests = rows.disconnect.libraryRequests;
      }
    }
  } finally {
    await gateway.close();
  }
  return rows;
}

/** The DynamoDB store's lifecycle against its floors, with the memory store's as the protocol's own share. */
async function lifecycleRows(env: BenchEnv, tableName: string, samples: number): Promise<LifecycleRow[]> {
  const client = env.client();
  const requests = countRequests(client);
  const floor = new LifecycleFloor(env.client(), tableName);
  const library = await sampleLifecycle(env, dynamodb({ tableName, dynamoDBClient: client }), samples, floor, requests);
  const protocol = await sampleLifecycle(env, memory(), samples);
  const floorRequests: Record<LifecycleOperation, string> = {
    connect: 'BatchWriteItem',
    stop: 'TransactWriteItems',
    disconnect: 'Query, BatchWriteItem, Query, BatchWriteItem',
    disconnectUnguarded: 'Query, then BatchWriteItem',
  };
  const names: Record<LifecycleOperation, string> = {
    connect: 'connect (socket open: $connect stored the connection)',
    stop: 'stop (subscription.stop -> stopped, F=2, on the instance that subscribed)',
    disconnect: 'disconnect (close -> $disconnect done, 1 subscription left)',
    disconnectUnguarded: 'disconnect vs a floor without the race check and the index-rows-first order (no budget)',
  };
  return LIFECYCLE.map((operation) => ({
    operation: names[operation],
    ...library[operation],
    floorRequests: floorRequests[operation],
    protocolMs: protocol[operation === 'disconnectUnguarded' ? 'disconnect' : operation].libraryMs,
  }));
}

export async function runLatency(env: BenchEnv): Promise<LatencyResult> {
  const samples = env.quick ? 40 : 200;
  const client = env.client();
  const tableName = 'bench-latency';
  await createSubscriptionTable({ client, tableName });
  const floor = new LifecycleFloor(env.client(), tableName);
  const rows: LatencyRow[] = [];
  const servers: Array<[string, () => Promise<Server>]> = [
    ['library, DynamoDB Local store, via local gateway', () => libraryServer(env, dynamodb({ tableName, dynamoDBClient: client }), floor)],
    ['library, memory store, via local gateway', () => libraryServer(env, memory())],
    ['tRPC applyWSSHandler, in-process EventEmitter', async () => ({ ...(await startFloorServer()), stopsSettled: async () => undefined })],
  ];
  for (const [name, start] of servers) {
    const server = await start();
    try {
      rows.push(await sample(env, name, server, samples));
    } finally {
      await server.close();
    }
    env.progress(`  ${name}: done`);
  }
  const lifecycle = await lifecycleRows(env, tableName, samples);
  env.progress('  connect, stop, disconnect: done');
  return { rows, lifecycle };
}

const p50 = (values: readonly number[]) => quantile(values, 0.5);

/** `library p50 <= 1.5 x floor p50 + 1 ms`, as text and verdict. */
function withinFloor(libraryMs: readonly number[], floorMs: readonly number[]): [string, boolean] {
  const library = p50(libraryMs);
  const floor = p50(floorMs);
  return [`${fmt(library, 2)} ms vs floor ${fmt(floor, 2)} ms: ${ratio(library, floor, 2)} (bound ${fmt(FLOOR_FACTOR * floor + PROTOCOL_MS, 2)} ms)`,
    library <= FLOOR_FACTOR * floor + PROTOCOL_MS];
}

export function renderLatency({ rows, lifecycle }: LatencyResult): { markdown: string; budgets: Budget[] } {
  const trpc = rows[rows.length - 1];
  const trpcStarted = p50(trpc.startedMs);
  const trpcReceive = p50(trpc.receiveMs);
  const budgets: Budget[] = [];
  for (const row of rows.slice(0, -1)) {
    const started = p50(row.startedMs);
    budgets.push([`subscribe->started p50 within 3x of tRPC applyWSSHandler (${row.name})`, `${fmt(started, 2)} ms vs ${fmt(trpcStarted, 2)} ms: ${ratio(started, trpcStarted)}`, started <= 3 * trpcStarted]);
    if (row.floorStartedMs) {
      budgets.push([`subscribe->started p50 <= ${FLOOR_FACTOR}x the same rows written by one bare request + ${PROTOCOL_MS} ms (${row.name})`, ...withinFloor(row.startedMs, row.floorStartedMs)]);
    }
  }
  for (const row of lifecycle.filter((entry) => !entry.operation.includes('no budget'))) {
    budgets.push([`${row.operation.replace(/ \(.*$/, '')} p50 <= ${FLOOR_FACTOR}x its floor (${row.floorRequests}) + ${PROTOCOL_MS} ms; library sends ${row.libraryRequests}`, ...withinFloor(row.libraryMs, row.floorMs)]);
  }
  const subscribeTable = table(
    ['server', 'samples', 'subscribe->started p50 ms', 'p95 ms', 'p50 vs tRPC', 'floor: same rows, one bare request, p50 ms', 'p50 vs floor', 'publish->receive p50 ms', 'p95 ms', 'p50 vs tRPC'],
    rows.map((row) => [
      row.name, String(row.startedMs.length),
      fmt(p50(row.startedMs), 2), fmt(quantile(row.startedMs, 0.95), 2), ratio(p50(row.startedMs), trpcStarted),
      row.floorStartedMs ? fmt(p50(row.floorStartedMs), 2) : '-', row.floorStartedMs ? ratio(p50(row.startedMs), p50(row.floorStartedMs), 2) : '-',
      fmt(p50(row.receiveMs), 2), fmt(quantile(row.receiveMs, 0.95), 2), ratio(p50(row.receiveMs), trpcReceive),
    ]),
  );
  const lifecycleTable = table(
    ['operation (library: DynamoDB Local store, via local gateway)', 'samples', 'library p50 ms', 'p95 ms', 'library DynamoDB requests', 'floor requests (bare)', 'floor p50 ms', 'p50 vs floor', 'memory store p50 ms (gateway and handler only)'],
    lifecycle.map((row) => [
      row.operation, String(row.libraryMs.length), fmt(p50(row.libraryMs), 2), fmt(quantile(row.libraryMs, 0.95), 2),
      row.libraryRequests, row.floorRequests, fmt(p50(row.floorMs), 2), ratio(p50(row.libraryMs), p50(row.floorMs), 2), fmt(p50(row.protocolMs), 2),
    ]),
  );
  return { markdown: [subscribeTable, '', lifecycleTable].join('\n'), budgets };
}
