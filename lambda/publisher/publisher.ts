import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { createTRPCRecursiveProxy } from '@trpc/server';
import { forEachBounded, sendWithRetry, type RetryOptions } from './fan-out';
import { buildDataFrames } from './payload';
import type { SubscriptionsConfig } from '../core/config';
import { getDefaultStore } from '../core/default-store';
import { publishFilterEntry, type PublishFilter } from '../core/filters';
import { invocationScope } from '../core/invocation';
import { defaultLogger, type Logger } from '../core/logger';
import { defaultManagementClientFactory, resolveEndpoint, type ManagementClientFactory } from '../management/client';
import type { RequestId, SubscriberRef, SubscriptionStore } from '../store/store';

/** Options of `appSubscriptions.publisher()`. */
export interface PublisherOptions {
  /**
   * Management API endpoint (the stage's callback URL).
   * @default - `TRPC_SUBSCRIPTIONS_ENDPOINT`, else the endpoint of the `$default` invocation in progress
   */
  readonly endpoint?: string;
  /**
   * The store to read subscribers from.
   * @default - inside a `$default` invocation its handler's store, else the builder's, else `dynamodb()`
   */
  readonly store?: SubscriptionStore;
  /**
   * Creates the Management API client.
   * @default - the `$default` invocation's client, else one `ApiGatewayManagementApiClient` per endpoint
   */
  readonly managementClient?: ManagementClientFactory;
  /**
   * Most PostToConnection calls in flight per publish.
   * @default 50
   */
  readonly concurrency?: number;
  /**
   * Retries of throttled sends.
   * @default - 5 attempts, 50 ms base, 2 s cap, full jitter
   */
  readonly retry?: RetryOptions;
  /**
   * Receives failed deliveries.
   * @default - JSON lines on stderr
   */
  readonly logger?: Logger;
}

/** What `publish` takes at runtime (the typed form is checked by TypeScript). */
export interface PublishArgsRuntime {
  readonly data: unknown;
  readonly filter?: PublishFilter;
  /** Event id of a tracked subscription (`subscriptions.trackedResolver()`). */
  readonly id?: string;
  /** Don't deliver to this connection (e.g. the sender of a mutation). */
  readonly excludeConnectionId?: string;
}

/** A delivery that failed (not counted as delivered or gone). */
export interface PublishFailure {
  readonly connectionId: string;
  readonly subscriptionId: RequestId;
  readonly statusCode?: number;
  readonly name: string;
  readonly message: string;
  readonly attempts: number;
}

/**
 * Outcome of a publish. Every matched subscription ends in exactly one of `delivered`, `gone`
 * (its connection answered 410 and was removed) or `failed` (see `failures`).
 */
export interface PublishResult {
  /** Subscriptions found (after `excludeConnectionId`). */
  readonly matched: number;
  readonly delivered: number;
  readonly gone: number;
  readonly failed: number;
  readonly failures: readonly PublishFailure[];
}

/** Publishes to the subscribers of one route. @internal */
export type PublishFn = (path: string, args: PublishArgsRuntime) => Promise<PublishResult>;

function managementClient(options: PublisherOptions, path: string): ApiGatewayManagementApiClient {
  const invocation = invocationScope.getStore()?.management;
  const endpoint = resolveEndpoint(options.endpoint) ?? invocation?.endpoint;
  if (!endpoint) {
    throw new Error(`Publish to "${path}": no Management API endpoint; pass \`endpoint\` to publisher() or set TRPC_SUBSCRIPTIONS_ENDPOINT`);
  }
  if (options.managementClient) return options.managementClient(endpoint);
  if (invocation && invocation.endpoint === endpoint) return invocation.client;
  return defaultManagementClientFactory(endpoint);
}

function assertSubscriptionPath(config: SubscriptionsConfig, path: string): void {
  const procedure = (config.router._def.procedures as Record<string, { _def?: { type?: string } } | undefined>)[path];
  if (procedure?._def?.type !== 'subscription') {
    throw new Error(`Publish to "${path}": the router has no subscription procedure at this path`);
  }
}

/** Creates the function behind `publisher.routes.<path>.publish()`. @internal */
export function createPublishFn(config: SubscriptionsConfig, options: PublisherOptions = {}): PublishFn {
  const logger = options.logger ?? defaultLogger;
  return async (path, args) => {
    assertSubscriptionPath(config, path);
    if (typeof args !== 'object' || args === null || !('data' in args)) {
      throw new Error(`Publish to "${path}": expected { data, filter?, id?, excludeConnectionId? }`);
    }
    if (args.id !== undefined && typeof args.id !== 'string') {
      throw new Error(`Publish to "${path}": \`id\` must be a string (the tracked event id), got: ${typeof args.id}`);
    }
    const filter = args.filter === undefined ? undefined : publishFilterEntry(path, config.filters.get(path) ?? [], args.filter);
    const frameFor = buildDataFrames(config.router, path, args.data, args.id);
    const client = managementClient(options, path);
    const store = options.store ?? invocationScope.getStore()?.store ?? config.store ?? getDefaultStore();

    let matched = 0;
    let delivered = 0;
    let gone = 0;
    const failures: PublishFailure[] = [];
    const goneConnections = new Set<string>();
    await forEachBounded(store.findSubscribers({ path, filter }), options.concurrency ?? 50, async (ref: SubscriberRef) => {
      if (ref.connectionId === args.excludeConnectionId) return;
      matched++;
      if (goneConnections.has(ref.connectionId)) {
        gone++;
        return;
      }
      const outcome = await sendWithRetry(client, ref.connectionId, frameFor(ref.subscriptionId), options.retry);
      if (!outcome.failure) {
        delivered++;
        return;
      }
      if (outcome.failure.kind === 'gone') {
        gone++;
        if (!goneConnections.has(ref.connectionId)) {
          goneConnections.add(ref.connectionId);
          try {
            await store.removeConnection(ref.connectionId);
          } catch (error) {
            logger.error('rows of a gone connection could not be removed', { connectionId: ref.connectionId, error });
          }
        }
        return;
      }
      const { statusCode, name, message } = outcome.failure;
      failures.push({ connectionId: ref.connectionId, subscriptionId: ref.subscriptionId, statusCode, name, message, attempts: outcome.attempts });
      logger.error('publish could not be delivered', { path, connectionId: ref.connectionId, statusCode, name, message, attempts: outcome.attempts });
    });
    return { matched, delivered, gone, failed: failures.length, failures };
  };
}

/** The runtime of `publisher.routes`: a proxy whose `.publish(args)` at any path publishes there. @internal */
export function createPublisherRoutes(publish: PublishFn): unknown {
  return createTRPCRecursiveProxy(({ path, args }) => {
    const method = path[path.length - 1];
    const route = path.slice(0, -1).join('.');
    if (method !== 'publish' || route === '') {
      throw new Error(`publisher.routes.${path.join('.')}(): call publish() on a route, e.g. publisher.routes.onMessage.publish({ data })`);
    }
    return publish(route, args[0] as PublishArgsRuntime);
  });
}
