import type { AnyTRPCRouter } from '@trpc/server';
import type { ConnectionCache } from './connection-cache';
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
  /** Settled connection rows this instance has read (`$default`'s; none for the other handlers). */
  readonly connections: ConnectionRows;
  /** This deployment's Region (multi-region set-ups), written on the rows of its connections. */
  readonly region?: string;
  /** The store (created on first use when it is the default). */
  store(): SubscriptionStore;
}

/** What a handler reads from and adds to its cache of connection rows. @internal */
export type ConnectionRows = Pick<ConnectionCache, 'get' | 'remember'>;

/** Keeps nothing: handlers other than `$default` never read a connection row twice (and leave the cache out of their bundle). */
const NO_CONNECTION_ROWS: ConnectionRows = { get: () => undefined, remember: () => undefined };

/** Combines the builder's config with a handler's settled options. @internal */
export function createRuntime(
  config: SubscriptionsConfig, settings: HandlerSettings, connections: ConnectionRows = NO_CONNECTION_ROWS,
): Runtime {
  return {
    config,
    router: config.router,
    onError: config.onError,
    exposeInternalErrors: config.exposeInternalErrors,
    logger: settings.logger,
    metrics: createMetricsRecorder(settings.metrics),
    store: settings.store,
    region: settings.region,
    connections,
  };
}
