import { TRPCError } from '@trpc/server';
import { parseConnectionParamsFromUnknown } from '@trpc/server/http';
import type { WebSocketEvent } from '../event';
import { connectionKeyOf } from './connection-key';
import { closeWithFrames, connectionRefusal, REFUSED_ROW_TTL_SECONDS } from './refusal';
import type { ReplyChannel } from './reply';
import type { Runtime } from './runtime';
import { runConnectHook } from '../core/hooks';
import { errorFrame, UNKNOWN_ERROR_INFO } from '../protocol/encode';

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
 * Handles the `{ method: 'connectionParams', data }` frame: validates the params, creates ctx once
 * to refuse the connection early, then stores them. Invalid params or a throwing `createContext`
 * refuse the connection as tRPC's ws adapter does: the client gets the connection-level error
 * (`{"id":null,"error":...}`) and the row is marked refused, so the requests it already sent are
 * answered with that error for their ids (see ./refusal.ts) before the connection is closed.
 *
 * The params are accepted once, and only from a connection that announced them on its URL
 * (`connectionParams=1`), as tRPC's adapter reads them only as the first message: a later frame
 * must not swap the identity ctx is built from. Such a frame, whatever its `data`, is answered
 * with a PARSE_ERROR frame (id null), returned for the caller to send, and changes nothing: the
 * connection stays usable, as with tRPC's adapter.
 */
export async function handleConnectionParams(
  rt: Runtime, event: WebSocketEvent, channel: ReplyChannel, data: unknown, maxBytes: number,
): Promise<string | undefined> {
  const { connectionId } = event.requestContext;
  const info = UNKNOWN_ERROR_INFO;
  try {
    // Whether params are expected is checked first: a frame on a connection that is not awaiting
    // them must never close it, whatever its data.
    const before = await rt.store().getConnection(connectionId);
    if (!before) {
      rt.logger.warn('connectionParams for a connection that is gone', { connectionId });
      return undefined;
    }
    if (!before.awaitingConnectionParams) {
      return errorFrame(rt, event, null, new TRPCError({
        code: 'PARSE_ERROR',
        message: 'Unexpected connectionParams: they are accepted once, as the first message of a connection opened with connectionParams=1',
      }), info);
    }
    let params: Record<string, string> | null;
    let key: string | undefined;
    let ctx: unknown;
    try {
      params = parseConnectionParams(data, maxBytes);
      ctx = rt.config.createContext
        ? await rt.config.createContext({ event, connectionId, connectionParams: params, connect: before.connect })
        : {};
      key = connectionKeyOf(rt.config, ctx);
    } catch (cause) {
      // The connection-level error is this frame's answer: the requests answered later get only theirs.
      const refusal = connectionRefusal(rt, event, cause, true);
      const expireAt = Math.floor(Date.now() / 1000) + REFUSED_ROW_TTL_SECONDS;
      // Conditional, like the write below: a connection whose params were accepted stays accepted.
      if (await rt.store().refuseConnection(connectionId, refusal.stored, expireAt)) return refusal.frame;
      rt.logger.warn('connectionParams refused: the connection is gone or already has them', { connectionId });
      return undefined;
    }
    // The read above answers the common cases with a clear message; this conditional write is
    // what makes "accepted once" hold when two such frames are handled at the same moment.
    if (!(await rt.store().setConnectionParams(connectionId, params))) {
      rt.logger.warn('connectionParams refused: the connection is gone or already has them', { connectionId });
      return undefined;
    }
    if (key !== undefined) await rt.store().setConnectionKey(before, key);
    rt.connections.remember({ ...before, connectionParams: params, awaitingConnectionParams: false });
    await runConnectHook(rt.config.hooks, rt.logger, { ctx, connectionId, key });
  } catch (cause) {
    // The store failed: nothing can be promised to this connection's requests.
    await closeWithFrames(rt, channel, [errorFrame(rt, event, null, cause, info)]);
  }
  return undefined;
}
