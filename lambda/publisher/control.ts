/**
 * Server-side control of live subscriptions and connections: stop or fail subscriptions, tell
 * connections to reconnect, disconnect them, and presence by connection key. Every operation
 * finds its targets by Query (a route's index, a `KEY#` or `AGE#` partition), never by Scan, and
 * reports per-target outcomes like a publish.
 */
import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { TRPCError } from '@trpc/server';
import type { PublishFailure } from './fan-out';
import type { PublisherSettings } from './settings';
import { MAX_CONNECTION_SECONDS } from '../constants';
import type { SubscriptionsConfig } from '../core/config';
import { publishFilterEntry, type PublishFilter } from '../core/filters';
import { isSubscriptionProcedure } from '../core/procedures';
import { deleteConnection, sendToConnection, type PostFailure } from '../management/client';
import { RECONNECT_NOTIFICATION_FRAME, resultFrame, subscriptionErrorFrames, type FrameBuilder } from '../protocol/encode';
import type { ConnectionRef, SubscriberRef, SubscriptionStore } from '../store/store';
import { forEachBounded } from '../util/pool';

/** What `stop` takes at runtime (the typed form is checked by TypeScript). */
export interface StopArgsRuntime {
  readonly filter?: PublishFilter;
  readonly error?: TRPCError;
  readonly excludeConnectionId?: string;
}

/**
 * Outcome of a server-side stop. Every matched subscription ends in exactly one of `stopped` (the
 * client got the `stopped` result or the error, and its rows are removed), `gone` (its connection
 * answered 410 and was removed) or `failed` (see `failures`; its rows are kept, so a retry finds it).
 */
export interface StopResult {
  /** Subscriptions found (after `excludeConnectionId`). */
  readonly matched: number;
  readonly stopped: number;
  readonly gone: number;
  readonly failed: number;
  readonly failures: readonly PublishFailure[];
}

/** A connection an operation could not reach. */
export interface ConnectionFailure {
  readonly connectionId: string;
  readonly statusCode?: number;
  readonly name: string;
  readonly message: string;
}

/**
 * Outcome of `reconnect` or `disconnect`. Every matched connection ends in exactly one of
 * `succeeded` (notified, or closed), `gone` (already closed; its rows were removed) or `failed`.
 */
export interface ConnectionsResult {
  /** Connections found. */
  readonly matched: number;
  readonly succeeded: number;
  readonly gone: number;
  readonly failed: number;
  readonly failures: readonly ConnectionFailure[];
}

/** Which connections an operation acts on. @internal */
export type ConnectionTargetRuntime =
  | { readonly connectionId: string }
  | { readonly key: string }
  | { readonly all: true };

/** Stops (or fails) the subscriptions of one route. @internal */
export type StopFn = (path: string, args: StopArgsRuntime) => Promise<StopResult>;

