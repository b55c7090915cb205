/**
 * Lifecycle hooks: `.routes.<path>.hooks({ onSubscribe, onUnsubscribe })` and
 * `.hooks({ onConnect, onDisconnect })`, their types, their checks and the runner every role that
 * ends a subscription or a connection calls (docs/runtime.md, "Lifecycle hooks").
 *
 * The guarantee: the removal that wins the conditional delete of a subscription's row runs its
 * `onUnsubscribe`, and the one that wins the connection row's delete runs `onDisconnect`; so
 * concurrent removals (a client's stop, `$disconnect`, a 410 found by a publish, a server-side
 * stop, the rollover's sweep) fire each once. A crash between winning and running loses that call.
 */
import type { ConnectionEnding, ConnectionRef, EndedRemoval, RequestId, SubscriptionStore } from '../store/store';
import { isRecord } from '../util/guards';
import type { Logger } from '../util/logger';

/** A JSON value: what `onSubscribe` may return for `onUnsubscribe` (kept on the subscription's row). */
export type HookState = string | number | boolean | null | readonly HookState[] | { readonly [key: string]: HookState | undefined };

/**
 * Why a subscription ended:
 * - `stop`: the client stopped it (`unsubscribe()`).
 * - `disconnect`: its connection closed (`$disconnect`).
 * - `server-stop`: the server ended it: `publisher.routes.<path>.stop()`, or
 *   `publisher.connections.disconnect()` for its connection.
 * - `gone`: a post to its connection got 410 (the connection closed and its `$disconnect` was
 *   lost or has not run yet).
 * - `expired`: its connection outlived API Gateway's 2-hour limit without a `$disconnect`; the
 *   rollover's sweep removed it.
 * - `moved`: the server told the connection to reconnect (`connections.reconnect()` or the
 *   rollover) and the client then stopped it on the old connection or closed that connection:
 *   the client normally resubscribed on its new connection first, so this is not a leave.
 * - `refused`: `onSubscribe` returned but the subscription was never stored (a duplicate id, the
 *   connection's subscription limit, a resume that failed): the client got an error, not `started`.
 */
export type UnsubscribeReason = 'stop' | 'disconnect' | 'server-stop' | 'gone' | 'expired' | 'moved' | 'refused';

/** Why a connection ended: as {@link UnsubscribeReason}, without `stop` and `refused`. */
export type DisconnectReason = Exclude<UnsubscribeReason, 'stop' | 'refused'>;

/** What `onSubscribe` receives. */
export interface SubscribeHookArgs<TCtx, TInput> {
  /** The procedure's ctx after its middlewares. */
  readonly ctx: TCtx;
  /** The procedure's parsed input. */
  readonly input: TInput;
  /** The route, e.g. `chat.onMessage`. */
  readonly path: string;
  readonly connectionId: string;
  /** The id of the client's subscription request. */
  readonly subscriptionId: string | number;
}

/** What `onUnsubscribe` receives. */
export interface UnsubscribeHookArgs<TState> {
  /** What `onSubscribe` returned for this subscription (`undefined` without an `onSubscribe`). */
  readonly state: TState;
  readonly reason: UnsubscribeReason;
  readonly path: string;
  readonly connectionId: string;
  readonly subscriptionId: string | number;
}

/** Hooks of one subscription route. */
export interface RouteHooks<TCtx, TInput, TState extends HookState | void> {
  /**
   * Runs when a subscription starts, after the procedure's middlewares and input parser and
   * before it is stored: throw (a `TRPCError`) to refuse it (the client gets the error for its
   * request id, as from tRPC's adapter); it may publish (e.g. a join). What it returns (JSON, at
   * most 4 KB serialized) is kept on the subscription's row and given to `onUnsubscribe`: ctx
   * itself is never stored.
   * @default - nothing runs; `onUnsubscribe` gets `state: undefined`
   */
  readonly onSubscribe?: (args: SubscribeHookArgs<TCtx, TInput>) => TState | Promise<TState>;
  /**
   * Runs once per subscription whose `onSubscribe` returned (once per stored subscription when
   * there is no `onSubscribe`), when it ends, in whichever function removes it (`$default`,
   * `$disconnect`, a publisher or controller, the fan-out worker, the rollover). Its errors are
   * logged, never retried: the removal is done.
   * @default - nothing runs
   */
  readonly onUnsubscribe?: (args: UnsubscribeHookArgs<TState>) => void | Promise<void>;
}

/** What `onConnect` receives. */
export interface ConnectHookArgs<TCtx, TKey extends string> {
  /** The ctx `createContext` built for the connection. */
  readonly ctx: TCtx;
  readonly connectionId: string;
  /** `connectionKey(ctx)`, when the router has one. */
  readonly key: TKey | undefined;
}

/** What `onDisconnect` receives. */
export interface DisconnectHookArgs<TKey extends string> {
  readonly connectionId: string;
  readonly key: TKey | undefined;
  /** When the connection opened, epoch milliseconds. */
  readonly connectedAt: number;
  readonly reason: DisconnectReason;
}

