/**
 * The one place the runtime reads its environment: the default store, the Management API
 * endpoint and client, and the environment variables the construct sets. Handlers and the
 * publisher settle their options with these (`handlers/settings.ts`, `publisher/settings.ts`).
 */
import { DELIVERY_BATCH_SIZE_ENV, ENDPOINT_ENV, QUEUE_URL_ENV, REGION_ENDPOINTS_ENV, REGION_ENV, ROLLOVER_AGE_ENV, ROW_TTL_ENV, STORE_ENV, WORKER_INSTANCES_ENV, WORKER_RATE_ENV } from '../constants';
import type { WebSocketEvent } from '../event';
import { parseRegionEnvironment, type RegionSettings } from './regions';
import {
  endpointFromEvent,
  type ManagementAccess,
  type ManagementClientFactory,
} from '../management/client';
import { remoteManagementClientFactory } from '../management/remote-client';
import { regionRouter, singleEndpointRouter, type ConnectionRouter } from '../management/routing';
import { dynamodb } from '../store/dynamodb';
import { dynamodbLedger } from '../store/dynamodb-ledger';
import type { DeliveryLedger } from '../store/ledger';
import { memory } from '../store/memory';
import { memoryLedger } from '../store/memory-ledger';
import type { SubscriptionStore } from '../store/store';
import { settleMetricsOptions, type MetricsOptions, type MetricsSettings } from '../util/emf';

let defaultStore: SubscriptionStore | undefined;

/**
 * The store used when none is given, created on first use: `memory()` when
 * `TRPC_SUBSCRIPTIONS_STORE=memory` (the local `dev --store memory` command), else `dynamodb()`
 * with its environment defaults.
 */
export function getDefaultStore(): SubscriptionStore {
  // A function bundled for one role (ROLE_DEFINE) is deployed: its memory is its own, so the
  // memory store could not be shared with the other functions, and it leaves the bundle.
  defaultStore ??= process.env.TRPC_SUBSCRIPTIONS_ROLE === undefined && process.env[STORE_ENV] === 'memory' ? memory() : dynamodb();
  return defaultStore;
}

/** The first store given, else the default store (created on first use). */
export function storeOf(...candidates: ReadonlyArray<SubscriptionStore | undefined>): SubscriptionStore {
  return candidates.find((store) => store !== undefined) ?? getDefaultStore();
}

/** `TRPC_SUBSCRIPTIONS_ROW_TTL_SECONDS` as set (`undefined` when unset or empty). */
export function rowTtlFromEnvironment(): string | undefined {
  return process.env[ROW_TTL_ENV] || undefined;
}

/** Metrics options settled against `TRPC_SUBSCRIPTIONS_METRICS*` (set by the construct). */
export function resolveMetrics(options: MetricsOptions | undefined): MetricsSettings {
  return settleMetricsOptions(options, process.env);
}

/** `TRPC_SUBSCRIPTIONS_ROLLOVER_AGE_SECONDS` as set (`undefined` when unset or empty). */
export function rolloverAgeFromEnvironment(): string | undefined {
  return process.env[ROLLOVER_AGE_ENV] || undefined;
}

/** The endpoint to use outside a WebSocket event (publisher, worker, rollover): explicit option, then `TRPC_SUBSCRIPTIONS_ENDPOINT`. */
export function resolveEndpoint(explicit: string | undefined): string | undefined {
  return explicit ?? (process.env[ENDPOINT_ENV] || undefined);
}

/**
 * The endpoint to use in a handler: {@link resolveEndpoint}, then the event's API. (Its own
 * function, so that the functions without a WebSocket event leave out reading one.)
 */
export function resolveEventEndpoint(explicit: string | undefined, event: WebSocketEvent): string | undefined {
  return resolveEndpoint(explicit) ?? endpointFromEvent(event);
}

/**
 * The Management API client of an endpoint, made by `factory` (e.g. `defaultManagementClientFactory`,
 * one client per endpoint; no default, so that a function that never uses it leaves it out)
 * when it is first read: a `$default` invocation that answers only through its route response (a
 * subscribe, a query, a stop) never creates one, which a cold start would pay for.
 */
export function managementAccess(endpoint: string, factory: ManagementClientFactory): ManagementAccess {
  let client: ManagementAccess['client'] | undefined;
  return {
    endpoint,
    get client() {
      client ??= factory(endpoint);
      return client;
    },
  };
}

