/**
 * What a capability of the matrix runs against: a deployment in one mode (its Regions' gateways,
 * publishers, fan-out workers and rollovers, one table), and real `@trpc/client` clients with the
 * client setup the README recommends (`resubscribeLink()` before `wsLink`).
 */
import { createTRPCClient, createWSClient, wsLink, type TRPCClientError } from '@trpc/client';
import superjson from 'superjson';
import { WebSocket } from 'ws';
import type { MatrixMessage, MatrixPublisher, MatrixRouter } from './app';
import { applyPresence, emptyPresence, resubscribeLink } from '../../client';
import type { RolloverResult, SubscriptionStore } from '../../lambda';
import type { LocalGateway } from '../../lambda/local';

/** A route of the matrix app. */
export type MatrixRoute = 'onMessage' | 'onEvent';

/** A deployment in one mode. */
export interface World {
  /** Region names: one (`local`) in single-region modes. */
  readonly regions: readonly string[];
  /** The table every Region's rows are in (the global table's replicas, locally one table). */
  readonly store: SubscriptionStore;
  /** Connections whose `$disconnect` is lost (API Gateway delivers it at most once, sometimes never). */
  readonly lostDisconnects: Set<string>;
  /** The gateway (the API) of a Region. */
  gateway(region: string): LocalGateway;
  /** A Region's backend publisher (`publisher.routes`, `publisher.connections`). */
  publisher(region: string): MatrixPublisher;
  /**
   * Publishes `id` to `room` from `region` as the mode does (`publish()`, or `enqueue()` and the
   * fan-out worker in the queued mode); resolves once delivered, with the event id on `onEvent`.
   */
  publish(region: string, route: MatrixRoute, room: string, id: string): Promise<string | undefined>;
  /** `enqueue()` from `region`, delivered by its fan-out worker; resolves once the queue is drained. */
  enqueue(region: string, route: MatrixRoute, room: string, id: string): Promise<string | undefined>;
  /** One run of `region`'s rollover with these ages. */
  rollover(region: string, ages: { readonly olderThanMs: number; readonly maxConnectionMs: number }): Promise<RolloverResult>;
  close(): Promise<void>;
}

/** A mode of the matrix: how to start its deployment. */
export interface Mode {
  readonly name: string;
  /** Its Regions, to make the cells (acting Region x the clients' Region) before it starts. */
  readonly regions: readonly string[];
  start(): Promise<World>;
}

/** What a subscription of a client saw. */
export interface Seen {
  /** Ids of the data received, in order. */
  readonly ids: string[];
  readonly errors: TRPCClientError<MatrixRouter>[];
  started: number;
  stopped: number;
  count(id: string): number;
  unsubscribe(): void;
}

/** A real client of one user, connected to one Region. */
export interface MatrixClient {
  readonly userId: string;
  /** Subscribes to the room's messages; resolves once started. */
  messages(room: string): Promise<Seen>;
  /** Subscribes to the room's events from `lastEventId` (a resume), or fresh (its initial state first); resolves once started. */
  events(room: string, lastEventId?: string): Promise<Seen>;
  /** Joins the room's presence; resolves once started, with the members the client's events tell. */
  members(room: string): Promise<{ keys(): string[] }>;
  /** The user's live connections, as the table's key rows say (each client has its own user). */
  connectionIds(): Promise<string[]>;
  close(): Promise<void>;
}

/** Waits until `condition` holds, polling every 10 ms. */
export async function eventually(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** What a client's subscription reports. */
interface Callbacks {
  onStarted(): void;
  onData(message: MatrixMessage): void;
  onStopped(): void;
  onError(error: TRPCClientError<MatrixRouter>): void;
}

/** Connects a client as `userId` to `region`'s gateway. */
export function connectClient(world: World, region: string, userId: string): MatrixClient {
  const wsClient = createWSClient({
    url: world.gateway(region).url,
    WebSocket: WebSocket as never,
    connectionParams: { userId },
    retryDelayMs: () => 20,
  });
  const trpc = createTRPCClient<MatrixRouter>({ links: [resubscribeLink(), wsLink({ client: wsClient, transformer: superjson })] });
  const subscriptions: Seen[] = [];
  const watch = async (subscribe: (callbacks: Callbacks) => { unsubscribe(): void }): Promise<Seen> => {
    const seen: Seen = {
      ids: [],
      errors: [],
      started: 0,
      stopped: 0,
      count: (id) => seen.ids.filter((received) => received === id).length,
      unsubscribe: () => undefined,
    };
    const subscription = subscribe({
      onStarted: () => seen.started++,
      onData: (message) => seen.ids.push(message.id),
      onStopped: () => seen.stopped++,
      onError: (error) => seen.errors.push(error),
    });
    seen.unsubscribe = () => subscription.unsubscribe();
    subscriptions.push(seen);
    await eventually(() => seen.started > 0 || seen.errors.length > 0, `${userId}'s subscription to start`);
    if (seen.errors.length > 0) throw seen.errors[0];
    return seen;
  };
  return {
    userId,
    messages: (room) => watch((callbacks) => trpc.onMessage.subscribe({ room }, callbacks)),
    events: (room, lastEventId) => watch((callbacks) => trpc.onEvent.subscribe(lastEventId === undefined ? { room } : { room, lastEventId }, {
      ...callbacks,
      onData: (event) => callbacks.onData(event.data),
    })),
    members: async (room) => {
      let state = emptyPresence<{ userId: string }>();
      const seen = await watch((callbacks) => trpc.roomMembers.subscribe({ room }, {
        ...callbacks,
        onData: (event) => {
          state = applyPresence(state, event);
        },
      }));
      void seen;
      return { keys: () => [...state.members.keys()].sort() };
    },
    connectionIds: async () => {
      const ids: string[] = [];
      for await (const page of world.store.findConnectionsByKey(`user:${userId}`)) ids.push(...page.map((ref) => ref.connectionId));
      return ids;
    },
    close: async () => {
      for (const seen of subscriptions) seen.unsubscribe();
      await wsClient.close();
    },
  };
}
