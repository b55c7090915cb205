import type { AnyTRPCProcedure, AnyTRPCRouter, inferRouterContext, TRPCError } from '@trpc/server';
import type { SubscriptionsConfig } from '../core/config';
import { toFilterConfig, type FilterConfig, type FilterDeclaration } from '../core/filters';
import { toHistorySettings, type HistoryOptions } from '../core/history';
import { withConnectionHooks, withRouteHooks, type ConnectionHooks, type HookState, type RouteHooks } from '../core/hooks';
import { isSubscriptionProcedure } from '../core/procedures';
import { settleRegions, type RegionsOptions } from '../core/regions';
import type { AnySubscriptionTypes } from '../core/resolver';
import type {
  AnyFilterDef,
  CtxOf,
  DataOf,
  FieldSelector,
  FilterDef,
  FiltersOf,
  HasHistory,
  HistoryDef,
  InputOf,
  OnlyKeys,
  ProcedureSubscriptionTypes,
  PublishFilterFor,
  RecordOf,
  RouteKeys,
  ScalarKeys,
  TrackedOf,
} from '../core/types';
import type { WebSocketHandler } from '../event';
import { withAppDescription } from './describe';
import { omittedHandler, omittedPublisher } from './omitted';
import { presenceMethods, withPresenceDelivery } from './presence';
import {
  toPresenceSettings, type PresenceDef, type PresenceFilterOf, type PresenceMember, type PresenceMemberOf, type PresenceOptions, type RoomOf,
} from '../core/presence';
import { createConnectHandler } from '../handlers/connect';
import { createDisconnectHandler } from '../handlers/disconnect';
import { createMessageHandler } from '../handlers/message';
import type { ConnectHandlerOptions, DisconnectHandlerOptions, MessageHandlerOptions } from '../handlers/options';
import { createConnectionsControl, createStopFn, type ConnectionsResult, type StopResult } from '../publisher/control';
import { createEnqueueFn, type EnqueueResult } from '../publisher/enqueue';
import type { PublishResult } from '../publisher/fan-out';
import type { PublisherOptions } from '../publisher/options';
import { createPublisherRoutes, createPublishFn, type PublishArgsRuntime } from '../publisher/publisher';
import { createRolloverHandler, type RolloverHandler, type RolloverOptions } from '../publisher/rollover';
import { settlePublisherOptions } from '../publisher/settings';
import type { EventBridgeEvent } from '../queue/messages';
import type { QueueHandler } from '../queue/sqs-event';
import type { SubscriptionStore } from '../store/store';
import { createRouteMethodProxy } from '../util/route-proxy';
import type { EventMapper, EventPublish, EventPublishes } from '../worker/events';
import type { WorkerOptions } from '../worker/options';
import { createQueueHandler } from '../worker/worker';

/** `filter()` of one subscription route. */
export interface RouteFilterBuilder<
  TRouter extends AnyTRPCRouter, TFilters extends AnyFilterDef, TPath extends string, TTypes extends AnySubscriptionTypes,
  TKey extends string = string,
