/**
 * The graceful rollover: a scheduled function (every minute by default, see the construct's
 * `rollover` prop) sends the reconnect notification to the connections approaching API Gateway's
 * 2-hour limit, so that the tRPC client moves its subscriptions to a new connection before the
 * old one is cut. Connections are found by the minute they opened (`AGE#` partitions), never by Scan.
 */
import { reconnectConnectedBetween, type ConnectionsResult } from './control';
import type { PublisherOptions } from './options';
import type { PublisherSettings } from './settings';
import { settlePublisherOptions } from './settings';
import { DEFAULT_ROLLOVER_AGE_SECONDS, DEFAULT_ROW_TTL_SECONDS, MAX_CONNECTION_SECONDS, ROLLOVER_AGE_ENV } from '../constants';
import type { SubscriptionsConfig } from '../core/config';
import { regionsFromEnvironment, rolloverAgeFromEnvironment, rowTtlFromEnvironment } from '../core/environment';
import { endConnectionWithHooks, needsRemovalClaims } from '../core/hooks';
import { forEachBounded } from '../util/pool';

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
  /**
   * With lifecycle hooks, a connection whose rows are still there this long after the gateway cut
   * it lost its `$disconnect`: the run removes it, and its hooks run with reason `expired`.
   * Connections are looked for until their rows' TTL (`rowTtl`, 10 minutes after the limit by
   * default) would remove them.
   * @default 60000
   */
  readonly sweepAfterMs?: number;
}

/** What a rollover run did. */
export interface RolloverResult extends ConnectionsResult {
  /** Connections opened in this range (epoch milliseconds) were told to reconnect. */
  readonly connectedFrom: number;
  readonly connectedTo: number;
  /**
   * Connections found past the lifetime with their rows (a lost `$disconnect`) and removed by
   * this run (only with lifecycle hooks).
   */
  readonly expired: number;
}

/** The scheduled rollover function (takes the EventBridge event, which it ignores). */
export type RolloverHandler = (event?: unknown) => Promise<RolloverResult>;

/** Default of {@link RolloverOptions.sweepAfterMs}: `$disconnect` normally arrives within seconds of the cut. */
const DEFAULT_SWEEP_AFTER_MS = 60_000;

/**
 * The sweep: removes the connections of this Region opened between the rows' TTL and the
 * lifetime plus `sweepAfterMs` ago that still have rows (their `$disconnect` was lost), each
 * through `endConnectionWithHooks` (reason `expired`): a removal racing a late `$disconnect` or a
 * 410 runs each hook once, whoever wins. The same minute buckets as the notification, never a Scan.
 */
async function sweepExpired(
  settings: PublisherSettings, now: number, maxConnectionMs: number, sweepAfterMs: number, region: string | undefined,
): Promise<number> {
  const rowTtlMs = (Number(rowTtlFromEnvironment()) || DEFAULT_ROW_TTL_SECONDS) * 1000;
  // Rows outlive the lifetime by the TTL's margin (10 minutes by default): look that far back.
  const margin = Math.max(rowTtlMs - MAX_CONNECTION_SECONDS * 1000, sweepAfterMs + 60_000);
  const store = settings.store();
  const router = settings.router('rollover');
  let expired = 0;
  const range = { connectedFrom: now - maxConnectionMs - margin, connectedTo: now - maxConnectionMs - sweepAfterMs };
  // In parallel (bounded): a removal that releases a member's last presence ref waits out its
  // grace period before the leave (core/presence-store.ts), which must not add up per connection.
  await forEachBounded(store.findConnectionsByAge(range), settings.concurrency, async (ref) => {
    if (region !== undefined && router.regionOf(ref.region) !== region) return;
    try {
      await endConnectionWithHooks(store, settings.hooks, settings.logger, ref.connectionId, 'expired', ref);
      expired++;
    } catch (error) {
      settings.logger.error('rows of an expired connection could not be removed', { connectionId: ref.connectionId, error });
    }
  });
  return expired;
}

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
  const sweepAfterMs = options.sweepAfterMs ?? DEFAULT_SWEEP_AFTER_MS;
  if (!Number.isFinite(sweepAfterMs) || sweepAfterMs < 0) {
    throw new RangeError(`\`sweepAfterMs\` must be a number of milliseconds, at least 0, got: ${String(options.sweepAfterMs)}`);
  }
  const settings = settlePublisherOptions(config, options);
  const region = (config.regions ?? regionsFromEnvironment())?.region;
  return async () => {
    const now = Date.now();
    const range = { connectedFrom: now - maxConnectionMs, connectedTo: now - olderThanMs };
    // Each Region's scheduled rollover notifies its own connections.
    const result = await reconnectConnectedBetween(settings, { ...range, region }, 'rollover');
    // The sweep runs hooks only (HOOKS_DEFINE in ../constants.ts: a bundle without hooks drops it).
    const expired = process.env.TRPC_SUBSCRIPTIONS_HOOKS !== 'off' && needsRemovalClaims(settings.hooks)
      ? await sweepExpired(settings, now, maxConnectionMs, sweepAfterMs, region) : 0;
    return { ...result, ...range, expired };
  };
}
