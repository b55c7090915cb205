import { getTRPCErrorFromUnknown } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { DEFAULT_ROW_TTL_SECONDS, MAX_CONNECTION_SECONDS, ROW_TTL_ENV } from '../constants';
import type { WebSocketEvent, WebSocketHandler } from '../event';
import type { ConnectHandlerOptions } from './options';
import { createRuntime } from './runtime';
import type { SubscriptionsConfig } from '../core/config';
import { clientVisibleError, reportError } from '../protocol/errors';
import type { ConnectSnapshot } from '../store/store';

function pickHeaders(
  headers: WebSocketEvent['headers'], names: readonly string[],
): Record<string, string | undefined> | undefined {
  if (!headers || names.length === 0) return undefined;
  const wanted = new Set(names.map((name) => name.toLowerCase()));
  const picked = Object.entries(headers).filter(([name]) => wanted.has(name.toLowerCase()));
  return picked.length > 0 ? Object.fromEntries(picked) : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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
 * The rows' lifetime: the option, else the environment, else the default. Anything under the
 * 2-hour connection limit would let TTL delete the rows of a live connection, so it fails at
 * start-up (Lambda init), naming the setting and the value.
 */
export function resolveRowTtlSeconds(option: number | undefined, env: string | undefined = process.env[ROW_TTL_ENV]): number {
  const [source, value] = option !== undefined
    ? ['rowTtlSeconds', option]
    : env !== undefined && env !== '' ? [ROW_TTL_ENV, Number(env)] : ['default', DEFAULT_ROW_TTL_SECONDS];
  if (!Number.isInteger(value) || value < MAX_CONNECTION_SECONDS) {
    throw new Error(
      `\`${source}\` must be a whole number of seconds of at least ${MAX_CONNECTION_SECONDS} (API Gateway's 2-hour connection limit), got: ${option ?? env}`,
    );
  }
  return value;
}

/**
 * The `$connect` handler: persists the connection row with what later messages need to build
 * ctx. Without `connectionParams=1` it calls `createContext` now and rejects the upgrade with the
 * error's HTTP status when it throws; with it, ctx is created once the params arrive.
 */
export function createConnectHandler(config: SubscriptionsConfig, options: ConnectHandlerOptions = {}): WebSocketHandler {
  const rt = createRuntime(config, options);
  const persistHeaders = options.persistHeaders ?? [];
  const rowTtlSeconds = resolveRowTtlSeconds(options.rowTtlSeconds);
  return async (event) => {
    const { connectionId } = event.requestContext;
    const connect = connectSnapshot(event, persistHeaders);
    const awaitingConnectionParams = event.queryStringParameters?.connectionParams === '1';
    if (!awaitingConnectionParams && config.createContext) {
      try {
        await config.createContext({ event, connectionId, connectionParams: null, connect });
      } catch (cause) {
        const error = getTRPCErrorFromUnknown(cause);
        reportError(rt, event, error, { type: 'unknown', path: undefined, input: undefined, ctx: undefined });
        return { statusCode: getHTTPStatusCodeFromError(error), body: clientVisibleError(rt, error).message };
      }
    }
    const connectedAt = event.requestContext.connectedAt ?? Date.now();
    await rt.store().putConnection({
      connectionId,
      connectedAt,
      expireAt: Math.floor(connectedAt / 1000) + rowTtlSeconds,
      awaitingConnectionParams,
      connect,
    });
    return { statusCode: 200 };
  };
}
