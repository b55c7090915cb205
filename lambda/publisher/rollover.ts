/**
 * The graceful rollover: a scheduled function (every minute by default, see the construct's
 * `rollover` prop) sends the reconnect notification to the connections approaching API Gateway's
 * 2-hour limit, so that the tRPC client moves its subscriptions to a new connection before the
 * old one is cut. Connections are found by the minute they opened (`AGE#` partitions), never by Scan.
 */
import { reconnectConnectedBetween, type ConnectionsResult } from './control';
import type { PublisherOptions } from './options';
import { settlePublisherOptions } from './settings';
import { DEFAULT_ROLLOVER_AGE_SECONDS, MAX_CONNECTION_SECONDS, ROLLOVER_AGE_ENV } from '../constants';
import type { SubscriptionsConfig } from '../core/config';
import { regionsFromEnvironment, rolloverAgeFromEnvironment } from '../core/environment';

/** Options of `rollover()`. */
export interface RolloverOptions extends PublisherOptions {
  /**
   * Connections older than this (milliseconds since they opened) are told to reconnect. Leave at
   * least two runs of the schedule before the 2-hour limit.
   * @default - `TRPC_SUBSCRIPTIONS_ROLLOVER_AGE_SECONDS` (the construct's `rollover.age`), else 6900000 (1 hour 55 minutes)
   */
  readonly olderThanMs?: number;
  /**
   * The gateway's connection lifetime: connections older than this are gone and not looked for.
   * Shorten it with the local gateway's `maxConnectionMs` in tests.
   * @default 7200000 (API Gateway's 2 hours)
   */
  readonly maxConnectionMs?: number;
}

/** What a rollover run did. */
export interface RolloverResult extends ConnectionsResult {
  /** Connections opened in this range (epoch milliseconds) were told to reconnect. */
  readonly connectedFrom: number;
  readonly connectedTo: number;
}

/** The scheduled rollover function (takes the EventBridge event, which it ignores). */
export type RolloverHandler = (event?: unknown) => Promise<RolloverResult>;

/** Settles `olderThanMs`: the option, else the environment, else the default; below the lifetime. */
export function resolveRolloverAgeMs(option: number | undefined, maxConnectionMs: number, env = rolloverAgeFromEnvironment()): number {
  const [source, value] = option !== undefined
    ? ['olderThanMs', option]
    : env !== undefined ? [ROLLOVER_AGE_ENV, Number(env) * 1000] : ['default', DEFAULT_ROLLOVER_AGE_SECONDS * 1000];
  if (!Number.isFinite(value) || value <= 0 || value >= maxConnectionMs) {
    throw new RangeError(`\`${source}\` must be more than 0 and less than the connection lifetime (${maxConnectionMs} ms), got: ${option ?? env}`);
  }
  return value;
}

/** Creates the rollover handler. @internal */
export function createRolloverHandler(config: SubscriptionsConfig, options: RolloverOptions = {}): RolloverHandler {
  const maxConnectionMs = options.maxConnectionMs ?? MAX_CONNECTION_SECONDS * 1000;
  if (!Number.isFinite(maxConnectionMs) || maxConnectionMs <= 0) {
    throw new RangeError(`\`maxConnectionMs\` must be a positive number of milliseconds, got: ${String(options.maxConnectionMs)}`);
  }
  const olderThanMs = resolveRolloverAgeMs(options.olderThanMs, maxConnectionMs);
  const settings = settlePublisherOptions(config, options);
  const region = (config.regions ?? regionsFromEnvironment())?.region;
  return async () => {
    const now = Date.now();
    const range = { connectedFrom: now - maxConnectionMs, connectedTo: now - olderThanMs };
    // Each Region's scheduled rollover notifies its own connections.
    const result = await reconnectConnectedBetween(settings, { ...range, region }, 'rollover');
    return { ...result, ...range };
  };
}
