import { callTRPCProcedure, TRPCError } from '@trpc/server';
import type { TRPCClientOutgoingMessage } from '@trpc/server/rpc';
import type { RequestContext } from './context';
import type { WebSocketEvent } from '../event';
import type { FrameSender } from './resume';
import type { Runtime } from './runtime';
import { startSubscription, stopSubscription } from './subscribe';
import { errorFrame, resultFrame, UNKNOWN_ERROR_INFO } from '../protocol/encode';
import { isRecord } from '../util/guards';

/** Per-invocation state shared by the requests of one frame. */
export interface RequestScope {
  readonly rt: Runtime;
  readonly event: WebSocketEvent;
  /** Live subscriptions a connection may hold (`maxSubscriptionsPerConnection`). */
  readonly maxSubscriptionsPerConnection: number;
  /** Sends a frame to the connection ahead of the replies (replayed events of a resume). */
  readonly send?: FrameSender;
  /** The connection row and ctx, created once per invocation on first use. */
  context(): Promise<RequestContext>;
}

function isAsyncIterable(value: unknown): boolean {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/** tRPC's ws adapter merges `lastEventId` into the input; so do we. */
function inputWithLastEventId(input: unknown, lastEventId: string | undefined): unknown {
  if (lastEventId === undefined) return input;
  if (isRecord(input)) return { ...input, lastEventId };
  return input ?? { lastEventId };
}

/** Handles one request of a frame; returns the frame to answer with, if any. */
export async function handleRequest(
  scope: RequestScope, message: TRPCClientOutgoingMessage, batchIndex: number,
): Promise<string | undefined> {
  const { rt, event } = scope;
  const { id, jsonrpc } = message;
  if (id === null) {
    return errorFrame(rt, event, null, new TRPCError({ code: 'PARSE_ERROR', message: '`id` is required' }),
      UNKNOWN_ERROR_INFO, jsonrpc);
  }
  if (message.method === 'subscription.stop') {
    try {
      return await stopSubscription(rt, event.requestContext.connectionId, id, jsonrpc);
    } catch (cause) {
      return errorFrame(rt, event, id, cause, { type: 'subscription', path: undefined, input: undefined, ctx: undefined }, jsonrpc);
    }
  }
  const type = message.method;
  const { path } = message.params;
  const input = inputWithLastEventId(message.params.input, message.params.lastEventId);
  let ctx: unknown;
  try {
    const request = await scope.context();
    ctx = request.ctx;
    const result = await callTRPCProcedure({
      router: rt.router,
      path,
      getRawInput: async () => input,
      ctx,
      type,
      signal: undefined,
      batchIndex,
    });
    if (type === 'subscription') {
      const lastEventId = isRecord(input) ? input.lastEventId : undefined;
      return await startSubscription(rt, request, id, path, result, scope.maxSubscriptionsPerConnection, jsonrpc, { lastEventId, send: scope.send });
    }
    if (isAsyncIterable(result)) {
      throw new TRPCError({
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: `Cannot return an async iterable from a ${type} procedure over WebSockets`,
      });
    }
    return resultFrame(rt, id, { type: 'data', data: result }, jsonrpc);
  } catch (cause) {
    return errorFrame(rt, event, id, cause, { type, path, input, ctx }, jsonrpc);
  }
}
