import type { AnyTRPCRouter } from '@trpc/server';
import { ConnectionCache } from './connection-cache';
import type { HandlerSettings } from './settings';
import type { SubscriptionsConfig } from '../core/config';
import type { FrameContext } from '../protocol/encode';
import type { SubscriptionStore } from '../store/store';
import { createMetricsRecorder, type MetricsRecorder } from '../util/emf';
import type { Logger } from '../util/logger';

/** What every handler works with; it is also the frame context of the frames it encodes. @internal */
export interface Runtime extends FrameContext {
  readonly config: SubscriptionsConfig;
  readonly router: AnyTRPCRouter;
  readonly logger: Logger;
  /** What the invocation in progress counts; printed when it ends (`handlers/instrument.ts`). */
  readonly metrics: MetricsRecorder;
  /** Settled connection rows this instance has read (disabled unless the handler sizes it). */
  readonly connections: ConnectionCache;
  /** This deployment's Region (multi-region set-ups), written on the rows of its connections. */
  readonly region?: string;
  /** The store (created on first use when it is the default). */
  store(): SubscriptionStore;
}

/** Combines the builder's config with a handler's settled options. @internal */
export function createRuntime(config: SubscriptionsConfig, settings: HandlerSettings, connectionCacheSize = 0): Runtime {
  return {
    config,
    router: config.router,
    onError: config.onError,
    exposeInternalErrors: config.exposeInternalErrors,
    logger: settings.logger,
    metrics: createMetricsRecorder(settings.metrics),
    store: settings.store,
    region: settings.region,
    connections: new ConnectionCache(connectionCacheSize),
  };
}
