/**
 * What the console knows, built from the gateway's traffic (connections, client requests, every
 * `@connections` request and its answer) and from the store (connection rows, filter values),
 * and turned into the {@link ConsoleView} the page renders.
 */
import type { AppDescription } from '../../core/app-description';
import type { FilterConfig } from '../../core/filters';
import type { GatewayTraffic } from '../gateway-options';
import type { LocalLogger } from '../logger';
import type { ManagementExchange } from '../management-api';
import type { ConsoleStoreReader, StoredSubscription } from './store-reader';
import { createStream, type ConsoleStream } from './stream';
import { MAX_CONNECTIONS_SHOWN, type ConnectionView, type ConsoleView, type QueueView, type RouteView, type SubscriptionView } from './view';
import { classifyPostedFrame, idKey, recordClientFrame, type ClientRequests } from './wire';

/** Options of {@link createConsoleState}. */
export interface ConsoleStateOptions {
  /** The app's description (routes, publisher, store), once the handlers are loaded. */
  readonly app: () => AppDescription | undefined;
  /** The store reader for the app's store. */
  readonly reader: () => ConsoleStoreReader | undefined;
  /** The local queue, when there is one. */
  readonly queue?: () => QueueView | undefined;
  readonly logger: LocalLogger;
  /** @default Date.now */
  readonly now?: () => number;
}

interface Connection {
  readonly connectionId: string;
  readonly connectedAt: number;
  readonly sourceIp: string;
  readonly userAgent?: string;
  readonly requests: ClientRequests;
  stored?: Pick<ConnectionView, 'key' | 'ctx' | 'refusal'>;
  subscriptions?: StoredSubscription[];
  /** A store read is running; `again`: read once more when it ends. */
  reading?: { again: boolean };
}

/** How long after a 410 the connection is read again (the publisher removes its rows meanwhile). */
const GONE_READ_DELAY_MS = 500;

/** How many closed connections keep their requests, so a late post to them (410) is still filed. */
const CLOSED_KEPT = 500;

/** The console's state. */
export interface ConsoleState {
  /** The stream of publishes (the actions mark the console's own). */
  readonly stream: ConsoleStream;
  /** Takes one thing the gateway saw. */
  onTraffic(traffic: GatewayTraffic): void;
  /** Calls `listener` after every change; returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
  /** Tells the listeners something changed (e.g. the queue). */
  changed(): void;
  /** Reads every open connection from the store again (after a reload or an action). */
  refreshAll(): void;
  /** The view for the page. */
  view(): ConsoleView;
  /** Resolves once no store read is running. */
  settled(): Promise<void>;
  /** Stops taking traffic and reading the store (the gateway may still be closing its connections). */
  close(): void;
}

