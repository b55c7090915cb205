/**
 * A presence test's deployment: the presence router on a local gateway over DynamoDB Local, and
 * real `@trpc/client` clients (README setup: `resubscribeLink()` before `wsLink`) joining rooms.
 */
import { ApiGatewayManagementApiClient, DeleteConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import superjson from 'superjson';
import { WebSocket } from 'ws';
import { applyPresence, emptyPresence, resubscribeLink, type PresenceEvent, type PresenceState } from '../../../client';
import { dynamodb, memory, type SubscriptionStore, type WebSocketHandler } from '../../../lambda';
import { silentLogger, startLocalGateway, type LocalGateway } from '../../../lambda/local';
import { LOCAL_AWS_SETTINGS } from '../../../lambda/local/dynamodb-local';
import { presenceSubscriptions, type PresenceRouter, type RoomMember } from '../../fixtures/presence-router';
import type { TestTable } from '../../support/dynamodb';
import { recordingLogger, waitFor } from '../support/harness';

/** The deployment. */
export interface PresenceWorld {
  /** The app's subscriptions (its store set): for the worker and the rollover. */
  readonly app: ReturnType<typeof presenceSubscriptions>;
  readonly gateway: LocalGateway;
  readonly store: SubscriptionStore;
  readonly publisher: ReturnType<ReturnType<typeof presenceSubscriptions>['publisher']>;
  readonly logger: ReturnType<typeof recordingLogger>;
  /** Connections whose `$disconnect` is lost (API Gateway delivers it at most once, sometimes never). */
  readonly loseDisconnectOf: Set<string>;
  /**
   * Opens a client of `userId` (a tab) and joins `room`; resolves once its subscription started.
   * With `messages`, the tab also subscribes to the room's `onMessage` (a producer's publishes reach it).
   */
  join(room: string, userId: string, name?: string, options?: { readonly messages?: boolean }): Promise<Tab>;
  /** The connections of a user (key rows). */
  connectionsOf(userId: string): Promise<string[]>;
  /** Closes a connection from the server side, as a network drop does (the client reconnects). */
  drop(connectionId: string): Promise<void>;
  close(): Promise<void>;
}

/** One tab: a client with one presence subscription. */
export interface Tab {
  readonly userId: string;
  /** Every event received, in order, with `started` where it came. */
  readonly received: Array<PresenceEvent<RoomMember> | 'started'>;
  /** The room as the events tell it. */
  state: PresenceState<RoomMember>;
  /** Member keys in the room, sorted. */
  keys(): string[];
  /** Closes the tab (stop, then the socket). */
  close(): Promise<void>;
}

/** Starts the presence router with `leaveGraceMs` on the test table. */
export async function startPresenceWorld(table: TestTable, leaveGraceMs: number, kind: 'dynamodb' | 'memory' = 'dynamodb'): Promise<PresenceWorld> {
  const store = kind === 'memory' ? memory() : dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
  const app = presenceSubscriptions(leaveGraceMs).store({ store });
  const logger = recordingLogger();
  const loseDisconnectOf = new Set<string>();
  const disconnect = app.disconnect({ logger });
  const lossyDisconnect: WebSocketHandler = async (event, context) => {
    if (loseDisconnectOf.has(event.requestContext.connectionId)) return { statusCode: 200 };
    return disconnect(event, context);
  };
  const gateway = await startLocalGateway({
    handlers: { connect: app.connect({ logger }), handler: app.handler({ logger }), disconnect: lossyDisconnect },
    logger: silentLogger,
  });
  const publisher = app.publisher({ endpoint: gateway.endpoint, logger });
  const clients: Array<{ close(): Promise<void> }> = [];
  const management = new ApiGatewayManagementApiClient({ endpoint: gateway.endpoint, ...LOCAL_AWS_SETTINGS, maxAttempts: 1 });
  return {
    app,
    gateway,
    store,
    publisher,
    logger,
    loseDisconnectOf,
    async join(room, userId, name = userId, options = {}) {
      const wsClient = createWSClient({
        url: gateway.url, WebSocket: WebSocket as never, connectionParams: { userId, name }, retryDelayMs: () => 20,
      });
      const trpc = createTRPCClient<PresenceRouter>({ links: [resubscribeLink(), wsLink({ client: wsClient, transformer: superjson })] });
      const tab: Tab = {
        userId,
        received: [],
        state: emptyPresence(),
        keys: () => [...tab.state.members.keys()].sort(),
        close: async () => {
          subscription.unsubscribe();
          messages?.unsubscribe();
          await wsClient.close();
        },
      };
      const errors: unknown[] = [];
      const subscription = trpc.roomMembers.subscribe({ room }, {
        onStarted: () => tab.received.push('started'),
        onData: (event) => {
          tab.received.push(event);
          tab.state = applyPresence(tab.state, event);
        },
        onError: (error) => errors.push(error),
      });
      let messagesStarted = !options.messages;
      const messages = options.messages
        ? trpc.onMessage.subscribe({ room }, { onStarted: () => { messagesStarted = true; }, onError: (error) => errors.push(error) })
        : undefined;
      clients.push(tab);
      await waitFor(() => (tab.received.includes('started') && messagesStarted) || errors.length > 0, 15_000, `${userId}'s presence subscription to start`);
      if (errors.length > 0) throw errors[0];
      return tab;
    },
    async connectionsOf(userId) {
      const ids: string[] = [];
      for await (const page of store.findConnectionsByKey(`user:${userId}`)) ids.push(...page.map((ref) => ref.connectionId));
      return ids;
    },
    async drop(connectionId) {
      await management.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    },
    async close() {
      await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
      await gateway.close();
      management.destroy();
    },
  };
}

let rooms = 0;
/** A room name unique to the test (tests share a table). */
export const freshRoom = () => `room-${process.pid}-${++rooms}-${Date.now()}`;

/** The events of `tab` about `key`, in order (without the sync). */
export function eventsAbout(tab: Tab, key: string): string[] {
  return tab.received.flatMap((event) => event !== 'started' && event.type !== 'sync' && event.member.key === key ? [event.type] : []);
}
