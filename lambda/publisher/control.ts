/**
 * Server-side control of live subscriptions and connections: stop or fail subscriptions, tell
 * connections to reconnect, disconnect them, and presence by connection key. Every operation
 * finds its targets by Query (a route's index, a `KEY#` or `AGE#` partition, a connection's row),
 * never by Scan, reaches each connection through the Management API of its own Region (one lane
 * per Region, as a publish), and reports per-target outcomes like a publish.
 */
import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { TRPCError } from '@trpc/server';
import { regionReachability, type PublishFailure, type RegionReachability } from './fan-out';
import type { PublisherSettings } from './settings';
import { MAX_CONNECTION_SECONDS } from '../constants';
import type { SubscriptionsConfig } from '../core/config';
import { publishFilterEntry, type PublishFilter } from '../core/filters';
import { endConnectionWithHooks, endSubscriptionWithHooks, needsRemovalClaims, type UnsubscribeReason } from '../core/hooks';
import { isSubscriptionProcedure } from '../core/procedures';
import { deleteConnection, sendToConnection, type PostFailure } from '../management/client';
import type { ConnectionRouter } from '../management/routing';
import { RECONNECT_NOTIFICATION_FRAME, resultFrame, subscriptionErrorFrames, type FrameBuilder } from '../protocol/encode';
import type { ConnectionRef, SubscriberRef, SubscriptionStore } from '../store/store';
import { forEachInLanes } from '../util/lanes';
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
  /** The connection's Region (multi-region set-ups). */
  readonly region?: string;
}

/**
 * Outcome of `reconnect` or `disconnect`. Every matched connection ends in exactly one of
 * `succeeded` (notified, or closed), `gone` (already closed, or never existed: its API answered
 * 410, or, for a `{ connectionId }` without a row, every Region's API did; its rows were removed)
 * or `failed`.
 */
