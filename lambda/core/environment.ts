/**
 * The one place the runtime reads its environment: the default store, the Management API
 * endpoint and client, and the environment variables the construct sets. Handlers and the
 * publisher settle their options with these (`handlers/settings.ts`, `publisher/settings.ts`).
 */
import { ENDPOINT_ENV, REGION_ENDPOINTS_ENV, REGION_ENV, ROLLOVER_AGE_ENV, ROW_TTL_ENV, STORE_ENV } from '../constants';
import type { WebSocketEvent } from '../event';
import { parseRegionEnvironment, type RegionSettings } from './regions';
import {
  defaultManagementClientFactory,
  endpointFromEvent,
  type ManagementAccess,
  type ManagementClientFactory,
} from '../management/client';
import { dynamodb } from '../store/dynamodb';
import { memory } from '../store/memory';
import type { SubscriptionStore } from '../store/store';
import { settleMetricsOptions, type MetricsOptions, type MetricsSettings } from '../util/emf';

let defaultStore: SubscriptionStore | undefined;

/**
 * The store used when none is given, created on first use: `memory()` when
 * `TRPC_SUBSCRIPTIONS_STORE=memory` (the local `dev --store memory` command), else `dynamodb()`
 * with its environment defaults.
 */
export function getDefaultStore(): SubscriptionStore {
  defaultStore ??= process.env[STORE_ENV] === 'memory' ? memory() : dynamodb();
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

/** The endpoint to use: explicit option, then `TRPC_SUBSCRIPTIONS_ENDPOINT`, then the event's API. */
export function resolveEndpoint(explicit: string | undefined, event?: WebSocketEvent): string | undefined {
  return explicit ?? (process.env[ENDPOINT_ENV] || undefined) ?? (event ? endpointFromEvent(event) : undefined);
}

/** The Management API client of an endpoint, made by `factory` (default: one client per endpoint). */
export function managementAccess(endpoint: string, factory: ManagementClientFactory = defaultManagementClientFactory): ManagementAccess {
  return { endpoint, client: factory(endpoint) };
}

/**
 * The multi-region settings the construct sets (`TRPC_SUBSCRIPTIONS_REGION` and
 * `TRPC_SUBSCRIPTIONS_REGION_ENDPOINTS`, else `AWS_REGION`); `undefined` in a single-region
 * deployment. Read when a handler or publisher is built, so a bad value fails at start-up.
 */
export function regionsFromEnvironment(): RegionSettings | undefined {
  const region = process.env[REGION_ENV] || process.env.AWS_REGION || undefined;
  return parseRegionEnvironment(region, process.env[REGION_ENDPOINTS_ENV] || undefined, { region: REGION_ENV, endpoints: REGION_ENDPOINTS_ENV });
}