/** Creates the console's state. */
export function createConsoleState(options: ConsoleStateOptions): ConsoleState {
  const now = options.now ?? Date.now;
  const open = new Map<string, Connection>();
  const closed = new Map<string, ClientRequests>();
  const stream = createStream();
  const listeners = new Set<() => void>();
  const reads = new Set<Promise<void>>();
  let stopped = false;

  const changed = () => {
    for (const listener of listeners) listener();
  };

  const routeFilters = (): ReadonlyMap<string, readonly FilterConfig[]> =>
    new Map((options.app()?.routes ?? []).map((route) => [route.path, route.filters]));

  /** Reads a connection's row and subscriptions; one read at a time per connection, the latest wins. */
  const refresh = (connection: Connection) => {
    const reader = options.reader();
    if (!reader || stopped) return;
    if (connection.reading) {
      connection.reading.again = true;
      return;
    }
    const reading = { again: false };
    connection.reading = reading;
    const run = async () => {
      do {
        reading.again = false;
        const [record, subscriptions] = await Promise.all([
          reader.connection(connection.connectionId),
          reader.subscriptions(connection.connectionId, routeFilters()),
        ]);
        if (record) {
          connection.stored = {
            ...(record.key === undefined ? {} : { key: record.key }),
            ...(record.refusal === undefined ? {} : { refusal: record.refusal }),
            ctx: {
              ...(record.connectionParams === undefined ? {} : { connectionParams: record.connectionParams }),
              ...(record.connect.authorizer ? { authorizer: record.connect.authorizer } : {}),
              ...(record.connect.queryStringParameters ? { query: record.connect.queryStringParameters } : {}),
            },
          };
        }
        connection.subscriptions = subscriptions;
      } while (reading.again);
    };
    const read = run()
      .catch((error: unknown) => options.logger.warn(`Console: could not read ${connection.connectionId} from the store: ${String(error)}`))
      .finally(() => {
        connection.reading = undefined;
        reads.delete(read);
        changed();
      });
    reads.add(read);
  };

  const onManagement = (exchange: ManagementExchange & { at: number }) => {
    const { connectionId, at } = exchange;
    if (exchange.method === 'DELETE') {
      stream.record({ at, kind: 'disconnect', key: 'disconnect', connectionId, exchange });
      changed();
      return;
    }
    if (exchange.method !== 'POST') return;
    const requests = open.get(connectionId)?.requests ?? closed.get(connectionId);
    const frame = classifyPostedFrame(requests, exchange.body);
    // A 410 makes the publisher remove the connection's rows once it has the answer: show what
    // is left then (a publish from the console reads again when it resolves).
    const connection = open.get(connectionId);
    if (connection && exchange.status === 410) setTimeout(() => open.has(connectionId) && refresh(connection), GONE_READ_DELAY_MS).unref();
    if (frame.kind === 'reply') return;
    if (frame.kind === 'reconnect') {
      stream.record({ at, kind: 'reconnect', key: frame.key, connectionId, exchange });
    } else if (frame.kind === 'publish') {
      stream.record({
        at,
        kind: 'publish',
        key: frame.key,
        connectionId,
        subscriptionId: frame.subscriptionId,
        path: frame.path,
        detail: describeData(options.app(), frame.data, frame.eventId !== undefined),
        exchange,
        ...(frame.eventId === undefined ? {} : { eventId: frame.eventId }),
      });
    } else {
      stream.record({
        at,
        kind: frame.kind,
        key: frame.key,
        connectionId,
        subscriptionId: frame.subscriptionId,
        path: frame.path,
        exchange,
        ...(frame.detail === undefined ? {} : { detail: frame.detail }),
      });
      // The subscription is over once its stop (or error) was delivered; its rows are gone.
      if (exchange.status !== undefined && exchange.status < 300) requests?.delete(idKey(frame.subscriptionId));
      if (connection) refresh(connection);
    }
    changed();
  };

  const onTraffic = (traffic: GatewayTraffic) => {
    if (stopped) return;
    switch (traffic.type) {
      case 'connected': {
        const connection: Connection = {
          connectionId: traffic.connectionId,
          connectedAt: traffic.connectedAt,
          sourceIp: traffic.sourceIp,
          requests: new Map(),
          ...(traffic.userAgent === undefined ? {} : { userAgent: traffic.userAgent }),
        };
        open.set(traffic.connectionId, connection);
        refresh(connection);
        changed();
        return;
      }
      case 'disconnected': {
        const connection = open.get(traffic.connectionId);
        if (!connection) return;
        open.delete(traffic.connectionId);
        closed.set(traffic.connectionId, connection.requests);
        for (const id of closed.keys()) {
          if (closed.size <= CLOSED_KEPT) break;
          closed.delete(id);
        }
        changed();
        return;
      }
      case 'message': {
        const connection = open.get(traffic.connectionId);
        if (connection && !traffic.isBase64Encoded) recordClientFrame(connection.requests, traffic.body);
        return;
      }
      case 'handled': {
        const connection = open.get(traffic.connectionId);
        if (connection) refresh(connection);
        return;
      }
      case 'management':
        onManagement(traffic);
        return;
    }
  };

  const view = (): ConsoleView => {
    const app = options.app();
    const entries = stream.entries();
    const routes: RouteView[] | undefined = app?.routes.map((route) => {
      const last = entries.find((entry) => entry.kind === 'publish' && entry.path === route.path && entry.detail !== undefined);
      return {
        path: route.path,
        filters: route.filters.map((filter) => ({ name: filter.name, ctx: [...filter.ctx], input: [...filter.input] })),
        history: route.history,
        ...(last?.detail === undefined ? {} : { lastData: last.detail }),
      };
    });
    const all = [...open.values()];
    const connections = all.slice(-MAX_CONNECTIONS_SHOWN).reverse().map((connection): ConnectionView => ({
      connectionId: connection.connectionId,
      connectedAt: connection.connectedAt,
      sourceIp: connection.sourceIp,
      ...(connection.userAgent === undefined ? {} : { userAgent: connection.userAgent }),
      ...connection.stored,
      subscriptions: subscriptionsOf(connection, app),
    }));
    const queue = options.queue?.();
    const totals = { connections: all.length, subscriptions: all.reduce((sum, connection) => sum + subscriptionsOf(connection, app).length, 0) };
    return { now: now(), ...(routes ? { routes } : {}), connections, totals, stream: entries, ...(queue ? { queue } : {}) };
  };

  return {
    onTraffic,
    stream,
    onChange: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    changed,
    refreshAll: () => {
      for (const connection of open.values()) refresh(connection);
    },
    view,
    settled: async () => {
      while (reads.size > 0) await Promise.allSettled([...reads]);
    },
    close: () => {
      stopped = true;
    },
  };
}

/** The stored subscriptions with the input the client sent, else the ones the wire shows. */
function subscriptionsOf(connection: Connection, app: AppDescription | undefined): SubscriptionView[] {
  const inputOf = (id: SubscriptionView['id']) => readInput(app, connection.requests.get(idKey(id))?.input);
  if (connection.subscriptions) {
    return connection.subscriptions.map((subscription) => {
      const input = inputOf(subscription.id);
      return { id: subscription.id, path: subscription.path, filters: subscription.filters, ...(input === undefined ? {} : { input }) };
    });
  }
  const fromWire: SubscriptionView[] = [];
  for (const [key, request] of connection.requests) {
    const id = key.startsWith('number:') ? Number(key.slice('number:'.length)) : key.slice('string:'.length);
    const input = readInput(app, request.input);
    fromWire.push({ id, path: request.path, filters: [], ...(input === undefined ? {} : { input }) });
  }
  return fromWire;
}

/** A request's input as the procedure reads it (through the router's transformer). */
function readInput(app: AppDescription | undefined, input: unknown): unknown {
  if (input === undefined || !app) return input;
  try {
    return app.deserialize(input, 'input');
  } catch {
    return input;
  }
}

/** Published data as JSON text, read back with the router's transformer (tracked: the data without its envelope). */
function describeData(app: AppDescription | undefined, data: unknown, tracked: boolean): string {
  let value = data;
  try {
    value = app ? app.deserialize(data, 'output') : data;
  } catch {
    // Not the transformer's format: show it as it went over the wire.
  }
  if (tracked && value !== null && typeof value === 'object' && 'data' in value) value = (value as { data: unknown }).data;
  return JSON.stringify(value) ?? 'undefined';
}
