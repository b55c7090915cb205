import { STORE_ENV } from '../constants';
import { dynamodb } from '../store/dynamodb';
import { memory } from '../store/memory';
import type { SubscriptionStore } from '../store/store';

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
