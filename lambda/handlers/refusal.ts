/**
 * Refused connections, as close to tRPC's ws adapter as API Gateway allows. tRPC's adapter
 * answers a connection whose ctx cannot be created with a connection-level error
 * (`{"id":null,"error":...}`), answers every request already sent with that error for its id,
 * then closes. API Gateway cannot send anything during `$connect` (a refusal there is an HTTP
 * status the client cannot read, and the stock client reconnects forever with its requests
 * pending), so a refused connection is accepted and its row marked with the error; the first
 * frame with requests gets the connection-level error and one error per request id, then the
 * connection is closed and its rows removed. docs/security.md says what a refused client costs.
 */
import type { ReplyChannel } from './reply';
import type { Runtime } from './runtime';
import { deleteConnection, postToConnection } from '../management/client';
import type { RequestId } from '../store/store';

/**
 * How long the row of a refused connection lives (TTL), in seconds: past API Gateway's 10-minute
 * idle timeout, which closes a refused socket that never sends a request.
 */
export const REFUSED_ROW_TTL_SECONDS = 15 * 60;

/** Thrown while building a request's context when its connection was refused. */
export class ConnectionRefusedError extends Error {
  /** @param refusal the serialized error value the connection was refused with */
  constructor(readonly refusal: string) {
    super('The connection was refused');
    this.name = 'ConnectionRefusedError';
  }
}

/** The serialized `error` value of a connection-level error frame (`{"id":null,"error":...}`). */
export function refusalOf(connectionErrorFrame: string): string {
  return JSON.stringify((JSON.parse(connectionErrorFrame) as { error: unknown }).error);
}

/** A request of a refused connection that gets the refusal for its id. */
export interface RefusedRequest {
  readonly id: RequestId;
  readonly jsonrpc?: '2.0';
}

/**
 * The connection-level error frame, then, in order, one error frame per request id (a string is
 * a frame already made, e.g. the PARSE_ERROR of a malformed request; `undefined` gets no frame).
 */
export function refusalFrames(refusal: string, requests: ReadonlyArray<RefusedRequest | string | undefined>): string[] {
  const frames = [`{"id":null,"error":${refusal}}`];
  for (const request of requests) {
    if (typeof request === 'string') frames.push(request);
    else if (request) frames.push(`{"id":${JSON.stringify(request.id)},${request.jsonrpc ? '"jsonrpc":"2.0",' : ''}"error":${refusal}}`);
  }
  return frames;
}

/**
 * Sends `frames` (PostToConnection, in order), then closes the connection (DeleteConnection) and
 * removes its rows: the end of a refused connection, and of one whose ctx cannot be created.
 */
export async function closeWithFrames(rt: Runtime, channel: ReplyChannel, frames: readonly string[]): Promise<void> {
  const { connectionId } = channel;
  const client = channel.client();
  for (const frame of frames) {
    const failure = await postToConnection(client, connectionId, frame, channel.callTimeoutMs);
    if (failure?.kind === 'gone') break;
    if (failure) rt.logger.error('connection error frame could not be sent', { connectionId, ...failure });
  }
  const closeFailure = await deleteConnection(client, connectionId, channel.callTimeoutMs);
  // Gone: the client left first, which is what closing wanted.
  if (closeFailure && closeFailure.kind !== 'gone') rt.logger.error('connection could not be closed', { connectionId, ...closeFailure });
  await rt.store().removeConnection(connectionId);
}
