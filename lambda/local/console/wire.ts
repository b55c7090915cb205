/**
 * The console's reading of the tRPC frames that cross the local gateway: which subscriptions a
 * client asked for and has not stopped (so a frame posted to it can be told apart: a publish to a
 * subscription, a server-side stop, or a reply to one of its own requests) and what a posted frame
 * is. Wire facts: docs/runtime.md, "Replies".
 */
import type { RequestId } from '../../store/store';
import { isRecord } from '../../util/guards';

/** A subscription a client asked for. */
export interface ClientRequest {
  readonly method: 'subscription';
  readonly path: string;
  readonly input?: unknown;
}

/**
 * The live subscription requests of one connection, by `idKey()`: a client's stop removes its
 * entry, so the map holds no more than the connection's subscriptions.
 */
export type ClientRequests = Map<string, ClientRequest>;

/** Keeps the id's type: a client's numeric 1 and string '1' are different ids. */
export function idKey(id: RequestId): string {
  return `${typeof id}:${id}`;
}

/** Records the subscriptions (and stops) of one client frame, a single message or a batch. */
export function recordClientFrame(requests: ClientRequests, body: string): void {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return; // PING, or garbage the handler answers with a PARSE_ERROR
  }
  for (const message of Array.isArray(value) ? value : [value]) {
    if (!isRecord(message) || !isRequestId(message.id)) continue;
    const key = idKey(message.id);
    if (message.method === 'subscription.stop') {
      // The `stopped` that answers it is a reply, like the answers to queries (never recorded).
      requests.delete(key);
      continue;
    }
    const params = isRecord(message.params) ? message.params : {};
    if (message.method === 'subscription' && typeof params.path === 'string') {
      requests.set(key, { method: 'subscription', path: params.path, ...('input' in params ? { input: params.input } : {}) });
    }
  }
}

/** A frame posted to a connection, as the console files it. */
export type PostedFrame =
  /** Published data for a subscription. */
  | { readonly kind: 'publish'; readonly subscriptionId: RequestId; readonly path: string; readonly data: unknown; readonly eventId?: string; readonly key: string }
  /** The server ended a subscription (`stop()`): completed, or with an error. */
  | { readonly kind: 'stop' | 'error'; readonly subscriptionId: RequestId; readonly path: string; readonly detail?: string; readonly key: string }
  /** tRPC's reconnect notification. */
  | { readonly kind: 'reconnect'; readonly key: string }
  /** Anything else: replies to the client's own requests, or frames the console does not know. */
  | { readonly kind: 'reply' };

/**
 * Files a posted frame. `key` groups the posts of one publish: the frame without the id each
 * subscription gets (a publish encodes the same `result` for every target).
 */
export function classifyPostedFrame(requests: ClientRequests | undefined, body: string | undefined): PostedFrame {
  let frame: unknown;
  try {
    frame = body === undefined ? undefined : JSON.parse(body);
  } catch {
    return { kind: 'reply' };
  }
  if (!isRecord(frame)) return { kind: 'reply' };
  if (frame.id === null && frame.method === 'reconnect') return { kind: 'reconnect', key: 'reconnect' };
  if (!isRequestId(frame.id)) return { kind: 'reply' };
  const request = requests?.get(idKey(frame.id));
  // Only frames for a subscription the client still wants are the server's doing; the rest
  // answer the client's own requests (query results, `started`, the `stopped` of its stop).
  if (!request) return { kind: 'reply' };
  const { path } = request;
  if (isRecord(frame.result)) {
    const result = frame.result;
    if (result.type === 'data') {
      return {
        kind: 'publish',
        subscriptionId: frame.id,
        path,
        data: result.data,
        key: `publish ${path} ${JSON.stringify(result)}`,
        ...(typeof result.id === 'string' ? { eventId: result.id } : {}),
      };
    }
    if (result.type === 'stopped') return { kind: 'stop', subscriptionId: frame.id, path, key: `stop ${path}` };
    return { kind: 'reply' };
  }
  if (isRecord(frame.error)) {
    const error = frame.error;
    const data = isRecord(error.data) ? error.data : {};
    const detail = `${typeof data.code === 'string' ? `${data.code}: ` : ''}${typeof error.message === 'string' ? error.message : ''}`;
    return { kind: 'error', subscriptionId: frame.id, path, detail, key: `error ${path} ${JSON.stringify(error)}` };
  }
  return { kind: 'reply' };
}

function isRequestId(id: unknown): id is RequestId {
  return typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
}