> {
  /**
   * Declares a named filter: publishes can then target the subscriptions whose ctx / input
   * fields have given values. Field order (ctx first, then input, each in the order written)
   * is the order a publish must follow: it may give a leading prefix of the fields.
   */
  filter<
    const TName extends string,
    const TCtx extends FieldSelector<CtxOf<TTypes>> = {},
    const TInput extends FieldSelector<InputOf<TTypes>> = {},
  >(filter: {
    /** Unique per route. */
    readonly name: TName extends FiltersOf<TFilters, TPath>['name'] ? `filter "${TName}" already exists on "${TPath}"` : TName;
    /** ctx fields (scalars) to filter on. */
    readonly ctx?: TCtx & OnlyKeys<TCtx, ScalarKeys<CtxOf<TTypes>>>;
    /** input fields (scalars) to filter on. */
    readonly input?: TInput & OnlyKeys<TInput, ScalarKeys<InputOf<TTypes>>>;
  }): SubscriptionsBuilder<TRouter, TFilters | FilterDef<TPath, TName, keyof TCtx & string, keyof TInput & string>, TKey>;
  /**
   * Keeps the route's events for `retentionSeconds`, so that a client that reconnects gets every
   * event after its `lastEventId` exactly once, in order, then the live ones. Each publish then
   * costs one more write and gets its id from the history (`publish()` takes no `id`). Needs a
   * procedure made with `subscriptions.trackedResolver()`.
   */
  history(...options: TrackedOf<TTypes> extends true
    ? [options?: HistoryOptions]
    : [error: 'history() needs a procedure made with subscriptions.trackedResolver()']
  ): SubscriptionsBuilder<TRouter, TFilters | HistoryDef<TPath>, TKey>;
  /**
   * Room presence: the route's subscribers are the members of the rooms its `filter` names (one
   * value of each of its fields), listed and counted by `publisher.routes.<path>.members()` /
   * `.countMembers()`. The route's data must be `PresenceEvent<Member>`: each subscriber gets the
   * room's `sync` first, then `join` / `leave`. A member is a connection key (one user with two
   * tabs is one member), else a connection. `dynamodb()` and `memory()` keep presence.
   */
  presence<const TFilterName extends FiltersOf<TFilters, TPath>['name']>(
    options: [PresenceMemberOf<DataOf<TTypes>>] extends [never]
      ? 'presence() needs a procedure made with subscriptions.resolver<PresenceEvent<Member>>()'
      : PresenceOptions<CtxOf<TTypes>, PresenceMemberOf<DataOf<TTypes>>, TFilterName>,
  ): SubscriptionsBuilder<TRouter, TFilters | PresenceDef<TPath, TFilterName>, TKey>;
  /**
   * Lifecycle hooks of the route, typed by its ctx (after middlewares) and input: `onSubscribe`
   * may refuse (throw) or publish, and what it returns is given to `onUnsubscribe`, which runs
   * once per stored subscription with the reason it ended (docs/runtime.md, "Lifecycle hooks").
   */
  hooks<TState extends HookState | void = undefined>(
    hooks: RouteHooks<CtxOf<TTypes>, InputOf<TTypes>, TState>,
  ): SubscriptionsBuilder<TRouter, TFilters, TKey>;
}

/** `builder.routes`: the router's subscription routes (made with this library), nested like the router. */
export type FilterRoutes<
  TRouter extends AnyTRPCRouter, TFilters extends AnyFilterDef, TRecord, TPrefix extends string, TKey extends string = string,
> = {
  readonly [K in RouteKeys<TRecord>]: TRecord[K] extends AnyTRPCProcedure
    ? RouteFilterBuilder<TRouter, TFilters, `${TPrefix}${K}`, ProcedureSubscriptionTypes<TRecord[K]>, TKey>
    : FilterRoutes<TRouter, TFilters, RecordOf<TRecord[K]>, `${TPrefix}${K}.`, TKey>;
};

/** Arguments of `publish()` for a route. */
export type PublishArgs<TTypes extends AnySubscriptionTypes, TDefs extends AnyFilterDef, THistory extends boolean = false> = {
  /** The event, of the type given to `subscriptions.resolver<T>()`. */
  readonly data: DataOf<TTypes>;
  /**
   * Target subscriptions by a configured filter and a leading prefix of its values.
   * @default - every subscription of the route, each once
   */
  readonly filter?: [TDefs] extends [never] ? never : PublishFilterFor<TDefs, CtxOf<TTypes>, InputOf<TTypes>>;
  /**
   * Don't deliver to this connection (e.g. the sender).
   * @default - none excluded
   */
  readonly excludeConnectionId?: string;
} & (THistory extends true
  ? { readonly id?: never }
  : TrackedOf<TTypes> extends true
    ? {
      /** Event id: the client resubscribes with it as `lastEventId`. */
      readonly id: string;
    }
    : { readonly id?: never });

/** Arguments of `stop()` for a route. */
export type StopArgs<TTypes extends AnySubscriptionTypes, TDefs extends AnyFilterDef> = {
  /**
   * Stop the subscriptions matching a configured filter and a leading prefix of its values.
   * @default - every subscription of the route
   */
  readonly filter?: [TDefs] extends [never] ? never : PublishFilterFor<TDefs, CtxOf<TTypes>, InputOf<TTypes>>;
  /**
   * Fail the subscriptions with this error (the client's `onError` gets its code and message,
   * through the router's `errorFormatter` and transformer) instead of completing them.
   * @default - completed: the client gets a `stopped` result (`onStopped`, `onComplete`)
   */
  readonly error?: TRPCError;
  /**
   * Leave this connection's subscriptions alone.
   * @default - none excluded
   */
  readonly excludeConnectionId?: string;
};

