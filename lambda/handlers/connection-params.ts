import { TRPCError } from '@trpc/server';
import { parseConnectionParamsFromUnknown } from '@trpc/server/http';
import type { WebSocketEvent } from './event';
import { closeWithError, type ReplyChannel } from './reply';
import type { Runtime } from './runtime';
import { errorFrame } from '../protocol/errors';

/** Validates `connectionParams`: `null` or an object of strings, at most `maxBytes` of JSON. */
export function parseConnectionParams(data: unknown, maxBytes: number): Record<string, string> | null {
  const params = parseConnectionParamsFromUnknown(data);
  const size = Buffer.byteLength(JSON.stringify(params ?? null));
  if (size > maxBytes) {
    throw new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: `connectionParams must be at most ${maxBytes} bytes of JSON, got ${size}` });
  }
  // parseConnectionParamsFromUnknown checked every value is a string.
  return params as Record<string, string> | null;
}

/**
 * Handles the `{ method: 'connectionParams', data }` frame: stores the params, then creates ctx
 * once to refuse the connection early. Invalid params or a throwing `createContext` send a
 * connection-level error frame and close the connection, as tRPC's ws adapter does.
 */
export async function handleConnectionParams(
  rt: Runtime, event: WebSocketEvent, channel: ReplyChannel, data: unknown, maxBytes: number,
): Promise<void> {
  const { connectionId } = event.requestContext;
  const info = { type: 'unknown', path: undefined, input: undefined, ctx: undefined } as const;
  let params: Record<string, string> | null;
  try {
    params = parseConnectionParams(data, maxBytes);
  } catch (cause) {
    await closeWithError(rt, channel, errorFrame(rt, event, null, cause, info));
    return;
  }
  const stored = await rt.store().setConnectionParams(connectionId, params);
  if (!stored) {
    rt.logger.warn('connectionParams for a connection that is gone', { connectionId });
    return;
  }
  if (!rt.config.createContext) return;
  const connection = await rt.store().getConnection(connectionId);
  if (!connection) return;
  try {
    await rt.config.createContext({ event, connectionId, connectionParams: params, connect: connection.connect });
  } catch (cause) {
    await closeWithError(rt, channel, errorFrame(rt, event, null, cause, info));
  }
}