/**
 * The multi-region settings the construct sets (`TRPC_SUBSCRIPTIONS_REGION` and
 * `TRPC_SUBSCRIPTIONS_REGION_ENDPOINTS`, else `AWS_REGION`); `undefined` in a single-region
 * deployment. Read when a handler or publisher is built, so a bad value fails at start-up.
 */
export function regionsFromEnvironment(): RegionSettings | undefined {
  // MULTI_REGION_DEFINE (../constants.ts), written out in full: a bundle without multi-region
  // leaves the parsing out (an `else`: esbuild keeps what code after a `return` references), and
  // refuses the Regions it would ignore.
  if (process.env.TRPC_SUBSCRIPTIONS_MULTI_REGION === 'off') {
    if (process.env[REGION_ENDPOINTS_ENV]) {
      throw new Error(`${REGION_ENDPOINTS_ENV} is set, but this function's bundle was made without multi-region: `
        + 'TrpcSubscriptionApi bundles multi-region only with `bundleFeatures.multiRegion` true (the default)');
    }
    return undefined;
  } else {
    const region = process.env[REGION_ENV] || process.env.AWS_REGION || undefined;
    return parseRegionEnvironment(region, process.env[REGION_ENDPOINTS_ENV] || undefined, { region: REGION_ENV, endpoints: REGION_ENDPOINTS_ENV });
  }
}

/**
 * The connection router of a publisher or fan-out worker: by Region when `regions` is set (this
 * Region's API through `accessOf`; other Regions' through clients with timeouts, so an unreachable
 * Region cannot hold a delivery, unless `customClients` says the caller's factory makes every
 * client), else `single()` for every connection.
 */
export function connectionRouter(
  regions: RegionSettings | undefined, accessOf: (endpoint: string) => ManagementAccess, customClients: boolean, single: () => ManagementAccess,
): ConnectionRouter {
  // MULTI_REGION_DEFINE (../constants.ts): a bundle without multi-region has no Region routing
  // (an `else`: esbuild keeps what code after a `return` references).
  if (process.env.TRPC_SUBSCRIPTIONS_MULTI_REGION === 'off' || !regions) {
    return singleEndpointRouter(single());
  } else {
    return regionRouter(regions.region, regions.endpoints, (endpoint, isLocal) => (isLocal || customClients
      ? accessOf(endpoint)
      : managementAccess(endpoint, remoteManagementClientFactory)));
  }
}

let defaultLedger: DeliveryLedger | undefined;

/** The fan-out worker's ledger when none is given: in memory with the memory store, else on the table. */
export function getDefaultLedger(): DeliveryLedger {
  defaultLedger ??= process.env.TRPC_SUBSCRIPTIONS_ROLE === undefined && process.env[STORE_ENV] === 'memory' ? memoryLedger() : dynamodbLedger();
  return defaultLedger;
}

/** `TRPC_SUBSCRIPTIONS_QUEUE_URL` as set (`undefined` when unset or empty). */
export function queueUrlFromEnvironment(): string | undefined {
  return process.env[QUEUE_URL_ENV] || undefined;
}

/**
 * `TRPC_SUBSCRIPTIONS_WORKER_RATE` as a number of calls per second (`undefined` when unset).
 * @throws Error naming the variable when it is not a positive number
 */
export function workerRateFromEnvironment(): number | undefined {
  const text = process.env[WORKER_RATE_ENV];
  if (!text) return undefined;
  const rate = Number(text);
  if (!(rate > 0) || !Number.isFinite(rate)) throw new Error(`${WORKER_RATE_ENV} must be a positive number, got: ${JSON.stringify(text)}`);
  return rate;
}

/** `TRPC_SUBSCRIPTIONS_WORKER_INSTANCES` as a number (`undefined` when unset; checked by the worker's settings). */
export function workerInstancesFromEnvironment(): number | undefined {
  return numberFromEnvironment(WORKER_INSTANCES_ENV);
}

/** `TRPC_SUBSCRIPTIONS_DELIVERY_BATCH_SIZE` as a number (`undefined` when unset; checked by the worker's settings). */
export function deliveryBatchSizeFromEnvironment(): number | undefined {
  return numberFromEnvironment(DELIVERY_BATCH_SIZE_ENV);
}

/** An environment variable as a number (`undefined` when unset or empty; the caller checks the value). */
function numberFromEnvironment(name: string): number | undefined {
  const text = process.env[name];
  return text ? Number(text) : undefined;
}
