import type { AnyTRPCRouter } from '@trpc/server';
import { ConnectionCache } from './connection-cache';
import type { BaseHandlerOptions } from './options';
import type { SubscriptionsConfig } from '../core/config';
import { getDefaultStore } from '../core/default-store';
import { defaultLogger, type Logger } from '../core/logger';
import type { SubscriptionStore } from '../store/store';

/** What every handler works with. @internal */
export interface Runtime {
  readonly config: SubscriptionsConfig;
  readonly router: AnyTRPCRouter;
  readonly logger: Logger;
  /** Settled connection rows this instance has read (disabled unless the handler sizes it). */
  readonly connections: ConnectionCache;
  /** The store (created on first use when it is the default). */
  store(): SubscriptionStore;
}

/** Combines the builder's config with a handler's options. @internal */
export function createRuntime(config: SubscriptionsConfig, options: BaseHandlerOptions, connectionCacheSize = 0): Runtime {
  const explicit = options.store ?? config.store;
  return {
    config,
    router: config.router,
    logger: options.logger ?? defaultLogger,
    store: () => explicit ?? getDefaultStore(),
    connections: new ConnectionCache(connectionCacheSize),
  };
}
