import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import type { WebSocketResult } from '../event';
import { removeConnectionWithHooks } from './hooks';
import type { Runtime } from './runtime';
import { postToConnection } from '../management/client';

/** The Management API of the current invocation, resolved lazily. */
export interface ReplyChannel {
  readonly connectionId: string;
  /** Deadline of each Management API call, retries included. */
  readonly callTimeoutMs: number;
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
    const failure = await postToConnection(channel.client(), channel.connectionId, frame, channel.callTimeoutMs);
    if (failure?.kind === 'gone') {
      await removeConnectionWithHooks(rt, channel.connectionId, 'gone');
      return { statusCode: 200 };
    }
    if (failure) rt.logger.error('reply could not be sent', { connectionId: channel.connectionId, ...failure });
  }
  return { statusCode: 200, body: frames[frames.length - 1] };
}
