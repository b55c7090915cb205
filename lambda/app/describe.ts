import { APP_DESCRIPTION, APP_DESCRIPTION_VERSION, type AppDescription, type DescribedPublisher } from '../core/app-description';
import type { SubscriptionsConfig } from '../core/config';
import { storeOf } from '../core/environment';
import type { SubscriptionStore } from '../store/store';

/**
 * Attaches the app's {@link AppDescription} to `handler` (non-enumerable, under a `Symbol.for`
 * key) and returns it. The routes are listed when a tool asks, the publisher is made on first use:
 * a Lambda invocation never pays for either.
 */
export function withAppDescription<T extends object>(
  handler: T, config: SubscriptionsConfig, store: SubscriptionStore | undefined, makePublisher: () => DescribedPublisher,
): T {
  let publisher: DescribedPublisher | undefined;
  const description: AppDescription = {
    version: APP_DESCRIPTION_VERSION,
    get routes() {
      const procedures = config.router._def.procedures as Record<string, { _def?: { type?: string } }>;
      return Object.keys(procedures)
        .filter((path) => procedures[path]?._def?.type === 'subscription')
        .map((path) => ({ path, filters: config.filters.get(path) ?? [], history: config.history?.has(path) === true }));
    },
    publisher: () => (publisher ??= makePublisher()),
    store: () => storeOf(store, config.store),
    deserialize: (data, direction) => config.router._def._config.transformer[direction].deserialize(data),
  };
  return Object.defineProperty(handler, APP_DESCRIPTION, { value: description });
}