/** `publish()`, `enqueue()` and `stop()` of one route. */
export interface RoutePublisher<TTypes extends AnySubscriptionTypes, TDefs extends AnyFilterDef, THistory extends boolean = false> {
  /**
   * Sends `data` to the matching subscribers; resolves with per-outcome counts (and, on a route
   * with a history, the event's id).
   */
  publish(args: PublishArgs<TTypes, TDefs, THistory>): Promise<PublishResult>;
  /**
   * Queues the same publish on the fan-out queue (the construct's `queuedFanOut`); resolves once
   * SQS has stored it. The fan-out worker (`worker()`) delivers it, in parallel batches. On a
   * route with `.history()` the event is appended first and the result carries its id, as
   * `publish()`'s does.
   */
  enqueue(args: PublishArgs<TTypes, TDefs, THistory>): Promise<EnqueueResult>;
  /**
   * Ends the matching subscriptions from the server: each client's subscription completes (or
   * fails with `error`) and its rows are removed; resolves with per-outcome counts. In a
   * multi-region set-up it stops the subscriptions of every Region, each through its own Region's
   * Management API.
   */
  stop(args?: StopArgs<TTypes, TDefs>): Promise<StopResult>;
}

/** `members()` and `countMembers()` of a presence route (`.routes.<path>.presence()`). */
export interface RoutePresence<TTypes extends AnySubscriptionTypes, TRoom> {
  /** The members in a room now (one strongly consistent Query of the room's partition). */
  members(room: TRoom): Promise<Array<PresenceMember<PresenceMemberOf<DataOf<TTypes>>>>>;
  /** How many members a room has now (the same Query). */
  countMembers(room: TRoom): Promise<number>;
}

/** The presence methods of a route: none unless it is a presence route. */
export type RoutePresenceOf<TTypes extends AnySubscriptionTypes, TFilters extends AnyFilterDef, TPath extends string> =
  [PresenceFilterOf<TFilters, TPath>] extends [never]
    ? {}
    : RoutePresence<TTypes, RoomOf<
      Extract<FiltersOf<TFilters, TPath>, { readonly name: PresenceFilterOf<TFilters, TPath> }>, CtxOf<TTypes>, InputOf<TTypes>
    >>;

/** `publish()` of one route inside an event mapping: describes the publish, sends nothing. */
export interface RouteEventPublisher<TTypes extends AnySubscriptionTypes, TDefs extends AnyFilterDef, THistory extends boolean = false> {
  /**
   * The publish this event causes (checked by the route's types). On a route with `.history()`
   * the worker appends the event before delivering it, as `publish()` does.
   */
  publish(args: PublishArgs<TTypes, TDefs, THistory>): EventPublish;
}

/** The `routes` an event mapping receives, nested like the router. */
export type EventPublishRoutes<TFilters extends AnyFilterDef, TRecord, TPrefix extends string> = {
  readonly [K in RouteKeys<TRecord>]: TRecord[K] extends AnyTRPCProcedure
    ? RouteEventPublisher<ProcedureSubscriptionTypes<TRecord[K]>, FiltersOf<TFilters, `${TPrefix}${K}`>, HasHistory<TFilters, `${TPrefix}${K}`>>
    : EventPublishRoutes<TFilters, RecordOf<TRecord[K]>, `${TPrefix}${K}.`>;
};

/** Maps an EventBridge event to the publishes it causes (none, one or several). */
export type EventMapping<TRouter extends AnyTRPCRouter, TFilters extends AnyFilterDef, TEvent extends EventBridgeEvent> = (
  event: TEvent,
  routes: EventPublishRoutes<TFilters, RecordOf<TRouter>, ''>,
) => EventPublishes | Promise<EventPublishes>;

