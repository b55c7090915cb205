import type { WebSocketHandler } from '../event';
import { removeConnectionWithHooks } from './hooks';
import { instrumented } from './instrument';
import type { DisconnectHandlerOptions } from './options';
import { createRuntime } from './runtime';
import { settleHandlerOptions } from './settings';
import type { SubscriptionsConfig } from '../core/config';
import { managementAccess, resolveEventEndpoint } from '../core/environment';
import { invocationScope } from '../core/invocation';
import { defaultManagementClientFactory } from '../management/client';

/**
 * The `$disconnect` handler: removes the connection and all its rows. Idempotent; API Gateway
 * delivers `$disconnect` at most once and sometimes never, so rows also expire by TTL.
 */
export function createDisconnectHandler(config: SubscriptionsConfig, options: DisconnectHandlerOptions = {}): WebSocketHandler {
  const rt = createRuntime(config, settleHandlerOptions(config, options));
  return instrumented(rt, async (event) => {
    // Presence leaves are published through this connection's API (as a publisher inside `$default`
    // does); a bundle without presence (PRESENCE_DEFINE in ../constants.ts) carries no Management API.
    const endpoint = process.env.TRPC_SUBSCRIPTIONS_PRESENCE !== 'off' && rt.config.presence?.size ? resolveEventEndpoint(undefined, event) : undefined;
    const management = endpoint ? managementAccess(endpoint, defaultManagementClientFactory) : undefined;
    await invocationScope.run({ store: rt.store(), management }, async () => {
      await removeConnectionWithHooks(rt, event.requestContext.connectionId, 'disconnect');
    });
    rt.metrics.count('connectionsClosed');
    return { statusCode: 200 };
  });
}
