/**
 * Publisher options turned into settled values: every default of `publisher()` is here. What
 * depends on the invocation in progress (a publish inside `$default` reuses its store and
 * Management API client) is settled per publish.
 */
import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import type { PublisherOptions, RetryOptions } from './options';
import type { SubscriptionsConfig } from '../core/config';
import { managementAccess, resolveEndpoint, resolveMetrics, storeOf } from '../core/environment';
import { invocationScope } from '../core/invocation';
import type { SubscriptionStore } from '../store/store';
import type { MetricsSettings } from '../util/emf';
import { withLogContext } from '../util/log-context';
import { defaultLogger, type Logger } from '../util/logger';

/** {@link RetryOptions} with every default applied. */
export type RetrySettings = Required<RetryOptions>;

/** Settled options of `publisher()`. */
export interface PublisherSettings {
  /** The logger; inside a handler's invocation it adds the connection id, route and request id. */
  readonly logger: Logger;
  readonly metrics: MetricsSettings;
  readonly concurrency: number;
  readonly retry: RetrySettings;
  /** The option, else the `$default` invocation's store, else the builder's, else the default store. */
  store(): SubscriptionStore;
  /** The Management API client to publish to `path` with; throws naming the path when no endpoint is known. */
  managementClient(path: string): ApiGatewayManagementApiClient;
}

/** Settles the options of `publisher()`. */
export function settlePublisherOptions(config: SubscriptionsConfig, options: PublisherOptions = {}): PublisherSettings {
  return {
    logger: withLogContext(options.logger ?? defaultLogger),
    metrics: resolveMetrics(options.metrics),
    concurrency: options.concurrency ?? 50,
    retry: {
      maxAttempts: Math.max(1, options.retry?.maxAttempts ?? 5),
      baseDelayMs: options.retry?.baseDelayMs ?? 50,
      maxDelayMs: options.retry?.maxDelayMs ?? 2000,
    },
    store: () => storeOf(options.store, invocationScope.getStore()?.store, config.store),
    managementClient: (path) => {
      const invocation = invocationScope.getStore()?.management;
      const endpoint = resolveEndpoint(options.endpoint) ?? invocation?.endpoint;
      if (!endpoint) {
        throw new Error(`Publish to "${path}": no Management API endpoint; pass \`endpoint\` to publisher() or set TRPC_SUBSCRIPTIONS_ENDPOINT`);
      }
      if (options.managementClient) return options.managementClient(endpoint);
      if (invocation && invocation.endpoint === endpoint) return invocation.client;
      return managementAccess(endpoint).client;
    },
  };
}
