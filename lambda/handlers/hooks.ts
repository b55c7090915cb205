/**
 * The lifecycle hooks `$default` runs: `onSubscribe` around storing a subscription, and
 * `onUnsubscribe` of the subscriptions its stops (and its replies' 410s) remove.
 */
import type { Runtime } from './runtime';
import { endConnectionWithHooks, endSubscriptionWithHooks, runEndHooks, serializeHookState, type RouteHooksConfig, type UnsubscribeReason } from '../core/hooks';
import type { AddSubscriptionResult, RequestId, SubscriptionRecord } from '../store/store';

/** What a subscription's procedure produced: its final ctx and parsed input. */
interface ProcedureState {
  readonly ctx: unknown;
  readonly input: unknown;
}

/** The reason `onUnsubscribe` gets when `onSubscribe` returned but the store did not keep the subscription. */
function unstoredReason(outcome: AddSubscriptionResult | undefined): UnsubscribeReason {
  if (outcome === 'stopped') return 'stop';
  if (outcome === 'connection-gone') return 'disconnect';
  return 'refused';
}

/**
 * Stores a subscription through `store`, running the route's `onSubscribe` first (a throw refuses
 * it: nothing is stored and the error reaches the client as any procedure error) and keeping what
 * it returned on the row. When `onSubscribe` returned but the subscription is not stored, its
 * `onUnsubscribe` runs at once, so each `onSubscribe` is paired with one `onUnsubscribe`.
 */
export async function storeWithHooks(
  rt: Runtime, record: SubscriptionRecord, procedure: ProcedureState,
  store: (record: SubscriptionRecord) => Promise<AddSubscriptionResult>,
): Promise<AddSubscriptionResult> {
  // HOOKS_DEFINE (../constants.ts): a bundle without hooks stores the record as it is (an `else`,
  // so that esbuild drops the hooks' branch with what only it reaches).
  const onSubscribe = process.env.TRPC_SUBSCRIPTIONS_HOOKS === 'off' ? undefined : rt.config.hooks?.routes.get(record.path)?.onSubscribe;
  if (process.env.TRPC_SUBSCRIPTIONS_HOOKS === 'off' || !onSubscribe) {
    return store(record);
  } else {
    return storeAfterOnSubscribe(rt, record, procedure, store, onSubscribe);
  }
}

/** {@link storeWithHooks} of a route with `onSubscribe`. */
async function storeAfterOnSubscribe(
  rt: Runtime, record: SubscriptionRecord, procedure: ProcedureState,
  store: (record: SubscriptionRecord) => Promise<AddSubscriptionResult>,
  onSubscribe: NonNullable<RouteHooksConfig['onSubscribe']>,
): Promise<AddSubscriptionResult> {
  const state = await onSubscribe({
    ctx: procedure.ctx,
    input: procedure.input,
    path: record.path,
    connectionId: record.connectionId,
    subscriptionId: record.subscriptionId,
  });
  const hookState = serializeHookState(record.path, state);
  let outcome: AddSubscriptionResult | undefined;
  try {
    outcome = await store(hookState === undefined ? record : { ...record, hookState });
    return outcome;
  } finally {
    if (outcome !== 'created') {
      const { connectionId, subscriptionId, path } = record;
      await runEndHooks(rt.config.hooks, rt.logger, {
        subscriptions: [{ connectionId, subscriptionId, path, ...(hookState === undefined ? {} : { hookState }) }],
      }, unstoredReason(outcome));
    }
  }
}

/** Removes a subscription the client stopped; runs its `onUnsubscribe` when this call removed it. */
export function removeWithHooks(rt: Runtime, connectionId: string, id: RequestId): Promise<boolean> {
  return endSubscriptionWithHooks(rt.store(), rt.config.hooks, rt.logger, connectionId, id, 'stop');
}

/** Removes a connection's rows ($disconnect, a 410 of a reply, a refused connection) and runs the hooks it won. */
export function removeConnectionWithHooks(rt: Runtime, connectionId: string, reason: UnsubscribeReason): Promise<void> {
  return endConnectionWithHooks(rt.store(), rt.config.hooks, rt.logger, connectionId, reason);
}
