import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import type { WebSocketResult } from '../event';
import type { Runtime } from './runtime';
import { deleteConnection, postToConnection } from '../management/client';

/** The Management API of the current invocation, resolved lazily. */
export interface ReplyChannel {
  readonly connectionId: string;
  /** Throws when no endpoint could be resolved. */
  client(): ApiGatewayManagementApiClient;
}

/**
 * Delivers a handler's frames: one frame per message (the client drops JSON arrays). All but the
 * last go through PostToConnection, in order; the last is the two-way route's response, so a
 * single reply costs no Management API call.
 */
export async function deliverFrames(rt: Runtime, channel: ReplyChannel, frames: readonly string[]): Promise<WebSocketResult> {
  if (frames.length === 0) return { statusCode: 200 };
  for (const frame of frames.slice(0, -1)) {
    const failure = await postToConnection(channel.client(), channel.connectionId, frame);
    if (failure?.kind === 'gone') {
      await rt.store().removeConnection(channel.connectionId);
      return { statusCode: 200 };
    }
    if (failure) rt.logger.error('reply could not be sent', { connectionId: channel.connectionId, ...failure });
  }
  return { statusCode: 200, body: frames[frames.length - 1] };
}

/**
 * Sends a connection-level error frame (`{"id":null,"error":...}`), then closes the connection
 * and removes its rows, as tRPC's ws adapter does when ctx cannot be created.
 */
export async function closeWithError(rt: Runtime, channel: ReplyChannel, frame: string): Promise<void> {
  const client = channel.client();
  const failure = await postToConnection(client, channel.connectionId, frame);
  if (failure && failure.kind !== 'gone') rt.logger.error('connection error frame could not be sent', { connectionId: channel.connectionId, ...failure });
  const closeFailure = await deleteConnection(client, channel.connectionId);
  if (closeFailure) rt.logger.error('connection could not be closed', { connectionId: channel.connectionId, ...closeFailure });
  await rt.store().removeConnection(channel.connectionId);
}