/** Hooks of connections. */
export interface ConnectionHooks<TCtx, TKey extends string> {
  /**
   * Runs once a connection is accepted: its row is stored (at `$connect`, or when its
   * `connectionParams` are). To refuse a connection, throw from `createContext`; an error thrown
   * here is logged and the connection stays.
   * @default - nothing runs
   */
  readonly onConnect?: (args: ConnectHookArgs<TCtx, TKey>) => void | Promise<void>;
  /**
   * Runs once per accepted connection when it ends, in whichever function removes its row. Its
   * errors are logged.
   * @default - nothing runs
   */
  readonly onDisconnect?: (args: DisconnectHookArgs<TKey>) => void | Promise<void>;
}

/** The hooks of a route as the runtime keeps them. @internal */
export interface RouteHooksConfig {
  readonly onSubscribe?: (args: SubscribeHookArgs<unknown, unknown>) => unknown;
  readonly onUnsubscribe?: (args: UnsubscribeHookArgs<unknown>) => unknown;
}

/** The connection hooks as the runtime keeps them. @internal */
export interface ConnectionHooksConfig {
  readonly onConnect?: (args: ConnectHookArgs<unknown, string>) => unknown;
  readonly onDisconnect?: (args: DisconnectHookArgs<string>) => unknown;
}

/** Every hook of an app. @internal */
export interface HookRegistry {
  readonly routes: ReadonlyMap<string, RouteHooksConfig>;
  readonly connection?: ConnectionHooksConfig;
}

/** Largest serialized `onSubscribe` result kept on a subscription's row. */
export const MAX_HOOK_STATE_BYTES = 4096;

function checkFunctions(where: string, value: unknown, names: readonly string[]): Record<string, unknown> {
  if (!isRecord(value)) throw new Error(`${where}: hooks must be an object like { ${names.join(', ')} }, got: ${String(value)}`);
  for (const [name, hook] of Object.entries(value)) {
    if (!names.includes(name)) throw new Error(`${where}: unknown hook "${name}" (hooks: ${names.join(', ')})`);
    if (hook !== undefined && typeof hook !== 'function') throw new Error(`${where}: \`${name}\` must be a function, got: ${typeof hook}`);
  }
  return value;
}

/** Checks `.routes.<path>.hooks()` and adds them to the registry. @internal */
export function withRouteHooks(path: string, hooks: unknown, registry: HookRegistry | undefined): HookRegistry {
  const where = `routes.${path}.hooks()`;
  if (registry?.routes.has(path)) throw new Error(`${where}: the route already has hooks`);
  const checked = checkFunctions(where, hooks, ['onSubscribe', 'onUnsubscribe']) as RouteHooksConfig;
  const routes = new Map(registry?.routes);
  routes.set(path, checked);
  return { ...registry, routes };
}

/** Checks `.hooks()` (connections) and adds them to the registry. @internal */
export function withConnectionHooks(hooks: unknown, registry: HookRegistry | undefined): HookRegistry {
  if (registry?.connection) throw new Error('hooks(): the connection hooks are set already');
  const connection = checkFunctions('hooks()', hooks, ['onConnect', 'onDisconnect']) as ConnectionHooksConfig;
  return { routes: registry?.routes ?? new Map(), connection };
}

/** Whether any route has an `onUnsubscribe`: removals then report what they removed. @internal */
export function hasUnsubscribeHooks(registry: HookRegistry | undefined): boolean {
  if (!registry) return false;
  for (const hooks of registry.routes.values()) if (hooks.onUnsubscribe) return true;
  return false;
}

/** Whether removals must claim subscriptions or the connection row (some hook runs on them). @internal */
export function needsRemovalClaims(registry: HookRegistry | undefined): boolean {
  return hasUnsubscribeHooks(registry) || registry?.connection?.onDisconnect !== undefined;
}

/**
 * The reason a hook reports: a client's stop or close of a connection the server told to move is
 * `moved`; whatever ends a connection the server is closing is `server-stop`; lost connections
 * (`gone`, `expired`) of a move keep theirs (the client may have died instead of moving).
 */
export function reportedReason(reason: UnsubscribeReason, ending: ConnectionEnding | undefined): UnsubscribeReason {
  if (reason === 'refused') return reason;
  if (ending === 'closing') return 'server-stop';
  return ending === 'moving' && (reason === 'stop' || reason === 'disconnect') ? 'moved' : reason;
}

/** Serializes `onSubscribe`'s result for the row; throws naming the route when it cannot be kept. @internal */
export function serializeHookState(path: string, state: unknown): string | undefined {
  if (state === undefined) return undefined;
  let text: string | undefined;
  try {
    text = JSON.stringify(state);
  } catch (cause) {
    throw new Error(`routes.${path}.hooks(): onSubscribe must return JSON (kept for onUnsubscribe): ${String(cause)}`);
  }
  if (text === undefined) throw new Error(`routes.${path}.hooks(): onSubscribe must return JSON (kept for onUnsubscribe), got: ${typeof state}`);
  if (Buffer.byteLength(text) > MAX_HOOK_STATE_BYTES) {
    throw new Error(`routes.${path}.hooks(): onSubscribe's result is ${Buffer.byteLength(text)} bytes serialized, at most ${MAX_HOOK_STATE_BYTES} are kept`);
  }
  return text;
}