/** Creates the function behind `publisher.routes.<path>.stop()`. @internal */
export function createStopFn(config: SubscriptionsConfig, settings: PublisherSettings, ownRegion?: string): StopFn {
  return async (path, args = {}) => {
    if (!isSubscriptionProcedure(config.router, path)) {
      throw new Error(`Stop on "${path}": the router has no subscription procedure at this path`);
    }
    if (typeof args !== 'object' || args === null) throw new Error(`Stop on "${path}": expected { filter?, error? }`);
    if (args.error !== undefined && !(args.error instanceof TRPCError)) {
      throw new Error(`Stop on "${path}": \`error\` must be a TRPCError (e.g. new TRPCError({ code: 'FORBIDDEN' })), got: ${typeof args.error}`);
    }
    const filter = args.filter === undefined ? undefined : publishFilterEntry(path, config.filters.get(path) ?? [], args.filter);
    const fc = { router: config.router, logger: settings.logger, exposeInternalErrors: config.exposeInternalErrors };
    const frameFor: FrameBuilder = args.error
      ? subscriptionErrorFrames(fc, path, args.error)
      : (subscriptionId) => resultFrame(fc, subscriptionId, { type: 'stopped' });
    const client = settings.managementClient(path);
    const store = settings.store();
    let matched = 0;
    let stopped = 0;
    let gone = 0;
    const failures: PublishFailure[] = [];
    await forEachBounded(store.findSubscribers({ path, filter }), settings.concurrency, async (ref: SubscriberRef) => {
      if (ref.connectionId === args.excludeConnectionId) return;
      // Multi-region: another Region's subscriptions are stopped by that Region's publisher.
      if (ownRegion !== undefined && ref.region !== undefined && ref.region !== ownRegion) return;
      matched++;
      // The frame first: a failed send leaves the rows, so the subscription is still found.
      const outcome = await sendToConnection(client, ref.connectionId, frameFor(ref.subscriptionId), settings.calls.timeouts.callTimeoutMs);
      if (!outcome.failure) {
        await store.removeSubscription(ref.connectionId, ref.subscriptionId);
        stopped++;
        return;
      }
      if (outcome.failure.kind === 'gone') {
        gone++;
        await removeRows(store, settings, ref.connectionId);
        return;
      }
      const { statusCode, name, message } = outcome.failure;
      failures.push({ connectionId: ref.connectionId, subscriptionId: ref.subscriptionId, statusCode, name, message, attempts: outcome.attempts });
      settings.logger.error('stop could not be delivered', { path, connectionId: ref.connectionId, statusCode, name, message });
    });
    return { matched, stopped, gone, failed: failures.length, failures };
  };
}

/** `publisher.connections`: act on connections by id, by key, or all of them. @internal */
export interface ConnectionsControlRuntime {
  reconnect(target: ConnectionTargetRuntime): Promise<ConnectionsResult>;
  disconnect(target: ConnectionTargetRuntime): Promise<ConnectionsResult>;
  isOnline(key: string): Promise<boolean>;
  count(key: string): Promise<number>;
}

/** Creates `publisher.connections`. @internal */
export function createConnectionsControl(settings: PublisherSettings, ownRegion?: string): ConnectionsControlRuntime {
  return {
    reconnect: (target) => reconnectConnections(settings, target, 'reconnect', ownRegion),
    disconnect: async (target) => {
      if (isAll(target)) throw new Error('disconnect(): give { connectionId } or { key }; every connection is not a target (use reconnect({ all: true }))');
      const client = settings.managementClient('disconnect');
      return forEachConnection(settings, connectionsOf(settings.store(), target, 'disconnect'), async (ref) => {
        const failure = await deleteWithRetry(client, ref.connectionId, settings);
        // Closed (or already closed): its rows go now, so presence is right as soon as this resolves.
        if (!failure) await removeRows(settings.store(), settings, ref.connectionId);
        return failure;
      }, true, ownRegion);
    },
    isOnline: async (key) => (await settings.store().countConnectionsByKey(checkKey(key, 'isOnline'))) > 0,
    count: (key) => settings.store().countConnectionsByKey(checkKey(key, 'count')),
  };
}

/** Options of {@link reconnectConnections} for the rollover. @internal */
export interface ConnectedBetween {
  readonly connectedFrom: number;
  readonly connectedTo: number;
}

/**
 * Sends the reconnect notification to the target connections (or to those opened in a time
 * range: the rollover).
 * @internal
 */
export async function reconnectConnections(
  settings: PublisherSettings, target: ConnectionTargetRuntime | ConnectedBetween, operation: string, ownRegion?: string,
): Promise<ConnectionsResult> {
  const client = settings.managementClient(operation);
  const store = settings.store();
  const connections = 'connectedFrom' in target ? store.findConnectionsByAge(target) : connectionsOf(store, target, operation);
  return forEachConnection(settings, connections, async (ref) => {
    const outcome = await sendToConnection(client, ref.connectionId, RECONNECT_NOTIFICATION_FRAME, settings.calls.timeouts.callTimeoutMs);
    return outcome.failure;
  }, false, ownRegion);
}

