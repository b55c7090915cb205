/**
 * Publisher options turned into settled values: every default of `publisher()` is here. What
 * depends on the invocation in progress (a publish inside `$default` reuses its store and
 * Management API client) is settled per publish.
 */
import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import type { PublisherOptions } from './options';
import type { SubscriptionsConfig } from '../core/config';
import { connectionRouter, managementAccess, regionsFromEnvironment, resolveEndpoint, resolveMetrics, storeOf } from '../core/environment';
import type { HookRegistry } from '../core/hooks';
import { invocationScope } from '../core/invocation';
import { withPresence } from '../core/presence-store';
import { managementClientFactory, type ManagementAccess } from '../management/client';
import { settleManagementCalls, type ManagementCallSettings } from '../management/options';
import type { ConnectionRouter } from '../management/routing';
import type { SubscriptionStore } from '../store/store';
import type { MetricsSettings } from '../util/emf';
import { withLogContext } from '../util/log-context';
import { defaultLogger, type Logger } from '../util/logger';

/** Settled options of `publisher()`. */
export interface PublisherSettings {
  /** The logger; inside a handler's invocation it adds the connection id, route and request id. */
  readonly logger: Logger;
  readonly metrics: MetricsSettings;
  readonly concurrency: number;
  /** The app's lifecycle hooks: what a publisher or controller ends runs them (410, stop, disconnect). */
  readonly hooks?: HookRegistry;
  /** Retries and timeouts of the Management API calls. */
  readonly calls: ManagementCallSettings;
  /**
   * The option, else the `$default` invocation's store, else the builder's, else the default
   * store; with presence routes, its removals release presence (`core/presence-store.ts`).
   */
  store(): SubscriptionStore;
  /** The Management API client to publish to `path` with; throws naming the path when no endpoint is known. */
  managementClient(path: string): ApiGatewayManagementApiClient;
  /**
   * The Management API of each connection's Region: the Regions of `.regions()` or the
   * environment (multi-region), else `managementClient(path)` for every connection.
   */
  router(path: string): ConnectionRouter;
}

/** Settles the options of `publisher()`. */
export function settlePublisherOptions(config: SubscriptionsConfig, options: PublisherOptions = {}): PublisherSettings {
  const regions = config.regions ?? regionsFromEnvironment();
  const calls = settleManagementCalls(options.retry, options.timeouts);
  const defaultFactory = managementClientFactory(calls);
  /** An endpoint's client: the option's factory, else the invocation's when it is that endpoint, else the default. */
  const accessOf = (endpoint: string): ManagementAccess => {
    if (options.managementClient) return { endpoint, client: options.managementClient(endpoint) };
    const invocation = invocationScope.getStore()?.management;
    if (invocation && invocation.endpoint === endpoint) return invocation;
    return managementAccess(endpoint, defaultFactory);
  };
  const logger = withLogContext(options.logger ?? defaultLogger);
  const settings: PublisherSettings = {
    logger,
    metrics: resolveMetrics(options.metrics),
    concurrency: options.concurrency ?? 50,
    hooks: config.hooks,
    calls,
    // A gone connection this publisher removes (410, stop, disconnect, the rollover's sweep)
    // releases its presence as the handlers' removals do (the invocation's store is wrapped already).
    // A bundle without presence (PRESENCE_DEFINE in ../constants.ts) carries none of its release.
    store: process.env.TRPC_SUBSCRIPTIONS_PRESENCE !== 'off'
      ? () => withPresence(config, storeOf(options.store, invocationScope.getStore()?.store, config.store), logger)
      : () => storeOf(options.store, invocationScope.getStore()?.store, config.store),
    managementClient: (path) => {
      const invocation = invocationScope.getStore()?.management;
      const endpoint = resolveEndpoint(options.endpoint) ?? invocation?.endpoint;
      if (!endpoint) {
        throw new Error(`Publish to "${path}": no Management API endpoint; pass \`endpoint\` to publisher() or set TRPC_SUBSCRIPTIONS_ENDPOINT`);
      }
      return accessOf(endpoint).client;
    },
    router: (path) => connectionRouter(
      regions, accessOf, options.managementClient !== undefined, () => ({ endpoint: '', client: settings.managementClient(path) }),
    ),
  };
  return settings;
}
