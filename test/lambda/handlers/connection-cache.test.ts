import superjson from 'superjson';
import { memory, type MemoryStore, type SubscriptionStore } from '../../../lambda';
import { ConnectionCache } from '../../../lambda/handlers/connection-cache';
import type { ConnectionRecord } from '../../../lambda/store/store';
import { appSubscriptions } from '../../fixtures/router';
import { connectEvent, disconnectEvent, messageEvent } from '../support/events';

function row(connectionId: string, overrides: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return { connectionId, connectedAt: 0, expireAt: 10_000, awaitingConnectionParams: false, connect: {}, ...overrides };
}

describe('ConnectionCache', () => {
  test('keeps settled rows only, and never returns an expired one', () => {
    let now = 0;
    const cache = new ConnectionCache(10, () => now);
    cache.remember(row('settled'));
    cache.remember(row('awaiting', { awaitingConnectionParams: true }));

    expect(cache.get('settled')).toEqual(row('settled'));
    expect(cache.get('awaiting')).toBeUndefined();
    now = 10_000 * 1000;
    expect(cache.get('settled')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  test('evicts the least recently used row beyond its size; 0 disables it', () => {
    const cache = new ConnectionCache(2, () => 0);
    cache.remember(row('a'));
    cache.remember(row('b'));
    cache.get('a');
    cache.remember(row('c'));
    expect([cache.get('a')?.connectionId, cache.get('b'), cache.get('c')?.connectionId]).toEqual(['a', undefined, 'c']);

    const disabled = new ConnectionCache(0);
    disabled.remember(row('a'));
    expect(disabled.get('a')).toBeUndefined();
    expect(() => new ConnectionCache(-1)).toThrow('`connectionCacheSize` must be a non-negative integer, got: -1');
  });
});

/** memory(), counting how often the connection row is read. */
function countingStore(): { store: SubscriptionStore; reads: () => number; inner: MemoryStore } {
  const inner = memory();
  let reads = 0;
  const store: SubscriptionStore = Object.assign(Object.create(inner) as SubscriptionStore, {
    getConnection: (connectionId: string) => {
      reads++;
      return inner.getConnection(connectionId);
    },
  });
  return { store, reads: () => reads, inner };
}

function subscribe(id: number, room: string) {
  return { id, method: 'subscription', params: { path: 'onMessage', input: superjson.serialize({ room }) } };
}

describe('$default with the connection cache', () => {
  test('reads a settled connection row once per warm instance, then answers from the cache', async () => {
    const { store, reads } = countingStore();
    const connect = appSubscriptions.connect({ store });
    const handler = appSubscriptions.handler({ store });
    await connect(connectEvent('c1', { connectionParams: '1' }));
    await handler(messageEvent('c1', { method: 'connectionParams', data: { userId: 'alice' } }));
    const readsAfterParams = reads();

    const started = await handler(messageEvent('c1', subscribe(1, 'lobby')));
    const whoami = await handler(messageEvent('c1', { id: 2, method: 'query', params: { path: 'whoami', input: superjson.serialize(undefined) } }));

    expect(started?.body).toContain('"started"');
    expect(whoami?.body).toContain('alice');
    expect(reads()).toBe(readsAfterParams);
  });

  test('with connectionCacheSize 0 every request reads the row', async () => {
    const { store, reads } = countingStore();
    await appSubscriptions.connect({ store })(connectEvent('c1'));
    const handler = appSubscriptions.handler({ store, connectionCacheSize: 0 });

    await handler(messageEvent('c1', subscribe(1, 'lobby')));
    await handler(messageEvent('c1', subscribe(2, 'garden')));

    expect(reads()).toBe(2);
  });

  test('a cached row of a connection that is gone creates no rows: the subscribe is refused by the store', async () => {
    const { store, inner } = countingStore();
    const handler = appSubscriptions.handler({ store });
    await appSubscriptions.connect({ store })(connectEvent('c1'));
    await handler(messageEvent('c1', subscribe(1, 'lobby'))); // caches the row
    await appSubscriptions.disconnect({ store })(disconnectEvent('c1'));

    const late = await handler(messageEvent('c1', subscribe(2, 'garden')));

    expect(late?.body).toBeUndefined();
    expect(inner.subscriptionsOf('c1')).toEqual([]);
    expect(inner.connectionCount()).toBe(0);
  });
});
