import type { HistoryAppend, HistoryEventRecord, HistoryFence } from './history';
import type { PresenceRows } from './presence';

/**
 * The persistence contract between the handlers, the publisher and a store implementation
 * (`dynamodb()` for production, `memory()` for users' unit tests). Both implementations must
 * behave identically; the shared suite in `test/lambda/store/store-conformance.ts` runs against
 * each. Keys and encoding: ./keys.ts and docs/table-design.md.
 */

/** A tRPC request id as the client sent it (the client uses a counter; strings are allowed). */
export type RequestId = string | number;

/** A scalar value a filter field may hold. `undefined` fields are stored as `null`. */
export type FilterValue = string | number | boolean | null;

/** What `$connect` saw, kept on the connection row so every later message can build ctx. */
export interface ConnectSnapshot {
  /** Query string of the `$connect` request. */
  readonly queryStringParameters?: Record<string, string | undefined>;
  /** Headers of the `$connect` request that the app chose to persist. */
  readonly headers?: Record<string, string | undefined>;
  /** The `$connect` authorizer's context, if an authorizer ran. */
  readonly authorizer?: Record<string, unknown>;
  /** Client IP address. */
  readonly sourceIp?: string;
}

/** A WebSocket connection as stored. */
export interface ConnectionRecord {
  /** API Gateway connection id. */
  readonly connectionId: string;
  /** When the connection opened, epoch milliseconds. */
  readonly connectedAt: number;
  /** When the rows of this connection expire (TTL), integer epoch seconds. */
  readonly expireAt: number;
  /**
   * True while the client announced `connectionParams=1` on the URL and its
   * `connectionParams` frame has not been stored yet.
   */
  readonly awaitingConnectionParams: boolean;
  /** The tRPC `connectionParams` the client sent, once stored. */
  readonly connectionParams?: Record<string, string> | null;
  /** What `$connect` saw. */
  readonly connect: ConnectSnapshot;
  /**
   * The Region whose API the connection is on (multi-region set-ups only; see docs/multi-region.md).
   * @default - not stored: the publisher's own Region
   */
  readonly region?: string;
  /**
   * The app's key of the connection (`connectionKey(ctx)`, e.g. a user id): the connection is
   * findable by it (disconnect, reconnect, presence).
   * @default - no key: nothing is indexed
   */
  readonly key?: string;
  /**
   * The connection was refused (its ctx could not be created): the serialized tRPC error its
   * requests are answered with before it is closed.
   * @default - not refused
   */
  readonly refusal?: string;
}

/** A connection found by its id, its key or its age. */
export interface ConnectionRef {
  readonly connectionId: string;
  /** When the connection opened, epoch milliseconds. */
  readonly connectedAt: number;
  /** The connection's Region (multi-region set-ups only). */
  readonly region?: string;
  /**
   * The connection's key, when the read knows it (found by id or by key; not by age).
   * @default - unknown, or no key
   */
  readonly key?: string;
}

/** Connections opened in a time range (epoch milliseconds, both ends included). */
export interface ConnectionAgeQuery {
  readonly connectedFrom: number;
  readonly connectedTo: number;
}

/** One index entry: the subscription is findable under this filter with these values. */
export interface FilterEntry {
  /** The filter's configured name. */
  readonly name: string;
  /** The values of the filter's fields, ctx fields first then input fields, in declared order. */
  readonly values: readonly FilterValue[];
}

/** A subscription to store. */
export interface SubscriptionRecord {
  readonly connectionId: string;
  /** The id of the client's `subscription` request; data frames carry it. */
  readonly subscriptionId: RequestId;
  /** Procedure path, e.g. `chat.onTyping`. */
  readonly path: string;
  /** One entry per configured filter of the path. The unfiltered entry is implied. */
  readonly filters: readonly FilterEntry[];
  /** Integer epoch seconds (normally the connection's `expireAt`). */
  readonly expireAt: number;
  /**
   * The connection's Region, written on the subscription's rows (multi-region set-ups only).
   * @default - not stored: the publisher's own Region
   */
  readonly region?: string;
  /**
   * The request carried `jsonrpc: "2.0"`: its data frames echo it, as tRPC's ws adapter does.
   * @default - not echoed
   */
  readonly jsonrpc?: '2.0';
  /**
   * What the route's `onSubscribe` hook returned (serialized JSON), kept for its `onUnsubscribe`.
   * @default - none
   */
  readonly hookState?: string;
}

/** A subscription whose removal this call won (it runs the route's `onUnsubscribe`). */
export interface EndedSubscription {
  readonly connectionId: string;
  readonly subscriptionId: RequestId;
  readonly path: string;
  /** {@link SubscriptionRecord.hookState}. */
  readonly hookState?: string;
  /**
   * The server was ending this subscription ({@link SubscriptionStore.markEnding} with its id).
   * @default - not marked
   */
  readonly ending?: ConnectionEnding;
}