/**
 * Runs `onUnsubscribe` of each ended subscription (in parallel) and `onDisconnect` of an ended
 * connection, after the removal. A hook's error is logged: the removal is done and is not undone.
 * @internal
 */
export async function runEndHooks(
  registry: HookRegistry | undefined, logger: Logger,
  ended: EndedRemoval,
  reason: UnsubscribeReason,
): Promise<void> {
  if (!registry) return;
  const runs = ended.subscriptions.map(async (subscription) => {
    const hook = registry.routes.get(subscription.path)?.onUnsubscribe;
    if (!hook) return;
    try {
      await hook({
        state: subscription.hookState === undefined ? undefined : JSON.parse(subscription.hookState),
        reason: reportedReason(reason, subscription.ending ?? ended.ending),
        path: subscription.path,
        connectionId: subscription.connectionId,
        subscriptionId: subscription.subscriptionId,
      });
    } catch (error) {
      logger.error('onUnsubscribe failed', { path: subscription.path, connectionId: subscription.connectionId, subscriptionId: subscription.subscriptionId, error });
    }
  });
  const onDisconnect = registry.connection?.onDisconnect;
  const { connection } = ended;
  if (onDisconnect && connection?.accepted && reason !== 'stop' && reason !== 'refused') {
    runs.push((async () => {
      try {
        await onDisconnect({
          connectionId: connection.connectionId,
          key: connection.key,
          connectedAt: connection.connectedAt,
          reason: reportedReason(reason, ended.ending) as DisconnectReason,
        });
      } catch (error) {
        logger.error('onDisconnect failed', { connectionId: connection.connectionId, error });
      }
    })());
  }
  await Promise.all(runs);
}

/** Runs `onConnect` once a connection is accepted; its error is logged. @internal */
export async function runConnectHook(
  registry: HookRegistry | undefined, logger: Logger, args: ConnectHookArgs<unknown, string>,
): Promise<void> {
  // HOOKS_DEFINE (../constants.ts): a bundle without hooks keeps none of this.
  const onConnect = process.env.TRPC_SUBSCRIPTIONS_HOOKS === 'off' ? undefined : registry?.connection?.onConnect;
  if (!onConnect) return;
  try {
    await onConnect(args);
  } catch (error) {
    logger.error('onConnect failed', { connectionId: args.connectionId, error });
  }
}

/** The store, when it reports what its removals won (lifecycle hooks need it). @internal */
export function requireEnd(store: SubscriptionStore, method: 'endSubscription' | 'endConnection'): SubscriptionStore {
  if (typeof store[method] !== 'function') {
    throw new Error(`Lifecycle hooks need a store that reports its removals (${method}()): use dynamodb() or memory()`);
  }
  return store;
}

/**
 * Removes a connection and its rows, as `store.removeConnection()`; with hooks, through
 * `endConnection()`, then runs the hooks of what this call won. Every role that ends a connection
 * calls it: `$disconnect` and `$default` (410 of a reply, refused connections), the publisher and
 * the worker (410), server-side control (disconnect), the rollover (its sweep).
 * @internal
 */
export async function endConnectionWithHooks(
  store: SubscriptionStore, registry: HookRegistry | undefined, logger: Logger, connectionId: string, reason: UnsubscribeReason,
  known?: Pick<ConnectionRef, 'connectedAt' | 'key'>,
): Promise<void> {
  // HOOKS_DEFINE (../constants.ts) written out in full; an `else` so that esbuild drops the
  // branch, and what only it reaches, when the bundle has no hooks.
  if (process.env.TRPC_SUBSCRIPTIONS_HOOKS === 'off' || !needsRemovalClaims(registry)) {
    return store.removeConnection(connectionId, known);
  } else {
    const ended = await requireEnd(store, 'endConnection').endConnection!(connectionId, known);
    await runEndHooks(registry, logger, ended, reason);
  }
}

/**
 * Removes one subscription, as `store.removeSubscription()`; with hooks, through
 * `endSubscription()`, then runs its `onUnsubscribe` when this call won it.
 * @returns whether this call removed a stored subscription
 * @internal
 */
export async function endSubscriptionWithHooks(
  store: SubscriptionStore, registry: HookRegistry | undefined, logger: Logger, connectionId: string, subscriptionId: RequestId,
  reason: UnsubscribeReason,
): Promise<boolean> {
  // HOOKS_DEFINE, as in endConnectionWithHooks().
  if (process.env.TRPC_SUBSCRIPTIONS_HOOKS === 'off' || !needsRemovalClaims(registry)) {
    return store.removeSubscription(connectionId, subscriptionId);
  } else {
    const ended = await requireEnd(store, 'endSubscription').endSubscription!(connectionId, subscriptionId);
    await runEndHooks(registry, logger, ended, reason);
    return ended.subscriptions.length > 0;
  }
}
