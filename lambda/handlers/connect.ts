import { getTRPCErrorFromUnknown } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import type { WebSocketEvent, WebSocketHandler } from '../event';
import { connectionKeyOf } from './connection-key';
import { instrumented } from './instrument';
import type { ConnectHandlerOptions } from './options';
import { connectionRefusal, REFUSED_ROW_TTL_SECONDS } from './refusal';
import { createRuntime } from './runtime';
import { settleConnectOptions } from './settings';
import type { SubscriptionsConfig } from '../core/config';
import { runConnectHook } from '../core/hooks';
import { clientVisibleError, reportError, UNKNOWN_ERROR_INFO } from '../protocol/encode';
import type { ConnectSnapshot } from '../store/store';
import { isRecord } from '../util/guards';

function pickHeaders(
  headers: WebSocketEvent['headers'], names: readonly string[],
): Record<string, string | undefined> | undefined {
  if (!headers || names.length === 0) return undefined;
  const wanted = new Set(names.map((name) => name.toLowerCase()));
  const picked = Object.entries(headers).filter(([name]) => wanted.has(name.toLowerCase()));
  return picked.length > 0 ? Object.fromEntries(picked) : undefined;
}

/** What `$connect` saw, as persisted on the connection row. */
export function connectSnapshot(event: WebSocketEvent, persistHeaders: readonly string[]): ConnectSnapshot {
  const { authorizer, identity } = event.requestContext;
  const query = event.queryStringParameters ?? undefined;
  const headers = pickHeaders(event.headers, persistHeaders);
  return {
    ...(query ? { queryStringParameters: { ...query } } : {}),
    ...(isRecord(authorizer) ? { authorizer: { ...authorizer } } : {}),
    ...(identity?.sourceIp ? { sourceIp: identity.sourceIp } : {}),
    ...(headers ? { headers } : {}),
  };
}

/**
 * The `$connect` handler: persists the connection row with what later messages need to build
 * ctx. Without `connectionParams=1` it calls `createContext` now; when that throws, the
 * connection is accepted with a row marked refused, so its first requests get the error for
 * their ids and it is closed (./refusal.ts), or, with `refuseWith: 'http-status'`, the upgrade
 * is rejected with the error's HTTP status. With `connectionParams=1`, ctx is created once the
 * params arrive.
 */
export function createConnectHandler(config: SubscriptionsConfig, options: ConnectHandlerOptions = {}): WebSocketHandler {
  const settings = settleConnectOptions(config, options);
  const rt = createRuntime(config, settings);
  const { persistHeaders, rowTtlSeconds, refuseWith } = settings;
  return instrumented(rt, async (event) => {
    const { connectionId } = event.requestContext;
    const connect = connectSnapshot(event, persistHeaders);
    const awaitingConnectionParams = event.queryStringParameters?.connectionParams === '1';
    let key: string | undefined;
    let ctx: unknown = {};
    if (!awaitingConnectionParams && (config.createContext || config.connectionKey || config.hooks?.connection?.onConnect)) {
      try {
        ctx = config.createContext ? await config.createContext({ event, connectionId, connectionParams: null, connect }) : {};
        key = connectionKeyOf(config, ctx);
      } catch (cause) {
        rt.metrics.count('connectionsRefused');
        if (refuseWith === 'http-status') {
          const error = getTRPCErrorFromUnknown(cause);
          reportError(rt, event, error, UNKNOWN_ERROR_INFO);
          return { statusCode: getHTTPStatusCodeFromError(error), body: clientVisibleError(rt, error).message };
        }
        // Nothing of the connect snapshot is kept: the row only carries the error.
        const now = Date.now();
        await rt.store().putConnection({
          connectionId,
          connectedAt: event.requestContext.connectedAt ?? now,
          expireAt: Math.floor(now / 1000) + REFUSED_ROW_TTL_SECONDS,
          awaitingConnectionParams: false,
          connect: {},
          // The client gets the connection-level error with its first requests.
          refusal: connectionRefusal(rt, event, cause, false).stored,
        });
        return { statusCode: 200 };
      }
    }
    const connectedAt = event.requestContext.connectedAt ?? Date.now();
    await rt.store().putConnection({
      connectionId,
      connectedAt,
      expireAt: Math.floor(connectedAt / 1000) + rowTtlSeconds,
      awaitingConnectionParams,
      connect,
      ...(rt.region === undefined ? {} : { region: rt.region }),
      ...(key === undefined ? {} : { key }),
    });
    rt.metrics.count('connectionsOpened');
    if (!awaitingConnectionParams) await runConnectHook(config.hooks, rt.logger, { ctx, connectionId, key });
    return { statusCode: 200 };
  });
}