/** A connection row whose removal this call won (it runs `onDisconnect`). */
export interface EndedConnection {
  readonly connectionId: string;
  readonly connectedAt: number;
  readonly key?: string;
  /** The connection was accepted (neither refused nor still awaiting its `connectionParams`). */
  readonly accepted: boolean;
}

/** What a removal that reports its wins removed (lifecycle hooks: docs/runtime.md). */
export interface EndedRemoval {
  /** The subscriptions whose rows this call deleted, each won by exactly one call. */
  readonly subscriptions: readonly EndedSubscription[];
  /** Set when this call deleted the connection row. */
  readonly connection?: EndedConnection;
  /**
   * How the server was ending the connection when it was read ({@link SubscriptionStore.markEnding}).
   * @default - the server was not ending it
   */
  readonly ending?: ConnectionEnding;
}

/**
 * How the server ends a connection: `moving` (it told the client to reconnect: the stops and the
 * close that follow are a move), `closing` (it closes the connection: what follows is its doing).
 */
export type ConnectionEnding = 'moving' | 'closing';

/** Outcome of {@link SubscriptionStore.addSubscription}. */
export type AddSubscriptionResult =
  /** All rows are durable: the subscription is findable by every publish that matches. */
  | 'created'
  /** The connection row does not exist (disconnected, or never stored): nothing was written. */
  | 'connection-gone'
  /** A subscription with this id already exists on the connection: nothing was written. */
  | 'duplicate'
  /** A stop for this id arrived first: nothing was written. */
  | 'stopped'
  /**
   * The connection already holds {@link AddSubscriptionOptions.maxSubscriptions} live
   * subscriptions: nothing was written. Only returned when a maximum was given.
   */
  | 'limit-reached'
  /**
   * The route's history holds an event after {@link AddSubscriptionOptions.historyFence}'s
   * `afterEventId`: nothing was written. Only returned when a fence was given.
   */
  | 'history-moved';

/** Options of {@link SubscriptionStore.addSubscription}. */
export interface AddSubscriptionOptions {
  /**
   * Most live subscriptions the connection may hold, counting this one (a positive integer).
   * The count is kept atomically with the subscription's rows, so concurrent adds never pass it;
   * a stop that removed a stored subscription frees a slot.
   * @default - no maximum
   */
  readonly maxSubscriptions?: number;
  /**
   * Store the subscription only if the route's history holds no event after this one, in the same
   * atomic write, and mark it live after this event ({@link SubscriberRef.liveAfter}): a resuming
   * subscription goes live exactly where its replay ended.
   * @default - no condition on the history
   */
  readonly historyFence?: HistoryFence;
}

/** A subscriber found by a publish query. */
export interface SubscriberRef {
  readonly connectionId: string;
  readonly subscriptionId: RequestId;
  /**
   * Set on a subscription that resumed from its route's history: every event up to this id was
   * replayed to it, so a publish of such an event (one whose subscriber query ran after the
   * subscription was stored) must skip it.
   * @default - none: the subscription takes every event it matches
   */
  readonly liveAfter?: string;
  /** The connection's Region, when the rows carry one (multi-region set-ups). */
  readonly region?: string;
  /** Set when the subscription's request carried `jsonrpc: "2.0"`. */
  readonly jsonrpc?: '2.0';
}

/** What a publish looks for. */
export interface SubscriberQuery {
  /** Procedure path. */
  readonly path: string;
  /**
   * Match a named filter on a leading prefix of its values (all values: exact match).
   * Omitted: every subscription of the path, each exactly once.
   */
  readonly filter?: FilterEntry;
  /**
   * Read each subscriber's Region too (multi-region publishes; single-region ones never ask, so
   * their requests stay as they were).
   * @default false
   */
  readonly withRegion?: boolean;
}

