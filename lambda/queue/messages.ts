/**
 * The bodies of the fan-out queue's messages (JSON). A `publish` message asks for one publish
 * (its data already serialized by the router's transformer); the worker turns it into `deliver`
 * messages, each naming its exact targets, so that many worker instances post in parallel and a
 * retry never widens to targets outside its batch.
 */
import type { FilterEntry, RequestId } from '../store/store';
import { isRecord } from '../util/guards';

/** Version tag of every message body: a worker refuses bodies it does not understand. */
export const QUEUE_MESSAGE_VERSION = 1;

/** One publish, as `enqueue()` sent it. */
export interface PublishMessage {
  readonly v: typeof QUEUE_MESSAGE_VERSION;
  readonly kind: 'publish';
  /** Procedure path. */
  readonly path: string;
  /** The `result` member of the data frame (JSON text), built once with the router's transformer. */
  readonly result: string;
  /** Filter entry to match (validated when enqueued). */
  readonly filter?: FilterEntry;
  readonly excludeConnectionId?: string;
  /**
   * The event's id in its route's history (routes with `.history()`): `enqueue()` appended the
   * event before sending, and `result` carries the id as the tracked event id.
   */
  readonly eventId?: string;
}

/**
 * A delivery target: a connection id, the subscription id its data frames carry, `'2.0'` when
 * the subscription's request carried `jsonrpc` (its frames echo it, else `null` when a Region
 * follows), and in multi-region set-ups the connection's Region when its rows carry one (the
 * Management API it is posted through).
 */
export type DeliveryTarget = readonly [connectionId: string, subscriptionId: RequestId, jsonrpc?: '2.0' | null, region?: string];

/** A slice of a publish's fan-out with exact targets. */
export interface DeliverMessage {
  readonly v: typeof QUEUE_MESSAGE_VERSION;
  readonly kind: 'deliver';
  /** Stable id of this batch (`{publish id}#{index}`): the key of its ledger entry. */
  readonly batchId: string;
  readonly path: string;
  readonly result: string;
  readonly targets: readonly DeliveryTarget[];
  /** The event's id in its route's history (see {@link PublishMessage.eventId}). */
  readonly eventId?: string;
}

/** A message of the fan-out queue. */
export type QueueMessage = PublishMessage | DeliverMessage;

/** Whether a parsed body looks like an EventBridge event (`detail-type`, `source`, `detail`). */
export function isEventBridgeEvent(body: unknown): body is EventBridgeEvent {
  return isRecord(body) && typeof body['detail-type'] === 'string' && typeof body.source === 'string' && 'detail' in body;
}

/** An EventBridge event as a rule delivers it to an SQS target. */
export interface EventBridgeEvent<TDetailType extends string = string, TDetail = unknown> {
  readonly 'version'?: string;
  readonly 'id': string;
  readonly 'detail-type': TDetailType;
  readonly 'source': string;
  readonly 'account'?: string;
  readonly 'time'?: string;
  readonly 'region'?: string;
  readonly 'resources'?: readonly string[];
  readonly 'detail': TDetail;
}

/** Parses a queue message body; a descriptive Error for anything else. */
export function parseQueueBody(text: string): QueueMessage | EventBridgeEvent {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error('queue message body is not JSON');
  }
  if (isEventBridgeEvent(body)) return body;
  if (!isRecord(body) || body.v !== QUEUE_MESSAGE_VERSION) {
    throw new Error(`queue message body is neither an EventBridge event nor a version ${QUEUE_MESSAGE_VERSION} message`);
  }
  if (typeof body.path !== 'string' || typeof body.result !== 'string') throw new Error('queue message lacks `path` or `result`');
  if (body.eventId !== undefined && typeof body.eventId !== 'string') throw new Error('queue message has an `eventId` that is not a string');
  if (body.kind === 'publish') return body as unknown as PublishMessage;
  if (body.kind === 'deliver' && typeof body.batchId === 'string' && Array.isArray(body.targets)) {
    const valid = body.targets.every((target) => Array.isArray(target) && typeof target[0] === 'string'
      && (typeof target[1] === 'string' || typeof target[1] === 'number')
      && (target[3] === undefined || typeof target[3] === 'string'));
    if (valid) return body as unknown as DeliverMessage;
    throw new Error('queue message has malformed `targets` (each [connectionId, subscriptionId, jsonrpc?, region?])');
  }
  throw new Error(`queue message of unknown kind: ${JSON.stringify(body.kind)}`);
}