/** Options of `worker()`. */
export interface WorkerBuilderOptions<TRouter extends AnyTRPCRouter, TFilters extends AnyFilterDef, TEvent extends EventBridgeEvent>
  extends WorkerOptions {
  /**
   * Event-fed publishing: maps each EventBridge event a rule sends to the queue
   * (`TrpcSubscriptionApi.publishOnEvent(rule)`) to typed publishes. An event is published once
   * per event `id`: a copy EventBridge delivers again publishes nothing (keep the mapping
   * deterministic: a retry must publish the same data).
   * @default - EventBridge events are refused (they go to the dead-letter queue)
   */
  readonly events?: EventMapping<TRouter, TFilters, TEvent>;
}

/** Which connections `reconnect()` and `disconnect()` act on. */
export type ConnectionTarget<TKey extends string> =
  /** One connection (e.g. `ctx.connectionId`). */
  | { readonly connectionId: string }
  /** Every connection whose `connectionKey(ctx)` returned this key. */
  | { readonly key: TKey };

/**
 * `publisher.connections`: act on live connections, and presence by connection key. In a
 * multi-region set-up every Region's connections are targets, each reached through its own
 * Region's Management API (docs/multi-region.md).
 */
export interface ConnectionsControl<TKey extends string> {
  /**
   * Sends tRPC's reconnect notification: the client opens a new connection and moves its
   * subscriptions there (tracked ones with `lastEventId`), then closes the old one. `{ all: true }`
   * reaches every connection (e.g. before a deploy), found by connect-minute buckets, not a Scan.
   */
  reconnect(target: ConnectionTarget<TKey> | { readonly all: true }): Promise<ConnectionsResult>;
  /** Closes connections (DeleteConnection) and removes their rows; the client reconnects unless told otherwise. */
  disconnect(target: ConnectionTarget<TKey>): Promise<ConnectionsResult>;
  /** Whether a key has at least one live connection (one `Select: COUNT` Query). */
  isOnline(key: TKey): Promise<boolean>;
  /** How many live connections a key has (one `Select: COUNT` Query per 1 MB of key rows). */
  count(key: TKey): Promise<number>;
}

/** `publisher.routes`. */
export type PublisherRoutes<TFilters extends AnyFilterDef, TRecord, TPrefix extends string> = {
  readonly [K in RouteKeys<TRecord>]: TRecord[K] extends AnyTRPCProcedure
    ? RoutePublisher<ProcedureSubscriptionTypes<TRecord[K]>, FiltersOf<TFilters, `${TPrefix}${K}`>, HasHistory<TFilters, `${TPrefix}${K}`>>
    & RoutePresenceOf<ProcedureSubscriptionTypes<TRecord[K]>, TFilters, `${TPrefix}${K}`>
    : PublisherRoutes<TFilters, RecordOf<TRecord[K]>, `${TPrefix}${K}.`>;
};

/** A type-safe publisher. */
export interface Publisher<TRouter extends AnyTRPCRouter, TFilters extends AnyFilterDef, TKey extends string = string> {
  /** The router's subscription routes: `publisher.routes.chat.onTyping.publish({ data })`, `.stop()`. */
  readonly routes: PublisherRoutes<TFilters, RecordOf<TRouter>, ''>;
  /** Live connections: reconnect, disconnect, presence (keys from the router's `connectionKey`). */
  readonly connections: ConnectionsControl<TKey>;
}

/** Options of `.store()`. */
export interface StoreOptions {
  /**
   * Where connections and subscriptions live.
   * @default - `dynamodb()` (table from `TRPC_SUBSCRIPTIONS_TABLE_NAME`, default client; `memory()`
   * when `TRPC_SUBSCRIPTIONS_STORE=memory`)
   */
  readonly store?: SubscriptionStore;
}

