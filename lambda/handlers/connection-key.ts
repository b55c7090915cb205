import type { SubscriptionsConfig } from '../core/config';

/**
 * The connection's key from its ctx (`connectionKey` of `subscriptions.router()`), checked: a
 * non-empty string, or `undefined` for no key.
 * @throws TypeError when `connectionKey` returned anything else (the connection is refused)
 */
export function connectionKeyOf(config: SubscriptionsConfig, ctx: unknown): string | undefined {
  if (!config.connectionKey) return undefined;
  const key: unknown = config.connectionKey(ctx);
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || key === '') {
    throw new TypeError(`\`connectionKey\` must return a non-empty string or undefined, got: ${JSON.stringify(key) ?? typeof key}`);
  }
  return key;
}
