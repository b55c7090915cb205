import type { SubscriptionsConfig } from './config';
import { toPresenceMember } from './presence';
import type { PresenceRows, ReleasedMember } from '../store/presence';
import type { RequestId, SubscriptionStore } from '../store/store';
import type { Logger } from '../util/logger';

const decorated = new WeakMap<SubscriptionsConfig, WeakMap<SubscriptionStore, SubscriptionStore>>();
/** Stores made here: a publisher inside `$default` gets the invocation's, already wrapped. */
const wrappers = new WeakSet<SubscriptionStore>();

/**
 * The store of every role of an app with presence routes (the handlers, a publisher, the fan-out
 * worker, the rollover): each removal of a subscription or connection (`remove*`, and the
 * lifecycle hooks' `end*`: a client's stop, `$disconnect`, a 410 met by any role, a server-side
 * stop or disconnect, the rollover's sweep) then releases its presence refs and, once the grace
 * period passed without the member coming back, sends the member's `leave` through
 * `config.presenceDelivery`. The removal resolves after the leave: a Lambda freezes once its
 * handler returns, so a timer left running would lose it (docs/runtime.md "Room presence").
 * Without presence routes the store is returned as it is.
 */
export function withPresence(config: SubscriptionsConfig, store: SubscriptionStore, logger: Logger): SubscriptionStore {
  const presence = config.presence;
  if (presence === undefined || presence.size === 0 || wrappers.has(store)) return store;
  let byStore = decorated.get(config);
  if (!byStore) decorated.set(config, byStore = new WeakMap());
  const known = byStore.get(store);
  if (known) return known;
  const rows = (): PresenceRows | undefined => store.presence?.();

  const leaveAfterGrace = async (released: readonly ReleasedMember[]): Promise<void> => {
    await Promise.all(released.map(async (member) => {
      const settings = presence.get(member.path);
      // The grace period: a member whose connection dropped and came back (the stock client
      // reconnects at once) has joined again by then, which makes the leave's condition fail.
      // Awaited, also by a producer or the worker that met a 410: a gone connection says nothing
      // of its member, whose client may be reconnecting right now (a leave then would flap).
      if (settings && settings.leaveGraceMs > 0) await new Promise((resolve) => setTimeout(resolve, settings.leaveGraceMs));
      const row = await rows()!.leave(member);
      if (!row || !settings) return;
      await config.presenceDelivery?.(member.path, { name: settings.filter.name, values: member.values }, { type: 'leave', member: toPresenceMember(row) });
    }));
  };

  const release = async (connectionId: string, subscriptionId?: RequestId): Promise<void> => {
    const presenceRows = rows();
    if (!presenceRows) return;
    try {
      await leaveAfterGrace(await presenceRows.release(connectionId, subscriptionId));
    } catch (error) {
      // The removal itself succeeded; a member whose leave failed drops out of the room when its
      // connection's rows expire.
      logger.error('presence leave failed', { connectionId, subscriptionId, error: error instanceof Error ? error.message : String(error) });
    }
  };

  const wrapped = new Proxy(store, {
    get(target, property) {
      if (property === 'removeSubscription') {
        return async (connectionId: string, subscriptionId: RequestId) => {
          const removed = await target.removeSubscription(connectionId, subscriptionId);
          await release(connectionId, subscriptionId);
          return removed;
        };
      }
      if (property === 'removeConnection') {
        return async (...args: Parameters<SubscriptionStore['removeConnection']>) => {
          await target.removeConnection(...args);
          // After the connection row is gone no join can store a ref for it any more (a join
          // checks its subscription row), so this release sees every ref it will ever have.
          await release(args[0]);
        };
      }
      // Lifecycle hooks' removals (they report what they won): the same releases, in the roles
      // whose store has them (the role tests first and written out in full, so that esbuild drops
      // the others' branches: ROLE_DEFINE in ../constants.ts).
      if ((process.env.TRPC_SUBSCRIPTIONS_ROLE === undefined || process.env.TRPC_SUBSCRIPTIONS_ROLE === 'message'
        || process.env.TRPC_SUBSCRIPTIONS_ROLE === 'worker') && property === 'endSubscription' && target.endSubscription) {
        return async (connectionId: string, subscriptionId: RequestId) => {
          const ended = await target.endSubscription!(connectionId, subscriptionId);
          await release(connectionId, subscriptionId);
          return ended;
        };
      }
      if (process.env.TRPC_SUBSCRIPTIONS_ROLE !== 'connect' && property === 'endConnection' && target.endConnection) {
        return async (...args: Parameters<NonNullable<SubscriptionStore['endConnection']>>) => {
          const ended = await target.endConnection!(...args);
          await release(args[0]);
          return ended;
        };
      }
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  byStore.set(store, wrapped);
  wrappers.add(wrapped);
  return wrapped;
}
