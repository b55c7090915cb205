import { TRPCError } from '@trpc/server';
import { parseTRPCMessage, type TRPCClientOutgoingMessage } from '@trpc/server/rpc';
import { handleConnectionParams } from './connection-params';
import { createRequestContext, type RequestContext } from './context';
import type { WebSocketEvent, WebSocketHandler, WebSocketResult } from '../event';
import type { MessageHandlerOptions } from './options';
import { deliverFrames, type ReplyChannel } from './reply';
import { handleRequest, type RequestScope } from './request';
import { createRuntime, type Runtime } from './runtime';
import type { SubscriptionsConfig } from '../core/config';
import { invocationScope } from '../core/invocation';
import { defaultManagementClientFactory, resolveEndpoint, type ManagementAccess } from '../management/client';
import { decodeFrame, frameText, isConnectionParamsMessage, isReplyableId, rawRequestId } from '../protocol/decode';
import { errorFrame } from '../protocol/errors';

const NO_ERROR_INFO = { type: 'unknown', path: undefined, input: undefined, ctx: undefined } as const;

/** Default of {@link MessageHandlerOptions.maxBatchSize}. */
export const DEFAULT_MAX_BATCH_SIZE = 100;

/** Default of {@link MessageHandlerOptions.maxSubscriptionsPerConnection}. */
export const DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION = 100;

/** @throws RangeError naming the option unless it is a positive integer */
function resolveMaxSubscriptionsPerConnection(option: number | undefined): number {
  const value = option ?? DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`\`maxSubscriptionsPerConnection\` must be a positive integer, got: ${String(option)}`);
  }
  return value;
}

function managementFor(options: MessageHandlerOptions, event: WebSocketEvent): ManagementAccess | undefined {
  const endpoint = resolveEndpoint(options.endpoint, event);
  if (!endpoint) return undefined;
  return { endpoint, client: (options.managementClient ?? defaultManagementClientFactory)(endpoint) };
}

async function handleMessage(
  rt: Runtime, options: MessageHandlerOptions, maxSubscriptionsPerConnection: number, event: WebSocketEvent, channel: ReplyChannel, value: unknown,
): Promise<WebSocketResult> {
  if (isConnectionParamsMessage(value)) {
    const refusal = await handleConnectionParams(rt, event, channel, value.data, options.maxConnectionParamsBytes ?? 4096);
    return deliverFrames(rt, channel, refusal === undefined ? [] : [refusal]);
  }
  const raws = Array.isArray(value) ? value : [value];
  const maxBatchSize = options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
  if (raws.length > maxBatchSize) {
    // Each request of a batch costs a PostToConnection and its store writes: refuse the whole
    // frame with one error rather than answer (or run) thousands of requests.
    return deliverFrames(rt, channel, [
      errorFrame(rt, event, null, new TRPCError({
        code: 'PAYLOAD_TOO_LARGE',
        message: `A frame may carry at most ${maxBatchSize} requests, got ${raws.length}`,
      }), NO_ERROR_INFO),
    ]);
  }
  const transformer = rt.router._def._config.transformer;
  let context: Promise<RequestContext> | undefined;
  const scope: RequestScope = {
    rt,
    event,
    maxSubscriptionsPerConnection,
    context: () => {
      context ??= createRequestContext(rt, event, options.connectionParamsTimeoutMs ?? 5000);
      return context;
    },
  };
  const frames = await Promise.all(raws.map(async (raw, index): Promise<string | undefined> => {
    let message: TRPCClientOutgoingMessage;
    try {
      message = parseTRPCMessage(raw, transformer);
      if (message.id !== null && !isReplyableId(message.id)) throw new Error('Invalid request id: not a finite number');
    } catch (cause) {
      return errorFrame(rt, event, rawRequestId(raw), new TRPCError({ code: 'PARSE_ERROR', message: 'Invalid tRPC message', cause }), NO_ERROR_INFO);
    }
    return handleRequest(scope, message, index);
  }));
  return deliverFrames(rt, channel, frames.filter((frame): frame is string => frame !== undefined));
}

/**
 * The `$default` handler: speaks the tRPC v11 WebSocket protocol. `PING` is answered `PONG` as
 * the route response with no store or Management API call; garbage gets a PARSE_ERROR frame.
 * A publisher used during the invocation (e.g. in a mutation) uses its store and Management API client.
 */
export function createMessageHandler(config: SubscriptionsConfig, options: MessageHandlerOptions = {}): WebSocketHandler {
  const rt = createRuntime(config, options, options.connectionCacheSize ?? 1000);
  const maxSubscriptionsPerConnection = resolveMaxSubscriptionsPerConnection(options.maxSubscriptionsPerConnection);
  return async (event) => {
    const frame = decodeFrame(frameText(event));
    if (frame.kind === 'ping') return { statusCode: 200, body: 'PONG' };
    if (frame.kind === 'pong') return { statusCode: 200 };
    const management = managementFor(options, event);
    const channel: ReplyChannel = {
      connectionId: event.requestContext.connectionId,
      client: () => {
        if (!management) throw new Error('No Management API endpoint: set TRPC_SUBSCRIPTIONS_ENDPOINT or pass `endpoint`');
        return management.client;
      },
    };
    if (frame.kind === 'invalid') {
      return deliverFrames(rt, channel, [
        errorFrame(rt, event, null, new TRPCError({ code: 'PARSE_ERROR', message: 'Frame is not JSON', cause: frame.cause }), NO_ERROR_INFO),
      ]);
    }
    return invocationScope.run(
      { store: rt.store(), management },
      () => handleMessage(rt, options, maxSubscriptionsPerConnection, event, channel, frame.value),
    );
  };
}
