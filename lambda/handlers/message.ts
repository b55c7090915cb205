import { TRPCError } from '@trpc/server';
import { parseTRPCMessage, type TRPCClientOutgoingMessage } from '@trpc/server/rpc';
import { ConnectionCache } from './connection-cache';
import { handleConnectionParams } from './connection-params';
import { createRequestContext, type RequestContext } from './context';
import { instrumented } from './instrument';
import type { MessageHandlerOptions } from './options';
import { closeWithFrames, ConnectionRefusedError, refusalFrames } from './refusal';
import { deliverFrames, type ReplyChannel } from './reply';
import { handleRequest, type RequestScope } from './request';
import { managementSender } from './resume';
import { createRuntime, type Runtime } from './runtime';
import { settleMessageOptions, type MessageSettings } from './settings';
import type { SubscriptionsConfig } from '../core/config';
import { invocationScope } from '../core/invocation';
import type { WebSocketEvent, WebSocketHandler, WebSocketResult } from '../event';
import { decodeFrame, frameText, isConnectionParamsMessage, isReplyableId, rawRequestId } from '../protocol/decode';
import { errorFrame, UNKNOWN_ERROR_INFO } from '../protocol/encode';
import type { RequestId } from '../store/store';

/** One decoded JSON frame of a `$default` invocation, with everything needed to answer it. */
interface MessageInvocation {
  readonly rt: Runtime;
  readonly settings: MessageSettings;
  readonly event: WebSocketEvent;
  readonly channel: ReplyChannel;
  /** The frame's parsed JSON. */
  readonly value: unknown;
}

async function handleMessage({ rt, settings, event, channel, value }: MessageInvocation): Promise<WebSocketResult> {
  if (isConnectionParamsMessage(value)) {
    const refusal = await handleConnectionParams(rt, event, channel, value.data, settings.maxConnectionParamsBytes);
    return deliverFrames(rt, channel, refusal === undefined ? [] : [refusal]);
  }
  const raws = Array.isArray(value) ? value : [value];
  const { maxBatchSize } = settings;
  if (raws.length > maxBatchSize) {
    // Each request of a batch costs a PostToConnection and its store writes: refuse the whole
    // frame with one error rather than answer (or run) thousands of requests.
    return deliverFrames(rt, channel, [
      errorFrame(rt, event, null, new TRPCError({
        code: 'PAYLOAD_TOO_LARGE',
        message: `A frame may carry at most ${maxBatchSize} requests, got ${raws.length}`,
      }), UNKNOWN_ERROR_INFO),
    ]);
  }
  const transformer = rt.router._def._config.transformer;
  let context: Promise<RequestContext> | undefined;
  const scope: RequestScope = {
    rt,
    event,
    maxSubscriptionsPerConnection: settings.maxSubscriptionsPerConnection,
    send: managementSender(rt, channel.client, channel.connectionId, channel.callTimeoutMs),
    context: () => {
      context ??= createRequestContext(rt, event, settings.connectionParamsTimeoutMs);
      return context;
    },
  };
  const parsed = raws.map((raw): TRPCClientOutgoingMessage | string => {
    try {
      const message = parseTRPCMessage(raw, transformer);
      if (message.id !== null && !isReplyableId(message.id)) throw new Error('Invalid request id: not a finite number');
      return message;
    } catch (cause) {
      return errorFrame(rt, event, rawRequestId(raw), new TRPCError({ code: 'PARSE_ERROR', message: 'Invalid tRPC message', cause }), UNKNOWN_ERROR_INFO);
    }
  });
  const needsContext = (message: TRPCClientOutgoingMessage | string): message is TRPCClientOutgoingMessage & { id: RequestId } =>
    typeof message !== 'string' && message.id !== null && message.method !== 'subscription.stop';
  if (parsed.some(needsContext)) {
    // The context is created once per invocation anyway; reading it first tells whether the
    // connection was refused, which answers every request of the frame alike.
    const refused = await scope.context().then(() => undefined, (error: unknown) => error instanceof ConnectionRefusedError ? error : undefined);
    if (refused) {
      const answers = parsed.map((message) => {
        if (typeof message === 'string') return message;
        if (!needsContext(message) || message.method === 'subscription.stop') return undefined;
        return { id: message.id, jsonrpc: message.jsonrpc, type: message.method, path: message.params.path, input: message.params.input };
      });
      await closeWithFrames(rt, channel, refusalFrames(rt, event, refused.refusal, answers));
      return { statusCode: 200 };
    }
  }
  const frames = await Promise.all(parsed.map((message, index) =>
    typeof message === 'string' ? message : handleRequest(scope, message, index)));
  return deliverFrames(rt, channel, frames.filter((frame): frame is string => frame !== undefined));
}

/** `JSON.parse`'s own message, as tRPC's ws adapter sends it. */
function parseErrorMessage(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * The `$default` handler: speaks the tRPC v11 WebSocket protocol. `PING` is answered `PONG` as
 * the route response with no store or Management API call; garbage gets a PARSE_ERROR frame.
 * A publisher used during the invocation (e.g. in a mutation) uses its store and Management API client.
 */
export function createMessageHandler(config: SubscriptionsConfig, options: MessageHandlerOptions = {}): WebSocketHandler {
  const settings = settleMessageOptions(config, options);
  const rt = createRuntime(config, settings, new ConnectionCache(settings.connectionCacheSize));
  return instrumented(rt, async (event) => {
    const frame = decodeFrame(frameText(event));
    if (frame.kind === 'ping') return { statusCode: 200, body: 'PONG' };
    if (frame.kind === 'pong') return { statusCode: 200 };
    const management = settings.management(event);
    const channel: ReplyChannel = {
      connectionId: event.requestContext.connectionId,
      callTimeoutMs: settings.calls.timeouts.callTimeoutMs,
      client: () => {
        if (!management) throw new Error('No Management API endpoint: set TRPC_SUBSCRIPTIONS_ENDPOINT or pass `endpoint`');
        return management.client;
      },
    };
    if (frame.kind === 'invalid') {
      return deliverFrames(rt, channel, [
        errorFrame(rt, event, null, new TRPCError({ code: 'PARSE_ERROR', message: parseErrorMessage(frame.cause), cause: frame.cause }), UNKNOWN_ERROR_INFO),
      ]);
    }
    return invocationScope.run(
      { store: rt.store(), management },
      () => handleMessage({ rt, settings, event, channel, value: frame.value }),
    );
  });
}