export interface ConnectionsResult {
  /** Connections found (a `{ connectionId }` target always counts one). */
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

/**
 * One Management API call through the API of `region` (a row's Region; `undefined`: this one's).
 * A Region without an endpoint, or one that stopped answering during this operation, fails at
 * once; a 410 is only ever the answer of the connection's own Region's API.
 */
async function callInRegion(
  router: ConnectionRouter, reachability: RegionReachability, region: string | undefined,
  call: (client: ApiGatewayManagementApiClient) => Promise<PostFailure | undefined>,
): Promise<PostFailure | undefined> {
  const name = router.regionOf(region);
  const unavailable = reachability.unavailable(name);
  if (unavailable) return unavailable;
  const client = router.accessFor(region)?.client;
  if (!client) return { kind: 'other', name: 'UnknownRegionError', message: `No Management API endpoint for Region ${String(name)}` };
  const failure = await call(client);
  if (failure) reachability.failed(name, failure);
  return failure;
}

/** The lane of a target: its Region (one lane in a single-region set-up). */
const laneOf = (router: ConnectionRouter) => (ref: { readonly region?: string }): string => router.regionOf(ref.region) ?? '';

/**
 * Runs `work` on every target, `concurrency` at a time per Region: in lanes, so that a Region
 * that does not answer cannot hold the slots of the others. A bundle without multi-region
 * (MULTI_REGION_DEFINE in ../constants.ts) has one Region: `concurrency` at a time, as a
 * single-Region publish runs, without the lanes.
 */
function forEachByRegion<T extends { readonly region?: string }>(
  router: ConnectionRouter, targets: AsyncIterable<readonly T[]>, concurrency: number, work: (target: T) => Promise<void>,
): Promise<void> {
  if (process.env.TRPC_SUBSCRIPTIONS_MULTI_REGION === 'off') {
    return forEachBounded(targets, concurrency, work);
  } else {
    return forEachInLanes(targets, laneOf(router), concurrency, work);
  }
}

/** Creates the function behind `publisher.routes.<path>.stop()`. @internal */
export function createStopFn(config: SubscriptionsConfig, settings: PublisherSettings): StopFn {
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
      : (subscriptionId, jsonrpc) => resultFrame(fc, subscriptionId, { type: 'stopped' }, jsonrpc);
    const router = settings.router(path);
    const store = settings.store();
    const reachability = regionReachability();
    let matched = 0;
    let stopped = 0;
    let gone = 0;
    const failures: PublishFailure[] = [];
    const targets = store.findSubscribers(router.multiRegion ? { path, filter, withRegion: true } : { path, filter });
    await forEachByRegion(router, targets, settings.concurrency, async (ref: SubscriberRef) => {
      if (ref.connectionId === args.excludeConnectionId) return;
      matched++;
      // Marked first: the client's own stop that the frame may cause, racing this removal, is then
      // reported as the server's.
      // Marks serve hooks only (HOOKS_DEFINE in ../constants.ts, written out in full here and below).
      if (process.env.TRPC_SUBSCRIPTIONS_HOOKS !== 'off' && needsRemovalClaims(settings.hooks)) {
        await store.markEnding?.(ref.connectionId, 'closing', ref.subscriptionId);
      }
      // The frame first: a failed send leaves the rows, so the subscription is still found.
      const failure = await callInRegion(router, reachability, ref.region, async (client) =>
        (await sendToConnection(client, ref.connectionId, frameFor(ref.subscriptionId, ref.jsonrpc), settings.calls.timeouts.callTimeoutMs)).failure);
      if (!failure) {
        await endSubscriptionWithHooks(store, settings.hooks, settings.logger, ref.connectionId, ref.subscriptionId, 'server-stop');
        stopped++;
        return;
      }
      if (failure.kind === 'gone') {
        gone++;
        await removeRows(store, settings, ref.connectionId, 'gone');
        return;
      }
      const region = router.regionOf(ref.region);
      const { statusCode, name, message } = failure;
      const { connectionId, subscriptionId } = ref;
      const attempts = failure.attempts ?? 0;
      failures.push({ connectionId, subscriptionId, statusCode, name, message, attempts, ...(region === undefined ? {} : { region }) });
      settings.logger.error('stop could not be delivered', { path, connectionId: ref.connectionId, region, statusCode, name, message });
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
export function createConnectionsControl(settings: PublisherSettings): ConnectionsControlRuntime {
  return {
    reconnect: (target) => reconnectConnections(settings, target, 'reconnect'),
    disconnect: async (target) => {
      if (isAll(target)) throw new Error('disconnect(): give { connectionId } or { key }; every connection is not a target (use reconnect({ all: true }))');
      const store = settings.store();
      const marksClose = process.env.TRPC_SUBSCRIPTIONS_HOOKS !== 'off' && needsRemovalClaims(settings.hooks);
      return forEachTarget(settings, 'disconnect', await connectionsOf(store, target, 'disconnect'), async (client, ref) => {
        // Marked first: the $disconnect the close causes may remove the rows before this call does.
        if (process.env.TRPC_SUBSCRIPTIONS_HOOKS !== 'off' && marksClose) await store.markEnding?.(ref.connectionId, 'closing');
        const failure = await deleteConnection(client, ref.connectionId, settings.calls.timeouts.callTimeoutMs);
        // Closed: its rows go now, so presence is right as soon as this resolves (also when its
        // $disconnect removed the connection row first: the key row is named here).
        if (!failure) await removeRows(store, settings, ref.connectionId, 'server-stop', ref);
        return failure;
      });
    },
    isOnline: async (key) => (await settings.store().countConnectionsByKey(checkKey(key, 'isOnline'))) > 0,
    count: (key) => settings.store().countConnectionsByKey(checkKey(key, 'count')),
  };
}

/** Options of {@link reconnectConnectedBetween} (the rollover). @internal */
export interface ConnectedBetween {
  readonly connectedFrom: number;
  readonly connectedTo: number;
  /**
   * Only the connections of this Region (each Region's scheduled rollover notifies its own).
   * @default - every Region's
   */
  readonly region?: string;
}

/** Sends the reconnect notification to the target connections (`publisher.connections.reconnect()`). @internal */
export async function reconnectConnections(
  settings: PublisherSettings, target: ConnectionTargetRuntime, operation: string,
): Promise<ConnectionsResult> {
  return forEachTarget(settings, operation, await connectionsOf(settings.store(), target, operation), reconnectCall(settings));
}

/**
 * Sends the reconnect notification to the connections opened in a time range: the rollover.
 * Apart from {@link reconnectConnections}, so that the rollover's bundle leaves out the parsing
 * of targets and the lookup of a connection without a row, which it never needs.
 * @internal
 */
export async function reconnectConnectedBetween(
  settings: PublisherSettings, between: ConnectedBetween, operation: string,
): Promise<ConnectionsResult> {
  const store = settings.store();
  const router = settings.router(operation);
  const { region } = between;
  const found = store.findConnectionsByAge(between);
  // MULTI_REGION_DEFINE (../constants.ts), written out in full: one Region has no others to skip.
  const own = process.env.TRPC_SUBSCRIPTIONS_MULTI_REGION === 'off' || region === undefined ? found : inRegion(found, router, region);
  return forEachConnection(settings, operation, own, reconnectCall(settings));
}

/** The reconnect notification to one connection, marked `moving` first when the app has hooks. */
function reconnectCall(settings: PublisherSettings): ConnectionCall {
  const marksMoves = process.env.TRPC_SUBSCRIPTIONS_HOOKS !== 'off' && needsRemovalClaims(settings.hooks);
  return async (client, ref) => {
    // Marked before it is told: the client's stops and close on this connection, which follow
    // the notification by a few round trips, end its subscriptions as `moved`, not as a leave.
    if (process.env.TRPC_SUBSCRIPTIONS_HOOKS !== 'off' && marksMoves) await settings.store().markEnding?.(ref.connectionId, 'moving');
    return (await sendToConnection(client, ref.connectionId, RECONNECT_NOTIFICATION_FRAME, settings.calls.timeouts.callTimeoutMs)).failure;
  };
}

/** The connections of one Region, page by page. */
async function* inRegion(
  pages: AsyncIterable<readonly ConnectionRef[]>, router: ConnectionRouter, region: string,
): AsyncIterable<readonly ConnectionRef[]> {
  for await (const page of pages) {
    const own = page.filter((ref) => router.regionOf(ref.region) === region);
    if (own.length > 0) yield own;
  }
}

function isAll(target: ConnectionTargetRuntime): target is { readonly all: true } {
  return (target as { all?: unknown }).all === true;
}

function checkKey(key: unknown, operation: string): string {
  if (typeof key !== 'string' || key === '') throw new Error(`${operation}(): the connection key must be a non-empty string, got: ${JSON.stringify(key)}`);
  return key;
}

/**
 * What an operation acts on: connections found by their rows (each with its Region), or one
 * connection id without a row (its Region is unknown: every Region's API is asked).
 */
type Targets = { readonly found: AsyncIterable<readonly ConnectionRef[]> } | { readonly unknown: string };

/** The connections of a target. */
async function connectionsOf(store: SubscriptionStore, target: ConnectionTargetRuntime, operation: string): Promise<Targets> {
  if (typeof target !== 'object' || target === null) throw new Error(`${operation}(): expected { connectionId }, { key } or { all: true }`);
  if ('connectionId' in target) {
    if (typeof target.connectionId !== 'string' || target.connectionId === '') {
      throw new Error(`${operation}(): \`connectionId\` must be a non-empty string, got: ${JSON.stringify(target.connectionId)}`);
    }
    // The row names the connection's Region: the only API that can answer for it.
    const ref = await store.findConnection(target.connectionId);
    return ref ? { found: single(ref) } : { unknown: target.connectionId };
  }
  if ('key' in target) return { found: store.findConnectionsByKey(checkKey(target.key, operation)) };
  if (isAll(target)) {
    // Every connection still within API Gateway's 2-hour limit, by its connect-minute bucket
    // (about 121 Queries); a minute of margin for clocks.
    const now = Date.now();
    return { found: store.findConnectionsByAge({ connectedFrom: now - (MAX_CONNECTION_SECONDS + 60) * 1000, connectedTo: now }) };
  }
  throw new Error(`${operation}(): expected { connectionId }, { key } or { all: true }`);
}

async function* single(ref: ConnectionRef): AsyncIterable<readonly ConnectionRef[]> {
  yield [ref];
}

/** One call to one connection, given the client of its Region's API. */
type ConnectionCall = (client: ApiGatewayManagementApiClient, ref: ConnectionRef) => Promise<PostFailure | undefined>;

/** The failures of one operation, each logged as it happens. */
function failureLog(settings: PublisherSettings, operation: string) {
  const failures: ConnectionFailure[] = [];
  const fail = (connectionId: string, region: string | undefined, failure: PostFailure) => {
    const { statusCode, name, message } = failure;
    failures.push({ connectionId, statusCode, name, message, ...(region === undefined ? {} : { region }) });
    settings.logger.error('connection could not be reached', { operation, connectionId, region, statusCode, name });
  };
  return { failures, fail };
}

/** Acts on the connections of a target: those found by their rows, or one connection without a row. */
async function forEachTarget(
  settings: PublisherSettings, operation: string, targets: Targets, act: ConnectionCall,
): Promise<ConnectionsResult> {
  if (!('unknown' in targets)) return forEachConnection(settings, operation, targets.found, act);
  // No row in this Region's replica (gone, never existed, or not replicated here yet): gone
  // only when every Region's API says so; nothing to remove.
  const router = settings.router(operation);
  const reachability = regionReachability();
  const { failures, fail } = failureLog(settings, operation);
  const connectionId = targets.unknown;
  const ref = { connectionId, connectedAt: 0 };
  const outcomes = await Promise.all(router.regions.map(async (region) =>
    ({ region, failure: await callInRegion(router, reachability, region, (client) => act(client, { ...ref, region })) })));
  const reached = outcomes.find((outcome) => !outcome.failure);
  const failed = outcomes.find((outcome) => outcome.failure && outcome.failure.kind !== 'gone');
  let succeeded = 0;
  let gone = 0;
  if (reached) succeeded++;
  else if (failed) fail(connectionId, failed.region, failed.failure!);
  else gone++;
  return { matched: 1, succeeded, gone, failed: failures.length, failures };
}

/** Acts on connections found by their rows, each once, in lanes by Region; a gone one's rows are removed. */
async function forEachConnection(
  settings: PublisherSettings, operation: string, found: AsyncIterable<readonly ConnectionRef[]>, act: ConnectionCall,
): Promise<ConnectionsResult> {
  const router = settings.router(operation);
  const reachability = regionReachability();
  let matched = 0;
  let succeeded = 0;
  let gone = 0;
  const { failures, fail } = failureLog(settings, operation);
  const seen = new Set<string>();
  await forEachByRegion(router, found, settings.concurrency, async (ref: ConnectionRef) => {
    if (seen.has(ref.connectionId)) return;
    seen.add(ref.connectionId);
    matched++;
    const failure = await callInRegion(router, reachability, ref.region, (client) => act(client, ref));
    if (!failure) {
      succeeded++;
    } else if (failure.kind === 'gone') {
      gone++;
      await removeRows(settings.store(), settings, ref.connectionId, 'gone');
    } else {
      fail(ref.connectionId, router.regionOf(ref.region), failure);
    }
  });
  return { matched, succeeded, gone, failed: failures.length, failures };
}

async function removeRows(
  store: SubscriptionStore, settings: PublisherSettings, connectionId: string, reason: UnsubscribeReason,
  known?: Pick<ConnectionRef, 'connectedAt' | 'key'>,
): Promise<void> {
  try {
    await endConnectionWithHooks(store, settings.hooks, settings.logger, connectionId, reason, known);
  } catch (error) {
    settings.logger.error('rows of a gone connection could not be removed', { connectionId, error });
  }
}
