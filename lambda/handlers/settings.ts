/**
 * Handler options turned into settled values: every default and every validation of a handler's
 * options happens here, once, when the handler is built (Lambda init), so a bad option fails at
 * start-up naming the option and the value.
 */
import type { ConnectHandlerOptions, BaseHandlerOptions, MessageHandlerOptions } from './options';
import { DEFAULT_ROW_TTL_SECONDS, MAX_CONNECTION_SECONDS, ROW_TTL_ENV } from '../constants';
import type { SubscriptionsConfig } from '../core/config';
import { managementAccess, regionsFromEnvironment, resolveEventEndpoint, resolveMetrics, rowTtlFromEnvironment, storeOf } from '../core/environment';
import { withPresence } from '../core/presence-store';
import type { WebSocketEvent } from '../event';
import { managementClientFactory, type ManagementAccess } from '../management/client';
import { settleManagementCalls, type ManagementCallSettings } from '../management/options';
import type { SubscriptionStore } from '../store/store';
import type { MetricsSettings } from '../util/emf';
import { withLogContext } from '../util/log-context';
import { defaultLogger, type Logger } from '../util/logger';

/** Default of {@link MessageHandlerOptions.maxBatchSize}. */
export const DEFAULT_MAX_BATCH_SIZE = 100;

/** Default of {@link MessageHandlerOptions.maxSubscriptionsPerConnection}. */
export const DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION = 100;

/** What every handler works with, settled. */
export interface HandlerSettings {
  /** The logger, adding the invocation's connection id, route and request id to each line. */
  readonly logger: Logger;
  readonly metrics: MetricsSettings;
  /** This deployment's Region, written on the rows of its connections (multi-region set-ups only). */
  readonly region?: string;
  /** The handler's store, else the builder's, else the default store (created on first use). */
  store(): SubscriptionStore;
}

/** Settled options of `connect()`. */
export interface ConnectSettings extends HandlerSettings {
  readonly persistHeaders: readonly string[];
  readonly rowTtlSeconds: number;
  readonly refuseWith: 'error-frame' | 'http-status';
}

/** Settled options of `handler()`. */
export interface MessageSettings extends HandlerSettings {
  readonly connectionCacheSize: number;
  readonly connectionParamsTimeoutMs: number;
  readonly maxConnectionParamsBytes: number;
  readonly maxBatchSize: number;
  readonly maxSubscriptionsPerConnection: number;
  /** Retries and timeouts of the replies' Management API calls. */
  readonly calls: ManagementCallSettings;
  /** The Management API of the API that sent `event` (undefined when no endpoint is known). */
  management(event: WebSocketEvent): ManagementAccess | undefined;
}

/** Store and logger of any handler. */
export function settleHandlerOptions(config: SubscriptionsConfig, options: BaseHandlerOptions): HandlerSettings {
  const explicit = options.store ?? config.store;
  const logger = withLogContext(options.logger ?? defaultLogger);
  return {
    logger,
    metrics: resolveMetrics(options.metrics),
    // PRESENCE_DEFINE (../constants.ts), written out in full so that esbuild folds it.
    store: process.env.TRPC_SUBSCRIPTIONS_PRESENCE !== 'off' ? () => withPresence(config, storeOf(explicit), logger) : () => storeOf(explicit),
    region: (config.regions ?? regionsFromEnvironment())?.region,
  };
}

/**
 * The rows' lifetime: the option, else the environment, else the default. Anything under the
 * 2-hour connection limit would let TTL delete the rows of a live connection, so it fails at
 * start-up (Lambda init), naming the setting and the value.
 */
export function resolveRowTtlSeconds(option: number | undefined, env: string | undefined = rowTtlFromEnvironment()): number {
  const [source, value] = option !== undefined
    ? ['rowTtlSeconds', option]
    : env !== undefined && env !== '' ? [ROW_TTL_ENV, Number(env)] : ['default', DEFAULT_ROW_TTL_SECONDS];
  if (!Number.isInteger(value) || value < MAX_CONNECTION_SECONDS) {
    throw new Error(
      `\`${source}\` must be a whole number of seconds of at least ${MAX_CONNECTION_SECONDS} (API Gateway's 2-hour connection limit), got: ${option ?? env}`,
    );
  }
  return value;
}

/** @throws RangeError naming the option unless it is one of its values */
function resolveRefuseWith(option: ConnectHandlerOptions['refuseWith']): 'error-frame' | 'http-status' {
  const value = option ?? 'error-frame';
  if (value !== 'error-frame' && value !== 'http-status') {
    throw new RangeError(`\`refuseWith\` must be 'error-frame' or 'http-status', got: ${String(option)}`);
  }
  return value;
}

/** Settles the options of `connect()`. */
export function settleConnectOptions(config: SubscriptionsConfig, options: ConnectHandlerOptions = {}): ConnectSettings {
  return {
    ...settleHandlerOptions(config, options),
    persistHeaders: options.persistHeaders ?? [],
    rowTtlSeconds: resolveRowTtlSeconds(options.rowTtlSeconds),
    refuseWith: resolveRefuseWith(options.refuseWith),
  };
}

/** @throws RangeError naming the option unless it is a positive integer */
function resolveMaxSubscriptionsPerConnection(option: number | undefined): number {
  const value = option ?? DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`\`maxSubscriptionsPerConnection\` must be a positive integer, got: ${String(option)}`);
  }
  return value;
}

/** Settles the options of `handler()` (`$default`). */
export function settleMessageOptions(config: SubscriptionsConfig, options: MessageHandlerOptions = {}): MessageSettings {
  const calls = settleManagementCalls(options.retry, options.timeouts);
  const factory = options.managementClient ?? managementClientFactory(calls);
  return {
    calls,
    ...settleHandlerOptions(config, options),
    connectionCacheSize: options.connectionCacheSize ?? 1000,
    connectionParamsTimeoutMs: options.connectionParamsTimeoutMs ?? 5000,
    maxConnectionParamsBytes: options.maxConnectionParamsBytes ?? 4096,
    maxBatchSize: options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE,
    maxSubscriptionsPerConnection: resolveMaxSubscriptionsPerConnection(options.maxSubscriptionsPerConnection),
    management: (event) => {
      const endpoint = resolveEventEndpoint(options.endpoint, event);
      return endpoint ? managementAccess(endpoint, factory) : undefined;
    },
  };
}