/** The subscriptions of a router: filters, handlers and publisher. */
export interface SubscriptionsBuilder<TRouter extends AnyTRPCRouter, TFilters extends AnyFilterDef = never, TKey extends string = string> {
  /** Declare filters per route: `.routes.onMessage.filter({ name, ctx, input })`. */
  readonly routes: FilterRoutes<TRouter, TFilters, RecordOf<TRouter>, '', TKey>;
  /** Sets the store (`dynamodb()` or `memory()`). */
  store(options?: StoreOptions): SubscriptionsBuilder<TRouter, TFilters, TKey>;
  /**
   * Connection hooks: `onConnect` once a connection is accepted, `onDisconnect` once per accepted
   * connection when it ends, with the reason (docs/runtime.md, "Lifecycle hooks").
   */
  hooks(hooks: ConnectionHooks<inferRouterContext<TRouter>, TKey>): SubscriptionsBuilder<TRouter, TFilters, TKey>;
  /**
   * Multi-region set-ups (docs/multi-region.md): this deployment's Region, written on the rows of
   * its connections, and every Region's Management API endpoint, which publishes post to. The
   * construct sets both in the environment (`TRPC_SUBSCRIPTIONS_REGION`,
   * `TRPC_SUBSCRIPTIONS_REGION_ENDPOINTS`), which is the default; call this to set them in code
   * (tests, local gateways).
   * @throws Error naming the bad value
   */
  regions(options: RegionsOptions): SubscriptionsBuilder<TRouter, TFilters, TKey>;
  /** The `$connect` handler. */
  connect(options?: ConnectHandlerOptions): WebSocketHandler;
  /** The `$default` handler (route with `returnResponse`). */
  handler(options?: MessageHandlerOptions): WebSocketHandler;
  /** The `$disconnect` handler. */
  disconnect(options?: DisconnectHandlerOptions): WebSocketHandler;
  /** A publisher for backend code (and mutations inside `$default`). */
  publisher(options?: PublisherOptions): Publisher<TRouter, TFilters, TKey>;
  /**
   * The same subscriptions (filters, `createContext`, `onError`, store) serving `router`, a
   * router that contains the subscription routes bound here, e.g.
   * `t.mergeRouters(subscriptionRouter, t.router({ ...queries and mutations }))`. With the
   * subscription routes in their own router, the publisher's type does not depend on the app
   * router's, so a mutation of the app router can publish (no circular type, TS7022).
   *
   * @throws Error when `router` is not a tRPC router or lacks a filtered subscription route
   */
  serve<TServed extends AnyTRPCRouter>(router: TServed): SubscriptionsBuilder<TServed, TFilters, TKey>;
  /**
   * The fan-out worker: the handler of the queue's SQS event source (export it as `worker`, the
   * construct's `queuedFanOut.handlerName`). Delivers `enqueue()`d publishes and mapped
   * EventBridge events in parallel batches, exactly once per target across retries.
   */
  worker<TEvent extends EventBridgeEvent = EventBridgeEvent>(options?: WorkerBuilderOptions<TRouter, TFilters, TEvent>): QueueHandler;
  /**
   * The scheduled rollover function: tells connections near API Gateway's 2-hour limit to
   * reconnect (export it as `rollover` from the handlers module; the construct schedules it).
   */
  rollover(options?: RolloverOptions): RolloverHandler;
}

