import type { WebSocketHandler } from '../event';
import { removeConnectionWithHooks } from './hooks';
import { instrumented } from './instrument';
import type { DisconnectHandlerOptions } from './options';
import { createRuntime } from './runtime';
import { settleHandlerOptions } from './settings';
import type { SubscriptionsConfig } from '../core/config';

/**
 * The `$disconnect` handler: removes the connection and all its rows. Idempotent; API Gateway
 * delivers `$disconnect` at most once and sometimes never, so rows also expire by TTL.
 */
export function createDisconnectHandler(config: SubscriptionsConfig, options: DisconnectHandlerOptions = {}): WebSocketHandler {
  const rt = createRuntime(config, settleHandlerOptions(config, options));
  return instrumented(rt, async (event) => {
    await removeConnectionWithHooks(rt, event.requestContext.connectionId, 'disconnect');
    rt.metrics.count('connectionsClosed');
    return { statusCode: 200 };
  });
}
