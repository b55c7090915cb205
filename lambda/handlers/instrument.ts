import type { Runtime } from './runtime';
import type { WebSocketEvent, WebSocketHandler, WebSocketResult } from '../event';
import { runWithLogContext } from '../util/log-context';

function awsRequestIdOf(context: unknown): string | undefined {
  const id = (context as { awsRequestId?: unknown } | undefined)?.awsRequestId;
  return typeof id === 'string' ? id : undefined;
}

/**
 * Runs one route's handler so that every log line of the invocation carries its connection id,
 * route and request ids, and prints the invocation's metrics (one EMF line) when it ends,
 * whether it succeeded or threw.
 */
export function instrumented(rt: Runtime, handle: (event: WebSocketEvent) => Promise<WebSocketResult>): WebSocketHandler {
  return (event, context) => runWithLogContext({
    connectionId: event.requestContext.connectionId,
    route: event.requestContext.routeKey,
    requestId: event.requestContext.requestId,
    awsRequestId: awsRequestIdOf(context),
  }, async () => {
    try {
      return await handle(event);
    } finally {
      rt.metrics.flush();
    }
  });
}
