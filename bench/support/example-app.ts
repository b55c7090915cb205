import { appSubscriptions } from '../../example/app-router';
import type { Logger, SubscriptionStore } from '../../lambda';
import type { LocalGatewayHandlers } from '../../lambda/local';

/** The example app's three handlers over a store, as the construct deploys them. */
export function exampleHandlers(store: SubscriptionStore, logger: Logger): LocalGatewayHandlers {
  return {
    connect: appSubscriptions.connect({ store, logger }),
    handler: appSubscriptions.handler({ store, logger }),
    disconnect: appSubscriptions.disconnect({ store, logger }),
  };
}

/**
 * Stores a connection with one `onMessage` subscription in `room`, with the filter entries the
 * example's `byRoom` and `byUserAndRoom` filters give a subscriber whose ctx.userId is 'anon'
 * (a subscriber that is in the table but has no live socket).
 */
export async function seedRoomSubscriber(store: SubscriptionStore, connectionId: string, room: string): Promise<void> {
  const expireAt = Math.floor(Date.now() / 1000) + 7800;
  await store.putConnection({ connectionId, connectedAt: Date.now(), expireAt, awaitingConnectionParams: false, connect: { sourceIp: '127.0.0.1' } });
  await store.addSubscription({
    connectionId,
    subscriptionId: 1,
    path: 'onMessage',
    expireAt,
    filters: [{ name: 'byRoom', values: [room] }, { name: 'byUserAndRoom', values: ['anon', room] }],
  });
}
