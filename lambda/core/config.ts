import type { AnyTRPCRouter, inferRouterContext, TRPCError, TRPCProcedureType } from '@trpc/server';
import type { FilterRegistry } from './filters';
import type { HistoryRegistry } from './history';
import type { HookRegistry } from './hooks';
import type { PresenceDelivery, PresenceRegistry } from './presence';
import type { RegionSettings } from './regions';
import type { WebSocketEvent } from '../event';
import type { ConnectSnapshot, SubscriptionStore } from '../store/store';

/** What `createContext` receives, on `$connect` and on every message. */
export interface CreateContextOptions {
  /** The API Gateway event being handled (`$connect` or `$default`). */
  readonly event: WebSocketEvent;
  /** API Gateway connection id. */
  readonly connectionId: string;
  /** The tRPC `connectionParams` the client sent (`null` when it sent none, or on `$connect`). */
  readonly connectionParams: Record<string, string> | null;
  /** What `$connect` saw (query string, authorizer context, source IP, opted-in headers). */
  readonly connect: ConnectSnapshot;
}

/** Builds the router's context. Throw a `TRPCError` (e.g. UNAUTHORIZED) to refuse. */
export type CreateContextFn<TRouter extends AnyTRPCRouter> = (
  opts: CreateContextOptions,
) => inferRouterContext<TRouter> | Promise<inferRouterContext<TRouter>>;

/** What `onError` receives (the same fields as tRPC's adapters, `req` is the event). */
export interface OnErrorOptions<TRouter extends AnyTRPCRouter> {
  readonly error: TRPCError;
  readonly type: TRPCProcedureType | 'unknown';
  readonly path: string | undefined;
  readonly input: unknown;
  readonly ctx: inferRouterContext<TRouter> | undefined;
  readonly req: WebSocketEvent;
}

/** Called for every error sent to a client or refused connection. */
export type OnErrorFn<TRouter extends AnyTRPCRouter> = (opts: OnErrorOptions<TRouter>) => void;

/** Options of `subscriptions.router()` other than `createContext`. */
export interface RouterOptionsBase<TRouter extends AnyTRPCRouter> {
  /** The tRPC router whose subscriptions are served. */
  readonly router: TRouter;
  /**
   * Called for every error that is sent to a client (as tRPC adapters' `onError`).
   * @default - errors are only logged (server errors) by the handler's logger
   */
  readonly onError?: OnErrorFn<TRouter>;
  /**
   * Send the messages of unexpected errors (anything thrown that is not a `TRPCError` with its own
   * message, e.g. a plain `Error` or a DynamoDB failure) to clients. When false they get
   * INTERNAL_SERVER_ERROR with the message "Internal server error"; `onError`, the logger and the
   * router's `errorFormatter` (as `error.cause`) still see the original.
   * @default - tRPC's `isDev` of the router: true unless `NODE_ENV` is `production`
   */
  readonly exposeInternalErrors?: boolean;
}

/** The `connectionKey` option of `subscriptions.router()`. */
export interface ConnectionKeyOption<TRouter extends AnyTRPCRouter, TKey extends string> {
  /**
   * The connection's key, from the ctx `createContext` built for it (e.g. `` (ctx) => `user:${ctx.userId}` ``):
   * `publisher.connections` can then disconnect or reconnect every connection of a key and count
   * them (presence), by Query. Computed once per connection, at `$connect` (or when its
   * `connectionParams` arrive) and stored in a `KEY#` row; `undefined` stores nothing.
   * @default - connections have no key (no row, no cost)
   */
  readonly connectionKey?: (ctx: inferRouterContext<TRouter>) => TKey | undefined;
}

/**
 * Options of `subscriptions.router()`. `createContext` is required when the router's context has
 * required fields, optional (ctx `{}`) otherwise.
 */
export type SubscriptionsRouterOptions<TRouter extends AnyTRPCRouter, TKey extends string = string> = RouterOptionsBase<TRouter> &
ConnectionKeyOption<TRouter, TKey> &
({} extends inferRouterContext<TRouter>
  ? {
    /**
     * Builds ctx for every request from the persisted connection state.
     * @default - ctx is `{}`
     */
    readonly createContext?: CreateContextFn<TRouter>;
  }
  : {
    /** Builds ctx for every request from the persisted connection state. */
    readonly createContext: CreateContextFn<TRouter>;
  });

/** Everything the handlers and the publisher need, collected by the builder. @internal */
export interface SubscriptionsConfig {
  readonly router: AnyTRPCRouter;
  readonly createContext?: CreateContextFn<AnyTRPCRouter>;
  readonly onError?: OnErrorFn<AnyTRPCRouter>;
  readonly exposeInternalErrors?: boolean;
  readonly connectionKey?: (ctx: any) => string | undefined;
  readonly store?: SubscriptionStore;
  readonly filters: FilterRegistry;
  /** Routes that keep an event history (`.routes.<path>.history()`). */
  readonly history?: HistoryRegistry;
  /** Lifecycle hooks (`.routes.<path>.hooks()`, `.hooks()`). */
  readonly hooks?: HookRegistry;
  /** Multi-region settings given to `.regions()` (else the environment's, read by each handler and publisher). */
  readonly regions?: RegionSettings;
  /** Presence routes (`.routes.<path>.presence()`). */
  readonly presence?: PresenceRegistry;
  /** Sends presence events (the builder wires it to the app's publisher when there are presence routes). */
  readonly presenceDelivery?: PresenceDelivery;
}
