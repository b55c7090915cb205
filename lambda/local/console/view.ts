/**
 * What the console's page shows: the JSON the server pushes (one `view` event per change) and
 * the bodies of the page's requests. Types only, shared by the server and the page.
 */
import type { FilterValue, RequestId } from '../../store/store';

/** Everything the page renders. */
export interface ConsoleView {
  /** The server's clock when the view was made (ages are computed against it). */
  readonly now: number;
  /** The app's routes; absent when the `$default` handler carries no description (e.g. a wrapped handler). */
  readonly routes?: readonly RouteView[];
  /** The open connections, the newest {@link MAX_CONNECTIONS_SHOWN}. */
  readonly connections: readonly ConnectionView[];
  /** All open connections and their subscriptions, listed or not. */
  readonly totals: { readonly connections: number; readonly subscriptions: number };
  /** Newest first. */
  readonly stream: readonly StreamEntryView[];
  /** The fan-out queue, when the app has one locally. */
  readonly queue?: QueueView;
}

/** A filter of a route: the fields a publish may give, in order (ctx first). */
export interface FilterView {
  readonly name: string;
  readonly ctx: readonly string[];
  readonly input: readonly string[];
}

/** A subscription route of the app. */
export interface RouteView {
  readonly path: string;
  readonly filters: readonly FilterView[];
  /** The route keeps a history: a publish takes no `id`. */
  readonly history: boolean;
  /** The data of the route's latest publish seen here (JSON), to start a test event from. */
  readonly lastData?: string;
}

/** One value of a subscription's filter. */
export interface FilterFieldView {
  readonly group: 'ctx' | 'input';
  readonly field: string;
  /** The value; `{ digest }` when the store keeps only a digest of a long value. */
  readonly value: FilterValue | { readonly digest: string };
}

/** A live subscription. */
export interface SubscriptionView {
  readonly id: RequestId;
  readonly path: string;
  /** The input the client sent (before the procedure's parser). */
  readonly input?: unknown;
  /** Each filter of the route with this subscription's values (from the store). */
  readonly filters: ReadonlyArray<{ readonly name: string; readonly values: readonly FilterFieldView[] }>;
}

/** An open connection. */
export interface ConnectionView {
  readonly connectionId: string;
  readonly connectedAt: number;
  readonly sourceIp: string;
  readonly userAgent?: string;
  /** `connectionKey(ctx)`, when the router has one. */
  readonly key?: string;
  /** What ctx is built from: the client's `connectionParams`, the authorizer's context, the query string. */
  readonly ctx?: {
    readonly connectionParams?: Readonly<Record<string, string>> | null;
    readonly authorizer?: Readonly<Record<string, unknown>>;
    readonly query?: Readonly<Record<string, string | undefined>>;
  };
  /** The connection was refused (createContext threw): its requests get this error. */
  readonly refusal?: string;
  readonly subscriptions: readonly SubscriptionView[];
}

/** How one target of a publish (or a control call) ended. */
export type TargetOutcome = 'pending' | 'delivered' | 'gone' | 'throttled' | 'failed';

/** One connection (and subscription) a stream entry reached. */
export interface TargetView {
  readonly connectionId: string;
  readonly subscriptionId?: RequestId;
  readonly outcome: TargetOutcome;
  /** HTTP status of the last attempt; absent when it got none. */
  readonly status?: number;
  /** The error type of the last attempt, e.g. `LimitExceededException`. */
  readonly errorType?: string;
  /** Attempts seen (the SDK retries throttling and 5xx). */
  readonly attempts: number;
}

/** What a stream entry was. */
export type StreamKind = 'publish' | 'stop' | 'error' | 'reconnect' | 'disconnect';

/** One publish (or server-side control action) and what became of each target. */
export interface StreamEntryView {
  readonly id: number;
  readonly at: number;
  readonly kind: StreamKind;
  /** The route, when the targets are subscriptions. */
  readonly path?: string;
  /** The published data (JSON, read back with the router's transformer), or the error sent. */
  readonly detail?: string;
  /** The tracked event id. */
  readonly eventId?: string;
  /** Sent from this console. */
  readonly fromConsole?: boolean;
  /** The publisher's own counts (publishes sent from this console). */
  readonly result?: { readonly matched: number; readonly delivered: number; readonly gone: number; readonly failed: number };
  /** The first targets (a large fan-out lists only the first {@link MAX_TARGETS_SHOWN}). */
  readonly targets: readonly TargetView[];
  /** Targets not listed in `targets`. */
  readonly more?: number;
  /** Targets per outcome, listed or not. */
  readonly tally: Readonly<Record<TargetOutcome, number>>;
}

/** Targets listed per stream entry; the rest are counted in its `tally`. */
export const MAX_TARGETS_SHOWN = 100;

/** Connections listed in a view (the newest); `totals` counts them all. */
export const MAX_CONNECTIONS_SHOWN = 200;

/** The local fan-out queue and its worker. */
export interface QueueView {
  readonly sent: number;
  /** Waiting to be received. */
  readonly waiting: number;
  /** Held by a worker invocation (or invisible until their visibility timeout ends). */
  readonly inFlight: number;
  readonly deleted: number;
  readonly deadLettered: number;
  readonly invocations: number;
  /** Newest first. */
  readonly messages: readonly QueueMessageView[];
}

/** A message of the queue. */
export interface QueueMessageView {
  readonly messageId: string;
  readonly at: number;
  /** `publish` (from `enqueue()`), `deliver` (a batch cut by the worker), `event` (EventBridge) or `unknown`. */
  readonly kind: string;
  readonly path?: string;
  /** Targets of a `deliver` batch. */
  readonly targets?: number;
  readonly state: 'waiting' | 'in-flight' | 'done' | 'retrying' | 'dead-lettered';
  readonly receives: number;
}

/** Body of `POST /_console/api/publish` (and `/enqueue`). */
export interface PublishRequest {
  readonly path: string;
  /** JSON text of the data. */
  readonly data: string;
  readonly filter?: {
    readonly name: string;
    readonly ctx?: Readonly<Record<string, FilterValue>>;
    readonly input?: Readonly<Record<string, FilterValue>>;
  };
  /** Event id (tracked routes without a history). */
  readonly id?: string;
}

/** Body of `POST /_console/api/stop`: completes the matching subscriptions. */
export interface StopRequest {
  readonly path: string;
  readonly filter?: PublishRequest['filter'];
}

/** Body of `POST /_console/api/disconnect` and `/reconnect`. */
export type ConnectionsRequest = { readonly connectionId: string } | { readonly key: string } | { readonly all: true };

/** What every `POST /_console/api/*` answers: the publisher's result, or why it failed. */
export type ActionResponse = { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly error: string };
