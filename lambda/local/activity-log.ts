/**
 * What happens on the local gateway, one readable line per event, read from the tRPC frames a
 * connection exchanges: subscriptions started, stopped (by the client or the server) and refused,
 * queries and mutations with their outcome, and publishes with who received them and who was gone.
 * The gateway sees every frame, whichever process publishes (the handlers, a script, a queue
 * worker), so the lines need no help from the runtime. Connection-level errors (a refused
 * connection) are logged by the gateway itself (`connection-errors.ts`).
 */
import { describeErrorShape } from './connection-errors';
import type { GatewayTraffic } from './gateway-options';
import type { LocalLogger } from './logger';

/** Reads the gateway's traffic (its `onTraffic` stream); writes lines to the logger's `info`. */
export interface ActivityLog {
  /** Takes one thing the gateway saw: client frames, replies, posts and their answers, closes. */
  observe(traffic: GatewayTraffic): void;
  /** Writes the publishes still being collected. */
  flush(): void;
}

/** Options of {@link createActivityLog}. */
export interface ActivityLogOptions {
  /**
   * A publish's deliveries are collected until none arrived for this long, then written as one line.
   * @default 100
   */
  readonly publishQuietMs?: number;
}

type RequestType = 'query' | 'mutation' | 'subscription';

interface PendingRequest {
  readonly type: RequestType;
  readonly path: string;
  readonly input: unknown;
  readonly at: number;
}

interface LiveSubscription {
  readonly path: string;
  stopRequested: boolean;
}

interface ConnectionActivity {
  readonly pending: Map<string, PendingRequest>;
  readonly subscriptions: Map<string, LiveSubscription>;
}

/** One publish being collected: the same data frame, sent to each matched subscription. */
interface PublishGroup {
  readonly path: string;
  readonly delivered: string[];
  readonly gone: string[];
  readonly targets: Set<string>;
  timer: NodeJS.Timeout;
}

/** How many closed connections keep their subscriptions, to name the route of a post that met 410. */
const RECENTLY_CLOSED = 1_000;
/** How many targets a publish line names before it only counts them. */
const NAMED_TARGETS = 5;
/** Longest input shown in a line. */
const INPUT_CHARS = 80;