/** Creates the builder over a config; every `filter()` returns a new builder. @internal */
export function createSubscriptionsBuilder(declared: SubscriptionsConfig): SubscriptionsBuilder<AnyTRPCRouter, AnyFilterDef> {
  // The handlers' presence events go out through the invocation's publisher (`$default`,
  // `$disconnect`); a publisher, the worker and the rollover send theirs with their own options.
  // Only a bundle that keeps presence does either (PRESENCE_DEFINE in ../constants.ts): without
  // it `$disconnect` carries no publisher.
  const config = (process.env.TRPC_SUBSCRIPTIONS_ROLE === undefined || process.env.TRPC_SUBSCRIPTIONS_ROLE === 'message'
    || process.env.TRPC_SUBSCRIPTIONS_ROLE === 'disconnect') && process.env.TRPC_SUBSCRIPTIONS_PRESENCE !== 'off'
    ? withPresenceDelivery(declared) : declared;
  const checkRoute = (route: string) => {
    if (!isSubscriptionProcedure(config.router, route)) {
      throw new Error(`routes.${route}: the router has no subscription procedure at "${route}"`);
    }
  };
  const routes = createRouteMethodProxy('routes', ['filter', 'history', 'presence', 'hooks'], '{ name, input: { room: true } }', (route, arg, method) => {
    checkRoute(route);
    if (method === 'presence') {
      // A bundle made without presence fails at load, naming the construct's prop, rather than
      // serve a presence route without its joins and leaves. (An `else`, not code after the throw:
      // esbuild drops a folded `if`'s dead branch with what only it references.)
      if (process.env.TRPC_SUBSCRIPTIONS_PRESENCE === 'off') {
        throw new Error(featureOmitted(`routes.${route}.presence()`, 'room presence', 'presence'));
      } else {
        const presence = new Map(declared.presence);
        presence.set(route, toPresenceSettings(route, arg as PresenceOptions<unknown, unknown>, declared.filters, declared.presence));
        return createSubscriptionsBuilder({ ...declared, presence });
      }
    }
    if (method === 'hooks') {
      // As presence above, for a bundle made without hooks (HOOKS_DEFINE in ../constants.ts).
      if (process.env.TRPC_SUBSCRIPTIONS_HOOKS === 'off') {
        throw new Error(featureOmitted(`routes.${route}.hooks()`, 'lifecycle hooks', 'hooks'));
      } else {
        return createSubscriptionsBuilder({ ...declared, hooks: withRouteHooks(route, arg, declared.hooks) });
      }
    }
    if (method === 'history') {
      // As presence above, for a bundle made without event history (HISTORY_DEFINE in ../constants.ts).
      if (process.env.TRPC_SUBSCRIPTIONS_HISTORY === 'off') {
        throw new Error(featureOmitted(`routes.${route}.history()`, 'event history', 'history'));
      } else {
        const history = new Map(config.history);
        history.set(route, toHistorySettings(route, arg, config.history));
        return createSubscriptionsBuilder({ ...declared, history });
      }
    }
    const existing = config.filters.get(route) ?? [];
    const filter = toFilterConfig(route, arg as FilterDeclaration, existing);
    const filters = new Map<string, readonly FilterConfig[]>(config.filters);
    filters.set(route, [...existing, filter]);
    return createSubscriptionsBuilder({ ...declared, filters });
  });
  // Each role test writes `process.env.TRPC_SUBSCRIPTIONS_ROLE` out in full (ROLE_DEFINE): in a
  // function bundled for one role, esbuild replaces it, folds the test and drops the other roles'
  // factories with every module only they import. Unreplaced, it is undefined: every role is kept.
  return {
    store: (options = {}) => createSubscriptionsBuilder({ ...declared, store: options.store }),
    hooks: (hooks) => {
      if (process.env.TRPC_SUBSCRIPTIONS_HOOKS === 'off') {
        throw new Error(featureOmitted('hooks()', 'lifecycle hooks', 'hooks'));
      } else {
        return createSubscriptionsBuilder({ ...declared, hooks: withConnectionHooks(hooks, declared.hooks) });
      }
    },
    regions: (options) => {
      if (process.env.TRPC_SUBSCRIPTIONS_MULTI_REGION === 'off') {
        throw new Error(featureOmitted('regions()', 'multi-region', 'multiRegion'));
      } else {
        return createSubscriptionsBuilder({ ...declared, regions: settleRegions(options, 'regions()') });
      }
    },
    routes: routes as SubscriptionsBuilder<AnyTRPCRouter, AnyFilterDef>['routes'],
    connect: (options) => (process.env.TRPC_SUBSCRIPTIONS_ROLE === undefined || process.env.TRPC_SUBSCRIPTIONS_ROLE === 'connect'
      ? createConnectHandler(config, options)
      : omittedHandler('connect')),
    handler: (options) => {
      // Local tools (the `dev` console) find the app through its `$default` handler, and publish
      // with the handler's store, endpoint and client: only where no role is defined (not in a
      // function the construct bundles).
      if (process.env.TRPC_SUBSCRIPTIONS_ROLE === undefined) {
        return withAppDescription(createMessageHandler(config, options), config, options?.store, () => createPublisher(config, {
          store: options?.store,
          endpoint: options?.endpoint,
          managementClient: options?.managementClient,
          retry: options?.retry,
          timeouts: options?.timeouts,
          logger: options?.logger,
          metrics: options?.metrics,
        }));
      }
      return process.env.TRPC_SUBSCRIPTIONS_ROLE === 'message' ? createMessageHandler(config, options) : omittedHandler('handler');
    },
    disconnect: (options) => (process.env.TRPC_SUBSCRIPTIONS_ROLE === undefined || process.env.TRPC_SUBSCRIPTIONS_ROLE === 'disconnect'
      ? createDisconnectHandler(config, options)
      : omittedHandler('disconnect')),
    // Queries and mutations publish from `$default`; an EventBridge mapping may act on connections.
    publisher: (options) => (process.env.TRPC_SUBSCRIPTIONS_ROLE === undefined || process.env.TRPC_SUBSCRIPTIONS_ROLE === 'message'
      || process.env.TRPC_SUBSCRIPTIONS_ROLE === 'worker'
      ? createPublisher(config, options)
      : omittedPublisher() as Publisher<AnyTRPCRouter, AnyFilterDef>),
    rollover: (options) => (process.env.TRPC_SUBSCRIPTIONS_ROLE === undefined || process.env.TRPC_SUBSCRIPTIONS_ROLE === 'rollover'
      ? createRolloverHandler(process.env.TRPC_SUBSCRIPTIONS_PRESENCE !== 'off' ? withPresenceDelivery(config, options) : config, options)
      : omittedHandler('rollover')),
    serve: (router) => {
      if (!router?._def?.router) {
        throw new Error('serve(): `router` must be a tRPC router (t.router({...}))');
      }
      for (const route of config.filters.keys()) {
        if (!isSubscriptionProcedure(router, route)) {
          throw new Error(`serve(): the router has no subscription procedure at "${route}", which has filters`);
        }
      }
      return createSubscriptionsBuilder({ ...declared, router }) as never;
    },
    worker: (options = {}) => (process.env.TRPC_SUBSCRIPTIONS_ROLE === undefined || process.env.TRPC_SUBSCRIPTIONS_ROLE === 'worker'
      ? createWorker(config, options as WorkerBuilderOptions<AnyTRPCRouter, AnyFilterDef, EventBridgeEvent>)
      : omittedHandler('worker')),
  };
}

