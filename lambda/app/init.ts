import type { AnyTRPCRouter } from '@trpc/server';
import { createSubscriptionsBuilder, type SubscriptionsBuilder } from './builder';
import type { SubscriptionsConfig, SubscriptionsRouterOptions } from '../core/config';
import { createResolver, createTrackedResolver, type SubscriptionResolver } from '../core/resolver';

/** The subscriptions instance: resolvers for procedures, and the router binding. */
export interface Subscriptions {
  /**
   * A resolver for `t.procedure.subscription(...)`: subscribers receive the `data` of
   * `publisher.routes.<path>.publish({ data })`. Middlewares and input parsing run when the
   * subscription starts; the final ctx and input feed the route's filters.
   */
  resolver<TData>(): SubscriptionResolver<TData, false>;
  /**
   * Like {@link Subscriptions.resolver}, with tracked events: `publish({ data, id })` sends tRPC's
   * tracked envelope, clients see `{ id, data }` and resubscribe with `lastEventId` (merged into
   * the procedure's input).
   */
  trackedResolver<TData>(): SubscriptionResolver<TData, true>;
  /** Binds the router (and `createContext`); then configure filters, store, handlers, publisher. */
  router<TRouter extends AnyTRPCRouter, TKey extends string = string>(
    options: SubscriptionsRouterOptions<TRouter, TKey>,
  ): SubscriptionsBuilder<TRouter, never, TKey>;
}

/** Initializes subscriptions for a tRPC v11 router served by API Gateway WebSockets. */
export function initSubscriptions(): Subscriptions {
  return {
    resolver: createResolver,
    trackedResolver: createTrackedResolver,
    router: <TRouter extends AnyTRPCRouter, TKey extends string = string>(options: SubscriptionsRouterOptions<TRouter, TKey>) => {
      if (!options?.router?._def?.router) {
        throw new Error('subscriptions.router(): `router` must be a tRPC router (t.router({...}))');
      }
      const config: SubscriptionsConfig = {
        router: options.router,
        createContext: options.createContext as SubscriptionsConfig['createContext'],
        onError: options.onError as SubscriptionsConfig['onError'],
        exposeInternalErrors: options.exposeInternalErrors,
        connectionKey: options.connectionKey,
        filters: new Map(),
      };
      if (options.connectionKey !== undefined && typeof options.connectionKey !== 'function') {
        throw new Error(`subscriptions.router(): \`connectionKey\` must be a function (ctx) => string | undefined, got: ${typeof options.connectionKey}`);
      }
      return createSubscriptionsBuilder(config) as unknown as SubscriptionsBuilder<TRouter, never, TKey>;
    },
  };
}