/** Creates the activity log of one gateway. */
export function createActivityLog(logger: LocalLogger, options: ActivityLogOptions = {}): ActivityLog {
  const quietMs = options.publishQuietMs ?? 100;
  const connections = new Map<string, ConnectionActivity>();
  const recentlyClosed = new Map<string, ConnectionActivity>();
  const publishes = new Map<string, PublishGroup>();

  const activityOf = (connectionId: string): ConnectionActivity => {
    let activity = connections.get(connectionId);
    if (!activity) {
      activity = { pending: new Map(), subscriptions: new Map() };
      connections.set(connectionId, activity);
    }
    return activity;
  };

  const writePublish = (key: string): void => {
    const group = publishes.get(key);
    if (!group) return;
    publishes.delete(key);
    clearTimeout(group.timer);
    const parts = [`delivered to ${group.delivered.length}${namedTargets(group.delivered)}`];
    if (group.gone.length > 0) parts.push(`gone ${group.gone.length}${namedTargets(group.gone)}`);
    logger.info(`publish ${group.path}: ${parts.join(', ')}`);
  };

  const addToPublish = (frame: Record<string, unknown>, path: string, target: string, outcome: 'delivered' | 'gone'): void => {
    // Every subscription of one publish gets the same `result`; only the request id differs.
    const key = `${path}\n${JSON.stringify(frame.result)}`;
    let group = publishes.get(key);
    // The same subscription twice: a second publish of the same data.
    if (group?.targets.has(target)) {
      writePublish(key);
      group = undefined;
    }
    if (!group) {
      group = { path, delivered: [], gone: [], targets: new Set(), timer: setTimeout(() => writePublish(key), quietMs).unref() };
      publishes.set(key, group);
    } else {
      group.timer.refresh();
    }
    group.targets.add(target);
    group[outcome].push(target);
  };

  const onRequest = (connectionId: string, message: Record<string, unknown>): void => {
    const id = requestKey(message.id);
    if (id === undefined) return;
    const activity = activityOf(connectionId);
    if (message.method === 'subscription.stop') {
      const subscription = activity.subscriptions.get(id);
      if (subscription) subscription.stopRequested = true;
      return;
    }
    if (message.method !== 'query' && message.method !== 'mutation' && message.method !== 'subscription') return;
    const params = (isRecord(message.params) ? message.params : {}) as { path?: unknown; input?: unknown };
    if (typeof params.path !== 'string') return;
    activity.pending.set(id, { type: message.method, path: params.path, input: params.input, at: Date.now() });
  };

  const onResponse = (connectionId: string, message: Record<string, unknown>): void => {
    if (message.id === null && message.method === 'reconnect') {
      logger.info(`${connectionId} asked to reconnect`);
      return;
    }
    const id = requestKey(message.id);
    if (id === undefined) return;
    const activity = activityOf(connectionId);
    const request = activity.pending.get(id);
    const subscription = activity.subscriptions.get(id);
    const result = isRecord(message.result) ? message.result : undefined;
    if (message.error !== undefined) {
      const error = describeErrorShape(message.error);
      if (request) {
        activity.pending.delete(id);
        logger.info(request.type === 'subscription'
          ? `${connectionId} subscription ${request.path} #${id} refused: ${error}`
          : `${connectionId} ${request.type} ${request.path} failed: ${error} (${Date.now() - request.at} ms)`);
      } else if (subscription) {
        activity.subscriptions.delete(id);
        logger.info(`${connectionId} subscription ${subscription.path} #${id} ended by the server: ${error}`);
      }
      return;
    }
    if (result?.type === 'started' && request?.type === 'subscription') {
      activity.pending.delete(id);
      activity.subscriptions.set(id, { path: request.path, stopRequested: false });
      logger.info(`${connectionId} subscription ${request.path} #${id} started${formatInput(request.input)}`);
    } else if (result?.type === 'stopped' && subscription) {
      activity.subscriptions.delete(id);
      logger.info(`${connectionId} subscription ${subscription.path} #${id} stopped by the ${subscription.stopRequested ? 'client' : 'server'}`);
    } else if (result?.type === 'data' && subscription) {
      addToPublish(message, subscription.path, `${connectionId} #${id}`, 'delivered');
    } else if (request && request.type !== 'subscription') {
      activity.pending.delete(id);
      logger.info(`${connectionId} ${request.type} ${request.path} ok (${Date.now() - request.at} ms)`);
    }
  };

  /** A frame sent to the client (a route response or a Management API post). */
  const serverFrame = (connectionId: string, frame: string): void => {
    for (const message of parseMessages(frame)) onResponse(connectionId, message);
  };
  /** A Management API post to a connection that is gone (answered 410). */
  const gonePost = (connectionId: string, frame: string): void => {
    const [message] = parseMessages(frame);
    const id = requestKey(message?.id);
    const subscription = id === undefined ? undefined : (recentlyClosed.get(connectionId) ?? connections.get(connectionId))?.subscriptions.get(id);
    const result = isRecord(message?.result) ? message.result : undefined;
    if (message && result?.type === 'data') addToPublish(message, subscription?.path ?? '(unknown route)', `${connectionId} #${id}`, 'gone');
  };
  const closed = (connectionId: string): void => {
    const activity = connections.get(connectionId);
    if (!activity) return;
    connections.delete(connectionId);
    recentlyClosed.set(connectionId, activity);
    if (recentlyClosed.size > RECENTLY_CLOSED) recentlyClosed.delete(recentlyClosed.keys().next().value!);
  };

  return {
    observe: (traffic) => {
      switch (traffic.type) {
        case 'message':
          if (!traffic.isBase64Encoded) for (const message of parseMessages(traffic.body)) onRequest(traffic.connectionId, message);
          return;
        case 'reply':
          return serverFrame(traffic.connectionId, traffic.body);
        case 'management':
          if (traffic.method !== 'POST' || traffic.body === undefined) return;
          if (traffic.status === 200) serverFrame(traffic.connectionId, traffic.body);
          else if (traffic.status === 410) gonePost(traffic.connectionId, traffic.body);
          return;
        case 'disconnected':
          return closed(traffic.connectionId);
        default:
          return;
      }
    },
    flush: () => {
      for (const key of [...publishes.keys()]) writePublish(key);
    },
  };
}

/** The JSON objects of a frame (one, or a batch); nothing for PING/PONG or text that is not JSON. */
function parseMessages(frame: string): Array<Record<string, unknown>> {
  if (!frame.startsWith('{') && !frame.startsWith('[')) return [];
  try {
    const parsed: unknown = JSON.parse(frame);
    return (Array.isArray(parsed) ? parsed : [parsed]).filter(isRecord);
  } catch {
    return [];
  }
}

function requestKey(id: unknown): string | undefined {
  return typeof id === 'number' || typeof id === 'string' ? String(id) : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** ` {"room":"lobby"}`, shortened; a transformer's envelope (`{ json }`) is unwrapped. */
function formatInput(input: unknown): string {
  if (input === undefined) return '';
  const shown = isRecord(input) && 'json' in input && Object.keys(input).every((key) => key === 'json' || key === 'meta') ? input.json : input;
  const text = JSON.stringify(shown) ?? '';
  return ` ${text.length > INPUT_CHARS ? `${text.slice(0, INPUT_CHARS - 1)}…` : text}`;
}

function namedTargets(targets: readonly string[]): string {
  if (targets.length === 0) return '';
  const named = targets.slice(0, NAMED_TARGETS).join(', ');
  return ` (${named}${targets.length > NAMED_TARGETS ? `, and ${targets.length - NAMED_TARGETS} more` : ''})`;
}
