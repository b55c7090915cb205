import { firstSequence, formatEventId, type HistoryEventRecord } from './history';
import { memoryPresence } from './memory-presence';
import type { PresenceRows } from './presence';
import type {
  AddSubscriptionResult,
  ConnectionRecord,
  ConnectionEnding,
  ConnectionRef,
  EndedSubscription,
  FilterValue,
  RequestId,
  SubscriberQuery,
  SubscriberRef,
  SubscriptionRecord,
  SubscriptionStore,
} from './store';
import { assertAddSubscriptionOptions, assertEpochSeconds, assertSubscriptionRecord, historyFenceOf } from './validation';

/** Options of {@link memory}. */
export interface MemoryStoreOptions {
  /**
   * Subscribers per page of `findSubscribers` (small pages exercise the publisher's paging).
   * @default 100
   */
  readonly pageSize?: number;
}

/** The in-memory store, with inspection helpers for tests. */
export interface MemoryStore extends SubscriptionStore {
  /** Number of stored connections. */
  connectionCount(): number;
  /** Stored subscriptions of a connection (copies). */
  subscriptionsOf(connectionId: string): SubscriptionRecord[];
}

interface ConnectionState {
  record: ConnectionRecord;
  /** How the server is ending it (`markEnding`). */
  ending?: ConnectionEnding;
  readonly subscriptions: Map<string, SubscriptionRecord>;
  readonly tombstones: Set<string>;
}

/** Keeps the id's type: a client's numeric 1 and string '1' are different ids. */
function idKey(id: RequestId): string {
  return `${typeof id}:${id}`;
}

/** Whole-value prefix match: values compare by type and value, so `u1` never matches `u10`. */
function matchesPrefix(stored: readonly FilterValue[], wanted: readonly FilterValue[]): boolean {
  return wanted.length <= stored.length && wanted.every((value, index) => stored[index] === value);
}

function toRef(record: ConnectionRecord, withKey = false): ConnectionRef {
  return {
    connectionId: record.connectionId,
    connectedAt: record.connectedAt,
    ...(record.region === undefined ? {} : { region: record.region }),
    ...(withKey && record.key !== undefined ? { key: record.key } : {}),
  };
}

function endedOf({ connectionId, subscriptionId, path, hookState }: SubscriptionRecord): EndedSubscription {
  return { connectionId, subscriptionId, path, ...(hookState === undefined ? {} : { hookState }) };
}

/**
 * A {@link SubscriptionStore} in memory, with the same semantics as `dynamodb()`: for unit tests
 * of apps and for the local gateway. Not for production (each Lambda instance has its own memory).
 */
