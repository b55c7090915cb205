/** Worker options turned into settled values: every default of `worker()` is here. */
import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { WorkerOptions } from './options';
import type { SubscriptionsConfig } from '../core/config';
import {
  connectionRouter, deliveryBatchSizeFromEnvironment, getDefaultLedger, managementAccess, queueUrlFromEnvironment, regionsFromEnvironment,
  resolveEndpoint, resolveMetrics, storeOf, workerInstancesFromEnvironment, workerRateFromEnvironment,
} from '../core/environment';
import type { HookRegistry } from '../core/hooks';
import { withPresence } from '../core/presence-store';
import { managementClientFactory, type ManagementAccess } from '../management/client';
import { settleManagementCalls, type ManagementCallSettings } from '../management/options';
import type { ConnectionRouter } from '../management/routing';
import { defaultSqsClient } from '../queue/sqs';
import type { DeliveryLedger } from '../store/ledger';
import type { SubscriptionStore } from '../store/store';
import type { MetricsSettings } from '../util/emf';
import { defaultLogger, type Logger } from '../util/logger';
import { createRateGate, type RateGate } from '../util/rate-gate';

/** How long ledger rows outlive their last update: longer than SQS keeps a message (4 days by default). */
const LEDGER_RETENTION_SECONDS = 5 * 24 * 3600;

/** Settled options of `worker()`. */
export interface WorkerSettings {
  readonly logger: Logger;
  readonly concurrency: number;
  readonly deliveryBatchSize: number;
  /** Worker instances that may run at once (the even cut of small publishes). */
  readonly instances: number;
  /** Retries (the SDK's strategy; throttling paced by `gate`) and timeouts of PostToConnection. */
  readonly calls: ManagementCallSettings;
  readonly leaseMs: number;
  readonly ledgerRetentionSeconds: number;
  /** Paces every post of this instance. */
  readonly gate: RateGate;
  /** The worker's metrics: one EMF line per invocation. */
  readonly metrics: MetricsSettings;
  /** The app's lifecycle hooks: a 410 ends connections (their `onUnsubscribe` and `onDisconnect`). */
  readonly hooks?: HookRegistry;
  store(): SubscriptionStore;
  ledger(): DeliveryLedger;
  managementClient(): ApiGatewayManagementApiClient;
  /**
   * The Management API of each target's Region: the Regions of `.regions()` or the environment
   * (multi-region, as the publisher builds it), else `managementClient()` for every target.
   */
  router(): ConnectionRouter;
  sqsClient(): Promise<SQSClient>;
  queueUrl(): string;
}

function positiveInteger(name: string, value: number, max = Infinity): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`\`${name}\` must be an integer from 1 to ${max}, got: ${value}`);
  }
  return value;
}

/** The worker's PostToConnection retries and timeouts, for `maxAttempts` attempts. @internal */
export function workerCallSettings(maxAttempts: number): ManagementCallSettings {
  return settleManagementCalls({ maxAttempts, baseDelayMs: 50, maxDelayMs: 2000 });
}

/** Settles the options of `worker()`; a RangeError names a bad option at creation. */
export function settleWorkerOptions(config: SubscriptionsConfig, options: WorkerOptions = {}): WorkerSettings {
  const maxPostsPerSecond = options.maxPostsPerSecond ?? workerRateFromEnvironment();
  if (maxPostsPerSecond !== undefined && !(maxPostsPerSecond > 0)) {
    throw new RangeError(`\`maxPostsPerSecond\` must be a positive number, got: ${maxPostsPerSecond}`);
  }
  const calls = workerCallSettings(positiveInteger('maxAttempts', options.maxAttempts ?? 5));
  const clientFactory = managementClientFactory(calls);
  const regions = config.regions ?? regionsFromEnvironment();
  const accessOf = (endpoint: string): ManagementAccess => (options.managementClient
    ? { endpoint, client: options.managementClient(endpoint) }
    : managementAccess(endpoint, clientFactory));
  let router: ConnectionRouter | undefined;
  const logger = options.logger ?? defaultLogger;
  const settings: WorkerSettings = {
    logger,
    concurrency: positiveInteger('concurrency', options.concurrency ?? 50),
    deliveryBatchSize: positiveInteger('deliveryBatchSize', options.deliveryBatchSize ?? deliveryBatchSizeFromEnvironment() ?? 100, 1000),
    instances: positiveInteger('instances', options.instances ?? workerInstancesFromEnvironment() ?? 1, 10_000),
    calls,
    leaseMs: positiveInteger('leaseMs', options.leaseMs ?? 60_000),
    ledgerRetentionSeconds: LEDGER_RETENTION_SECONDS,
    gate: createRateGate({ maxPerSecond: maxPostsPerSecond }),
    metrics: resolveMetrics(options.metrics),
    hooks: config.hooks,
    // A gone target's removal releases its presence and sends its leave, as the handlers' do.
    // A bundle without presence (PRESENCE_DEFINE in ../constants.ts) carries none of its release.
    store: process.env.TRPC_SUBSCRIPTIONS_PRESENCE !== 'off' ? () => withPresence(config, storeOf(options.store, config.store), logger) : () => storeOf(options.store, config.store),
    ledger: () => options.ledger ?? getDefaultLedger(),
    managementClient: () => {
      const endpoint = resolveEndpoint(options.endpoint);
      if (!endpoint) throw new Error('Fan-out worker: no Management API endpoint; pass `endpoint` to worker() or set TRPC_SUBSCRIPTIONS_ENDPOINT');
      return accessOf(endpoint).client;
    },
    // As the publisher's: this Region's API with the worker's client settings, other Regions' with timeouts.
    router: () => (router ??= connectionRouter(
      regions, accessOf, options.managementClient !== undefined, () => ({ endpoint: '', client: settings.managementClient() }),
    )),
    sqsClient: async () => options.sqsClient ?? defaultSqsClient(),
    queueUrl: () => {
      const url = options.queueUrl ?? queueUrlFromEnvironment();
      if (!url) throw new Error('Fan-out worker: no queue URL; pass `queueUrl` to worker() or set TRPC_SUBSCRIPTIONS_QUEUE_URL');
      return url;
    },
  };
  return settings;
}