/** Why a builder call fails in a bundle made without its feature (the construct's `bundleFeatures`). */
function featureOmitted(call: string, feature: string, prop: string): string {
  return `${call}: this function's bundle was made without ${feature}: TrpcSubscriptionApi bundles ${feature} only with \`bundleFeatures.${prop}\` true (the default)`;
}

/** `publisher()`: publish, enqueue and stop per route, and the connections' control. */
function createPublisher(declared: SubscriptionsConfig, options: PublisherOptions | undefined): Publisher<AnyTRPCRouter, AnyFilterDef> {
  // The leaves of the gone connections it removes go out through this publisher's store and API.
  const config = process.env.TRPC_SUBSCRIPTIONS_PRESENCE !== 'off' ? withPresenceDelivery(declared, options) : declared;
  const settings = settlePublisherOptions(config, options);
  return {
    routes: createPublisherRoutes(createPublishFn(config, options), {
      stop: createStopFn(config, settings),
      enqueue: createEnqueueFn(config, options),
      ...(process.env.TRPC_SUBSCRIPTIONS_PRESENCE !== 'off' && config.presence?.size ? { methods: presenceMethods(config, settings) } : {}),
    }) as Publisher<AnyTRPCRouter, AnyFilterDef>['routes'],
    connections: createConnectionsControl(settings) as ConnectionsControl<string>,
  };
}

/** `worker()`: the queue's handler, with the EventBridge mapping given typed publish descriptions. */
function createWorker(config: SubscriptionsConfig, options: WorkerBuilderOptions<AnyTRPCRouter, AnyFilterDef, EventBridgeEvent>): QueueHandler {
  const { events, ...workerOptions } = options;
  // The leaves of the gone targets it removes go out through the worker's store and API.
  const { store, endpoint, managementClient, logger, metrics } = workerOptions;
  const wired = process.env.TRPC_SUBSCRIPTIONS_PRESENCE !== 'off'
    ? withPresenceDelivery(config, { store, endpoint, managementClient, logger, metrics }) : config;
  const eventRoutes = createRouteMethodProxy('routes', 'publish', '{ data }', (path, args): EventPublish => ({ path, args: args as PublishArgsRuntime }));
  const mapper: EventMapper | undefined = events ? (event) => events(event as never, eventRoutes as never) : undefined;
  return createQueueHandler(wired, workerOptions, mapper);
}