export function memory(options: MemoryStoreOptions = {}): MemoryStore {
  const pageSize = Math.max(1, options.pageSize ?? 100);
  const connections = new Map<string, ConnectionState>();
  /** Each route's history in id order (events past their retention are kept, as TTL would lag). */
  const histories = new Map<string, { seq: number; event: HistoryEventRecord }[]>();
  /** Subscriptions the server is ending (`markEnding` with an id). */
  const subscriptionEndings = new WeakMap<SubscriptionRecord, ConnectionEnding>();
  /** As `dynamodb()`: a subscription's own mark is read by its own removal (`endSubscription`) only. */
  const ended = (record: SubscriptionRecord, withMark = false): EndedSubscription => {
    const ending = withMark ? subscriptionEndings.get(record) : undefined;
    return { ...endedOf(record), ...(ending === undefined ? {} : { ending }) };
  };
  /** The `liveAfter` of subscriptions stored behind a history fence. */
  const liveAfter = new WeakMap<SubscriptionRecord, string>();
  /** Connections whose rows have not expired, as `dynamodb()` filters `KEY#` rows. */
  const liveConnections = () => {
    const nowSeconds = Math.floor(Date.now() / 1000);
    return [...connections.values()].map((state) => state.record).filter((record) => record.expireAt > nowSeconds);
  };
  let presence: PresenceRows | undefined;
  function* pages<T>(items: readonly T[]): Generator<readonly T[]> {
    for (let start = 0; start < items.length; start += pageSize) yield items.slice(start, start + pageSize);
  }

  return {
    presence: () => (presence ??= memoryPresence(
      (connectionId, subscriptionId) => connections.get(connectionId)?.subscriptions.has(idKey(subscriptionId)) === true,
    )),
    async putConnection(connection) {
      assertEpochSeconds('expireAt', connection.expireAt);
      connections.set(connection.connectionId, {
        record: structuredClone(connection),
        subscriptions: new Map(),
        tombstones: new Set(),
      });
    },
    async getConnection(connectionId) {
      const state = connections.get(connectionId);
      return state ? structuredClone(state.record) : undefined;
    },
    async setConnectionParams(connectionId, params) {
      const state = connections.get(connectionId);
      if (!state || !state.record.awaitingConnectionParams) return false;
      state.record = { ...state.record, connectionParams: params ? { ...params } : null, awaitingConnectionParams: false };
      return true;
    },
    async refuseConnection(connectionId, refusal, expireAt) {
      assertEpochSeconds('expireAt', expireAt);
      const state = connections.get(connectionId);
      if (!state || !state.record.awaitingConnectionParams) return false;
      state.record = { ...state.record, refusal, expireAt, awaitingConnectionParams: false };
      return true;
    },
    async addSubscription(subscription, addOptions): Promise<AddSubscriptionResult> {
      // The same input rules as dynamodb(), so apps' unit tests fail where production would.
      assertSubscriptionRecord(subscription);
      assertAddSubscriptionOptions(addOptions);
      const fence = historyFenceOf(subscription, addOptions);
      const state = connections.get(subscription.connectionId);
      if (!state) return 'connection-gone';
      const key = idKey(subscription.subscriptionId);
      if (state.tombstones.has(key)) return 'stopped';
      if (state.subscriptions.has(key)) return 'duplicate';
      const max = addOptions?.maxSubscriptions;
      if (max !== undefined && state.subscriptions.size >= max) return 'limit-reached';
      // Ids of a route have equal length: string order is id order.
      if (fence && (histories.get(fence.path)?.at(-1)?.event.eventId ?? '') > fence.afterEventId) return 'history-moved';
      const stored = structuredClone(subscription);
      state.subscriptions.set(key, stored);
      if (fence) liveAfter.set(stored, fence.afterEventId);
      return 'created';
    },
    async removeSubscription(connectionId, subscriptionId) {
      const state = connections.get(connectionId);
      if (!state) return false;
      const key = idKey(subscriptionId);
      if (state.subscriptions.delete(key)) return true;
      state.tombstones.add(key);
      return false;
    },
    async removeConnection(connectionId) {
      connections.delete(connectionId);
    },
    async endSubscription(connectionId, subscriptionId) {
      const state = connections.get(connectionId);
      const stored = state?.subscriptions.get(idKey(subscriptionId));
      const ending = state?.ending === undefined ? {} : { ending: state.ending };
      if (!(await this.removeSubscription(connectionId, subscriptionId)) || !stored) return { subscriptions: [], ...ending };
      return { subscriptions: [ended(stored, true)], ...ending };
    },
    async endConnection(connectionId) {
      const state = connections.get(connectionId);
      connections.delete(connectionId);
      if (!state) return { subscriptions: [] };
      const { record } = state;
      return {
        subscriptions: [...state.subscriptions.values()].map((stored) => ended(stored)),
        connection: {
          connectionId,
          connectedAt: record.connectedAt,
          ...(record.key === undefined ? {} : { key: record.key }),
          accepted: !record.awaitingConnectionParams && record.refusal === undefined,
        },
        ...(state.ending === undefined ? {} : { ending: state.ending }),
      };
    },
    async markEnding(connectionId, ending, subscriptionId) {
      const state = connections.get(connectionId);
      if (!state) return;
      if (subscriptionId === undefined) state.ending = ending;
      else if (state.subscriptions.has(idKey(subscriptionId))) subscriptionEndings.set(state.subscriptions.get(idKey(subscriptionId))!, ending);
    },
    async *findSubscribers(query: SubscriberQuery) {
      // Snapshot first, as a paginated Query would see the table at read time.
      const found: SubscriberRef[] = [];
      for (const state of connections.values()) {
        for (const subscription of state.subscriptions.values()) {
          if (subscription.path !== query.path) continue;
          if (query.filter) {
            const { name, values } = query.filter;
            const entry = subscription.filters.find((candidate) => candidate.name === name);
            if (!entry || !matchesPrefix(entry.values, values)) continue;
          }
          const { connectionId, subscriptionId, region, jsonrpc } = subscription;
          const after = liveAfter.get(subscription);
          found.push({
            connectionId,
            subscriptionId,
            ...(query.withRegion && region !== undefined ? { region } : {}),
            ...(jsonrpc ? { jsonrpc } : {}),
            ...(after === undefined ? {} : { liveAfter: after }),
          });
        }
      }
      for (let start = 0; start < found.length; start += pageSize) {
        yield found.slice(start, start + pageSize);
      }
    },
    async appendEvent(event) {
      assertEpochSeconds('expireAt', event.expireAt);
      const history = histories.get(event.path) ?? [];
      histories.set(event.path, history);
      const seq = (history.at(-1)?.seq ?? firstSequence(Date.now()) - 1) + 1;
      const eventId = formatEventId(seq);
      const result = event.encode(eventId);
      history.push({ seq, event: structuredClone({ eventId, ...(event.filter ? { filter: event.filter } : {}), result, expireAt: event.expireAt }) });
      return eventId;
    },
    async *readEvents(path, fromEventId) {
      const found = (histories.get(path) ?? []).filter((entry) => entry.event.eventId >= fromEventId).map((entry) => structuredClone(entry.event));
      for (let start = 0; start < found.length; start += pageSize) {
        yield found.slice(start, start + pageSize);
      }
    },
    async readLastEvent(path) {
      const last = histories.get(path)?.at(-1)?.event;
      return last ? { eventId: last.eventId, expireAt: last.expireAt } : undefined;
    },
    async setConnectionKey(connection, key) {
      assertEpochSeconds('expireAt', connection.expireAt);
      const state = connections.get(connection.connectionId);
      if (!state || state.record.key !== undefined) return false;
      state.record = { ...state.record, key };
      return true;
    },
    async findConnection(connectionId) {
      const state = connections.get(connectionId);
      return state ? toRef(state.record, true) : undefined;
    },
    async *findConnectionsByKey(key) {
      yield* pages(liveConnections().filter((record) => record.key === key).map((record) => toRef(record, true)));
    },
    async countConnectionsByKey(key) {
      return liveConnections().filter((record) => record.key === key).length;
    },
    async *findConnectionsByAge({ connectedFrom, connectedTo }) {
      const found = [...connections.values()]
        .map((state) => state.record)
        .filter((record) => record.connectedAt >= connectedFrom && record.connectedAt <= connectedTo)
        .sort((a, b) => a.connectedAt - b.connectedAt)
        .map((record) => toRef(record));
      yield* pages(found);
    },
    connectionCount: () => connections.size,
    subscriptionsOf: (connectionId) => [...(connections.get(connectionId)?.subscriptions.values() ?? [])].map((s) => structuredClone(s)),
  };
}
