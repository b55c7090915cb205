/**
 * Input rules every store implementation enforces the same way, so that `memory()` fails where
 * `dynamodb()` would.
 */
import { EVENT_ID_DIGITS, isEventId, type HistoryFence } from './history';
import { indexKeys } from './keys';
import type { AddSubscriptionOptions, SubscriptionRecord } from './store';

/**
 * DynamoDB writes at most 100 items per transaction: the connection row's count, the subscription row,
 * the unfiltered index row and one index row per filter.
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-dynamodb-transactions
 */
export const MAX_FILTERS_PER_SUBSCRIPTION = 100 - 3;

/** Epoch seconds beyond this are surely milliseconds (the year 5138). */
const MAX_PLAUSIBLE_EPOCH_SECONDS = 1e11;

/**
 * @throws RangeError unless `value` is integer epoch seconds (a TTL attribute in milliseconds or
 *   with a fraction is silently never expired by DynamoDB)
 */
export function assertEpochSeconds(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_PLAUSIBLE_EPOCH_SECONDS) {
    throw new RangeError(`\`${name}\` must be integer epoch seconds, got: ${String(value)}`);
  }
}

/**
 * @throws RangeError when the subscription has more than {@link MAX_FILTERS_PER_SUBSCRIPTION}
 *   filters, two filters with the same name, filter values too long for a sort key, or a bad
 *   `expireAt`
 */
export function assertSubscriptionRecord(subscription: SubscriptionRecord): void {
  assertEpochSeconds('expireAt', subscription.expireAt);
  const { filters, path } = subscription;
  if (filters.length > MAX_FILTERS_PER_SUBSCRIPTION) {
    throw new RangeError(
      `Procedure '${path}' has ${filters.length} filters; a subscription can be indexed under at most ` +
        `${MAX_FILTERS_PER_SUBSCRIPTION} (DynamoDB's 100 items per transaction)`,
    );
  }
  const names = new Set<string>();
  for (const { name } of filters) {
    if (names.has(name)) throw new RangeError(`Procedure '${path}' has two filters named '${name}'`);
    names.add(name);
  }
  // Throws when the encoded values cannot fit DynamoDB's sort key.
  indexKeys(path, filters, subscription.connectionId, subscription.subscriptionId);
}

/** @throws RangeError unless `maxSubscriptions` is absent or a positive integer */
export function assertAddSubscriptionOptions(options: AddSubscriptionOptions | undefined): void {
  const max = options?.maxSubscriptions;
  if (max !== undefined && (!Number.isSafeInteger(max) || max < 1)) {
    throw new RangeError(`\`maxSubscriptions\` must be a positive integer, got: ${String(max)}`);
  }
}

/**
 * The add's history fence, if any, checked.
 * @throws RangeError unless its `afterEventId` is an event id, or when the subscription has too
 *   many filters to carry the fence's condition in its transaction
 */
export function historyFenceOf(subscription: SubscriptionRecord, options: AddSubscriptionOptions | undefined): HistoryFence | undefined {
  const fence = options?.historyFence;
  if (fence === undefined) return undefined;
  if (!isEventId(fence.afterEventId)) {
    throw new RangeError(`\`historyFence.afterEventId\` must be an event id (${EVENT_ID_DIGITS} digits), got: ${JSON.stringify(fence.afterEventId)}`);
  }
  if (subscription.filters.length > MAX_FILTERS_PER_SUBSCRIPTION - 1) {
    throw new RangeError(
      `Subscription to "${subscription.path}" resumes from a history: it can carry at most ${MAX_FILTERS_PER_SUBSCRIPTION - 1} filters, got: ${subscription.filters.length}`,
    );
  }
  return fence;
}

/**
 * In a bundle made without event history (HISTORY_DEFINE in ../constants.ts), where nothing
 * resumes from a history.
 * @throws Error when the add carries a history fence
 */
export function assertNoHistoryFence(options: AddSubscriptionOptions | undefined): void {
  if (options?.historyFence !== undefined) {
    throw new Error('`historyFence`: this function\'s bundle was made without event history (`bundleFeatures.history`)');
  }
}
