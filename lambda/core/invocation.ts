import { AsyncLocalStorage } from 'node:async_hooks';
import type { ManagementAccess } from '../management/client';
import type { SubscriptionStore } from '../store/store';

/**
 * What the `$default` invocation in progress uses, so that a publisher called inside it (e.g. by
 * a mutation) needs no configuration: the same store and Management API client.
 */
export interface InvocationScope {
  readonly store: SubscriptionStore;
  readonly management?: ManagementAccess;
}

/** @internal */
export const invocationScope = /* @__PURE__ */ new AsyncLocalStorage<InvocationScope>();
