import type { WebSocketEvent } from '../event';
import { isRecord } from '../util/guards';

/** A text frame as received on `$default`, classified. */
export type IncomingFrame =
  | { readonly kind: 'ping' }
  | { readonly kind: 'pong' }
  | { readonly kind: 'invalid'; readonly cause: unknown }
  | { readonly kind: 'json'; readonly value: unknown };

/** The frame's text (API Gateway base64-encodes binary frames). */
export function frameText(event: WebSocketEvent): string {
  const body = event.body ?? '';
  return event.isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
}

/** Classifies a frame: the keep-alive literals `PING`/`PONG` are not JSON. */
export function decodeFrame(text: string): IncomingFrame {
  if (text === 'PING') return { kind: 'ping' };
  if (text === 'PONG') return { kind: 'pong' };
  try {
    return { kind: 'json', value: JSON.parse(text) as unknown };
  } catch (cause) {
    return { kind: 'invalid', cause };
  }
}

/** True for the `{ method: 'connectionParams', data }` frame the client sends first. */
export function isConnectionParamsMessage(value: unknown): value is { method: 'connectionParams'; data: unknown } {
  return isRecord(value) && value.method === 'connectionParams';
}

/**
 * True for an id a reply can carry back: JSON has no Infinity (`1e400` parses to it and is written
 * back as `null`), so such an id could never be matched by the client nor used for a subscription.
 */
export function isReplyableId(id: unknown): id is string | number {
  return typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
}

/** The request id of a raw message if it has a usable one (for an error frame), else null. */
export function rawRequestId(raw: unknown): string | number | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const id = (raw as { id?: unknown }).id;
  return isReplyableId(id) ? id : null;
}