/** Persistence of connections and subscriptions. */
export interface SubscriptionStore {
  /**
   * Store a new connection (overwrites a row with the same id), its row in the bucket of the
   * minute it opened and, when it has a `key`, its row in the key's partition.
   */
  putConnection(connection: ConnectionRecord): Promise<void>;
  /** Read a connection (strongly consistent). */
  getConnection(connectionId: string): Promise<ConnectionRecord | undefined>;
  /**
   * Find a connection by id, reading only its id, age and Region (strongly consistent; never its
   * params or `$connect` snapshot): what server-side control needs to reach it.
   * @returns undefined when the connection row does not exist
   */
  findConnection(connectionId: string): Promise<ConnectionRef | undefined>;
  /**
   * Store the tRPC `connectionParams` of a connection and clear `awaitingConnectionParams`, in one
   * conditional write that succeeds only while `awaitingConnectionParams` is true: params are
   * accepted once, even when two frames carrying them are handled at the same moment.
   * @returns false when the connection row does not exist or its params were already stored
   */
  setConnectionParams(connectionId: string, params: Record<string, string> | null): Promise<boolean>;
  /**
   * Mark a connection refused with `refusal` (see {@link ConnectionRecord.refusal}), clear
   * `awaitingConnectionParams` and set its TTL to `expireAt`, in one conditional write that
   * succeeds only while `awaitingConnectionParams` is true (a connection whose params were
   * accepted is never refused afterwards).
   * @returns false when the connection row does not exist or its params were already settled
   */
  refuseConnection(connectionId: string, refusal: string, expireAt: number): Promise<boolean>;
  /**
   * Store a subscription and its index entries atomically, only if the connection row exists,
   * neither the subscription nor a stop tombstone for its id exists and, when
   * `options.maxSubscriptions` is given, the connection holds fewer live subscriptions than that.
   * When several conditions fail, the outcome is the first of: `connection-gone`, `stopped` or
   * `duplicate`, `limit-reached`.
   * @throws RangeError when `maxSubscriptions` is not a positive integer
   */
  addSubscription(subscription: SubscriptionRecord, options?: AddSubscriptionOptions): Promise<AddSubscriptionResult>;
  /**
   * Remove a subscription and its index entries, freeing its slot in the connection's count. When
   * it does not exist yet, leave a tombstone (expiring with the connection) so that a later
   * `addSubscription` of that id is refused; a tombstone does not count as a live subscription.
   * @returns true when a stored subscription was removed
   */
  removeSubscription(connectionId: string, subscriptionId: RequestId): Promise<boolean>;
  /**
   * Remove the connection and every row that belongs to it. Idempotent; safe to call
   * concurrently with `addSubscription` (which then returns `connection-gone` or is cleaned up).
   * `known` names the connection's age and key rows when the caller read them earlier: they are
   * removed even when a concurrent removal (its `$disconnect`) deleted the connection row first,
   * so presence is right once this resolves.
   */
  removeConnection(connectionId: string, known?: Pick<ConnectionRef, 'connectedAt' | 'key'>): Promise<void>;
  /**
   * {@link removeSubscription} reporting what it won: the subscription when this call deleted its
   * row (conditionally: of concurrent removals exactly one gets it), and how the server was
   * ending its connection. Needed by apps with lifecycle hooks; `dynamodb()` and `memory()` implement it.
   */
  endSubscription?(connectionId: string, subscriptionId: RequestId): Promise<Omit<EndedRemoval, 'connection'>>;
  /**
   * {@link removeConnection} reporting what it won: the connection row and each subscription row
   * it deleted conditionally (of concurrent removals exactly one wins each), then everything else
   * as `removeConnection`. Needed by apps with lifecycle hooks.
   */
  endConnection?(connectionId: string, known?: Pick<ConnectionRef, 'connectedAt' | 'key'>): Promise<EndedRemoval>;
  /**
   * Mark how the server is ending a connection, before it tells the client (a reconnect
   * notification) or closes it, or with `subscriptionId` one subscription (`closing`: a
   * server-side stop, before its frame): the removals that follow report it. Does nothing when
   * the row does not exist.
   */
  markEnding?(connectionId: string, ending: ConnectionEnding, subscriptionId?: RequestId): Promise<void>;
  /** Stream the subscribers matching a query, page by page (never a Scan, always paginated). */
  findSubscribers(query: SubscriberQuery): AsyncIterable<readonly SubscriberRef[]>;
  /**
   * Appends an event to its route's history and returns the id it was given: the next id of the
   * route's sequence (ids order the route's events by the time their append committed). Needed
   * by routes with `.history()`; `dynamodb()` and `memory()` implement it.
   */
  appendEvent?(event: HistoryAppend): Promise<string>;
  /**
   * Streams a route's history from `fromEventId` (inclusive) in id order, page by page (never a
   * Scan). Events past their retention may still appear until they are deleted.
   */
  readEvents?(path: string, fromEventId: string): AsyncIterable<readonly HistoryEventRecord[]>;
  /**
   * The last event of a route's history (strongly consistent), or undefined when it holds none:
   * what tells a resume from an id the history never issued from one that expired.
   */
  readLastEvent?(path: string): Promise<Pick<HistoryEventRecord, 'eventId' | 'expireAt'> | undefined>;
  /**
   * Give a connection its key once it is known (after `connectionParams`), when it has none:
   * the connection row and the key's index row are written together.
   * @returns false when the connection row does not exist or already has a key
   */
  setConnectionKey(connection: ConnectionRecord, key: string): Promise<boolean>;
  /** Stream the live connections of a key (rows not expired), page by page, by Query. */
  findConnectionsByKey(key: string): AsyncIterable<readonly ConnectionRef[]>;
  /** Number of live connections of a key (a `Select: COUNT` Query: no item is returned). */
  countConnectionsByKey(key: string): Promise<number>;
  /**
   * Stream the connections opened in a time range, oldest minute first, by Query of the minute
   * buckets the range covers (never a Scan).
   */
  findConnectionsByAge(query: ConnectionAgeQuery): AsyncIterable<readonly ConnectionRef[]>;
  /** The requests of room presence (`.routes.<path>.presence()`); `dynamodb()` and `memory()` implement them. */
  presence?(): PresenceRows;
}
