import { dynamodb } from '../store/dynamodb';
import type { SubscriptionStore } from '../store/store';

let defaultStore: SubscriptionStore | undefined;

/** The store used when none is given: `dynamodb()` with its environment defaults, created on first use. */
export function getDefaultStore(): SubscriptionStore {
  defaultStore ??= dynamodb();
  return defaultStore;
}
