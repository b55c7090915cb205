/**
 * Two local gateways acting as two Regions of one deployment: each runs its own handlers and
 * publisher (built with `.regions()`, as the construct's environment would set them), both on one
 * DynamoDB Local table standing in for the global table's replicas.
 */
import { createTRPCClient, createWSClient, wsLink, type TRPCClient, type TRPCClientError } from '@trpc/client';
import { initTRPC } from '@trpc/server';
import type { Context } from 'aws-lambda';
import { WebSocket } from 'ws';
import * as z from 'zod/mini';
import { dynamodb, initSubscriptions, type PublishResult, type SubscriptionStore } from '../../../lambda';
import { silentLogger, startLocalGateway, type LambdaStyleHandler, type LocalGateway, type LocalWebSocketEvent } from '../../../lambda/local';
import type { TestTable } from '../../support/dynamodb';

/** A chat message with an id, so a test can count how often each arrived. */
export interface Message {
  readonly id: string;
  readonly text: string;
}

/** The app every Region deploys: the same code, instantiated once per Region. */
export function regionalApp(region: string, endpoints: Record<string, string>, store: SubscriptionStore) {
  const subscriptions = initSubscriptions();
  const t = initTRPC.context<{ connectionId: string }>().create();
  const router = t.router({
    onMessage: t.procedure.input(z.object({ room: z.string() })).subscription(subscriptions.resolver<Message>()),
    send: t.procedure
      .input(z.object({ room: z.string(), id: z.string(), text: z.string() }))
      .mutation(({ input }): Promise<PublishResult> => publisher.routes.onMessage.publish({
        data: { id: input.id, text: input.text },
        filter: { name: 'byRoom', input: { room: input.room } },
      })),
  });
  const app = subscriptions
    .router({ router, createContext: ({ connectionId }) => ({ connectionId }) })
    .store({ store })
    .regions({ region, endpoints })
    .routes.onMessage.filter({ name: 'byRoom', input: { room: true } });
  const publisher = app.publisher({ logger: { error: () => undefined, warn: () => undefined } });
  return {
    router,
    /** The Region's builder, for more of its parts (e.g. `worker()`, a publisher with a queue). */
    subscriptions: app,
    publisher,
    handlers: { connect: app.connect(), handler: app.handler(), disconnect: app.disconnect() },
  };
}

export type RegionalRouter = ReturnType<typeof regionalApp>['router'];

/** One Region: its gateway, app and a switch that takes its Lambdas down. */
export interface Region {
  readonly name: string;
  readonly gateway: LocalGateway;
  app: ReturnType<typeof regionalApp>;
  /** While true the Region's handlers do nothing (its Lambdas are unreachable: no `$disconnect` runs). */
  down: boolean;
}

/**
 * Starts one gateway per Region name; every Region's app knows every endpoint. The handlers are
 * resolved per invocation, so the apps can be built once all endpoints are known.
 */
export async function startRegions(names: readonly string[], table: TestTable): Promise<Map<string, Region>> {
  const regions = new Map<string, Region>();
  for (const name of names) {
    const lazy = (route: 'connect' | 'handler' | 'disconnect'): LambdaStyleHandler => async (event: LocalWebSocketEvent, context: Context) => {
      const region = regions.get(name)!;
      if (region.down) return { statusCode: 502 };
      return region.app.handlers[route](event as never, context as never);
    };
    const gateway = await startLocalGateway({
      handlers: { connect: lazy('connect'), handler: lazy('handler'), disconnect: lazy('disconnect') },
      logger: silentLogger,
    });
    regions.set(name, { name, gateway, app: undefined as never, down: false });
  }
  const endpoints = Object.fromEntries([...regions].map(([name, region]) => [name, region.gateway.endpoint]));
  const store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
  for (const region of regions.values()) region.app = regionalApp(region.name, endpoints, store);
  return regions;
}

/** A stock tRPC client and what it received, by message id. */
export interface RegionClient {
  readonly trpc: TRPCClient<RegionalRouter>;
  readonly received: Message[];
  /** How many times the subscription started (once, plus once per reconnect). */
  started: number;
  /** How many times the server ended it (`onStopped`). */
  stopped: number;
  /** Errors the subscription ended with (`onError`). */
  readonly errors: TRPCClientError<RegionalRouter>[];
  close(): Promise<void>;
  /** Counts of each message id received. */
  countOf(id: string): number;
}

/**
 * Connects to the URL `url()` returns (asked again on every reconnect, as a client that fails
 * over would) and subscribes to `room`; resolves once the subscription started.
 */
export async function subscribeClient(url: () => string, room: string): Promise<RegionClient> {
  const wsClient = createWSClient({ url, WebSocket: WebSocket as never, retryDelayMs: () => 50 });
  const trpc = createTRPCClient<RegionalRouter>({ links: [wsLink({ client: wsClient })] });
  const received: Message[] = [];
  const client: RegionClient = {
    trpc,
    received,
    started: 0,
    stopped: 0,
    errors: [],
    close: async () => {
      subscription.unsubscribe();
      await wsClient.close();
    },
    countOf: (id) => received.filter((message) => message.id === id).length,
  };
  let startedOnce!: () => void;
  const first = new Promise<void>((resolve) => (startedOnce = resolve));
  const subscription = trpc.onMessage.subscribe({ room }, {
    onStarted: () => {
      client.started++;
      startedOnce();
    },
    onData: (message) => received.push(message),
    onStopped: () => client.stopped++,
    onError: (error) => client.errors.push(error),
  });
  await first;
  return client;
}

/** Waits until `condition` holds (polling), failing with `what` after `timeoutMs`. */
export async function eventually(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
