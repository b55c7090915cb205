/**
 * Refused connections, as close to tRPC's ws adapter as API Gateway allows. tRPC's adapter
 * answers a connection whose ctx cannot be created with a connection-level error
 * (`{"id":null,"error":...}`), answers every request already sent with that error for its id,
 * then closes. API Gateway cannot send anything during `$connect` (a refusal there is an HTTP
 * status the client cannot read, and the stock client reconnects forever with its requests
 * pending), so a refused connection is accepted and its row marked with the error; the first
 * frame with requests gets the connection-level error (unless the refusal sent it already) and
 * one error per request, then the connection is closed and its rows removed. docs/security.md
 * says what a refused client costs.
 */
import { getTRPCErrorFromUnknown, TRPCError, type TRPCProcedureType } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { removeConnectionWithHooks } from './hooks';
import type { ReplyChannel } from './reply';
import type { Runtime } from './runtime';
import type { WebSocketEvent } from '../event';
import { deleteConnection, postToConnection } from '../management/client';
import { clientVisibleError, errorFrame, UNKNOWN_ERROR_INFO } from '../protocol/encode';
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

/** A refusal as a connection row keeps it (its `refusal` attribute, JSON). */
interface StoredRefusal {
  /** The connection-level error frame (`{"id":null,"error":...}`). */
  readonly frame: string;
  /** The error as clients see it (masked), which each request's error frame is built from again. */
  readonly code: TRPC_ERROR_CODE_KEY;
  readonly message: string;
  /** The connection-level frame was sent already (a `connectionParams` refusal answers with it). */
  readonly sent: boolean;
}

/** A refusal: what the row keeps, and the connection-level error frame. */
export interface ConnectionRefusal {
  /** The row's `refusal` attribute. */
  readonly stored: string;
  /** The connection-level error frame (`{"id":null,"error":...}`). */
  readonly frame: string;
}

/**
 * Refuses a connection with `cause`: reports it (onError) once and builds its connection-level
 * error frame. `sent`: the caller sends that frame now (a `connectionParams` refusal), so the
 * requests answered later get only their own error frames.
 */
export function connectionRefusal(rt: Runtime, event: WebSocketEvent, cause: unknown, sent: boolean): ConnectionRefusal {
  const frame = errorFrame(rt, event, null, cause, UNKNOWN_ERROR_INFO);
  const visible = clientVisibleError(rt, getTRPCErrorFromUnknown(cause));
  const stored: StoredRefusal = { frame, code: visible.code, message: visible.message, sent };
  return { stored: JSON.stringify(stored), frame };
}

/** Reads a row's `refusal`; rows written before it was JSON hold the serialized error value alone. */
function parseRefusal(stored: string): StoredRefusal | { readonly frame: string; readonly legacyError: string } {
  try {
    const value = JSON.parse(stored) as Partial<StoredRefusal>;
    if (typeof value.frame === 'string' && typeof value.code === 'string' && typeof value.message === 'string') {
      return { frame: value.frame, code: value.code, message: value.message, sent: value.sent === true };
    }
  } catch {
    // Not JSON: not a refusal this version wrote.
  }
  return { frame: `{"id":null,"error":${stored}}`, legacyError: stored };
}

/** A request of a refused connection that gets the refusal for its id, as tRPC's adapter answers it. */
export interface RefusedRequest {
  readonly id: RequestId;
  readonly jsonrpc?: '2.0';
  readonly type: TRPCProcedureType;
  readonly path: string;
  readonly input: unknown;
}

/**
 * The frames that answer a refused connection's requests: its connection-level error frame
 * (unless it was sent when the connection was refused), then, in order, one error frame per
 * request (a string is a frame already made, e.g. the PARSE_ERROR of a malformed request;
 * `undefined` gets no frame). As tRPC's adapter does, each request's error is built for it: its
 * `path` and type reach the error formatter and `onError`, and `jsonrpc` is echoed.
 */
export function refusalFrames(
  rt: Runtime, event: WebSocketEvent, stored: string, requests: ReadonlyArray<RefusedRequest | string | undefined>,
): string[] {
  const refusal = parseRefusal(stored);
  const frames = 'sent' in refusal && refusal.sent ? [] : [refusal.frame];
  for (const request of requests) {
    if (typeof request === 'string') {
      frames.push(request);
    } else if (request && 'legacyError' in refusal) {
      frames.push(`{"id":${JSON.stringify(request.id)},${request.jsonrpc ? '"jsonrpc":"2.0",' : ''}"error":${refusal.legacyError}}`);
    } else if (request && 'code' in refusal) {
      const error = new TRPCError({ code: refusal.code, message: refusal.message });
      const info = { type: request.type, path: request.path, input: request.input, ctx: undefined };
      frames.push(errorFrame(rt, event, request.id, error, info, request.jsonrpc));
    }
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
  // A refused connection was never accepted (no hook runs); one whose ctx failed later was.
  await removeConnectionWithHooks(rt, connectionId, 'server-stop');
}