function isAll(target: ConnectionTargetRuntime): target is { readonly all: true } {
  return (target as { all?: unknown }).all === true;
}

function checkKey(key: unknown, operation: string): string {
  if (typeof key !== 'string' || key === '') throw new Error(`${operation}(): the connection key must be a non-empty string, got: ${JSON.stringify(key)}`);
  return key;
}

/** The connections of a target, page by page. */
function connectionsOf(store: SubscriptionStore, target: ConnectionTargetRuntime, operation: string): AsyncIterable<readonly ConnectionRef[]> {
  if (typeof target !== 'object' || target === null) throw new Error(`${operation}(): expected { connectionId }, { key } or { all: true }`);
  if ('connectionId' in target) {
    if (typeof target.connectionId !== 'string' || target.connectionId === '') {
      throw new Error(`${operation}(): \`connectionId\` must be a non-empty string, got: ${JSON.stringify(target.connectionId)}`);
    }
    return single({ connectionId: target.connectionId, connectedAt: 0 });
  }
  if ('key' in target) return store.findConnectionsByKey(checkKey(target.key, operation));
  if (isAll(target)) {
    // Every connection still within API Gateway's 2-hour limit, by its connect-minute bucket
    // (about 121 Queries); a minute of margin for clocks.
    const now = Date.now();
    return store.findConnectionsByAge({ connectedFrom: now - (MAX_CONNECTION_SECONDS + 60) * 1000, connectedTo: now });
  }
  throw new Error(`${operation}(): expected { connectionId }, { key } or { all: true }`);
}

async function* single(ref: ConnectionRef): AsyncIterable<readonly ConnectionRef[]> {
  yield [ref];
}

async function forEachConnection(
  settings: PublisherSettings,
  connections: AsyncIterable<readonly ConnectionRef[]>,
  act: (ref: ConnectionRef) => Promise<PostFailure | undefined>,
  goneIsSuccess: boolean,
  ownRegion: string | undefined,
): Promise<ConnectionsResult> {
  let matched = 0;
  let succeeded = 0;
  let gone = 0;
  const failures: ConnectionFailure[] = [];
  const seen = new Set<string>();
  await forEachBounded(connections, settings.concurrency, async (ref: ConnectionRef) => {
    if (seen.has(ref.connectionId)) return;
    // Multi-region: another Region's connection is not on this API (a send would meet 410 and
    // remove its live rows); that Region's own publisher and rollover act on it.
    if (ownRegion !== undefined && ref.region !== undefined && ref.region !== ownRegion) return;
    seen.add(ref.connectionId);
    matched++;
    const failure = await act(ref);
    if (!failure) {
      succeeded++;
    } else if (failure.kind === 'gone') {
      if (goneIsSuccess) succeeded++;
      else gone++;
      await removeRows(settings.store(), settings, ref.connectionId);
    } else {
      failures.push({ connectionId: ref.connectionId, statusCode: failure.statusCode, name: failure.name, message: failure.message });
      settings.logger.error('connection could not be reached', { connectionId: ref.connectionId, statusCode: failure.statusCode, name: failure.name });
    }
  });
  return { matched, succeeded, gone, failed: failures.length, failures };
}

/** DeleteConnection within the call deadline (the client retries throttling and transient errors). A connection already gone is success. */
async function deleteWithRetry(
  client: ApiGatewayManagementApiClient, connectionId: string, settings: PublisherSettings,
): Promise<PostFailure | undefined> {
  return deleteConnection(client, connectionId, settings.calls.timeouts.callTimeoutMs);
}

async function removeRows(store: SubscriptionStore, settings: PublisherSettings, connectionId: string): Promise<void> {
  try {
    await store.removeConnection(connectionId);
  } catch (error) {
    settings.logger.error('rows of a gone connection could not be removed', { connectionId, error });
  }
}
