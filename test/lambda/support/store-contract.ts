import type { ConnectionRecord, SubscriberRef, SubscriptionRecord, SubscriptionStore } from '../../../lambda';

/**
 * Semantics every SubscriptionStore must have, as the handlers and the publisher rely on them.
 * Parameterized by a factory so that `memory()` and `dynamodb()` run the same cases.
 */
export function describeStoreContract(name: string, createStore: () => Promise<SubscriptionStore> | SubscriptionStore): void {
  const expireAt = Math.floor(Date.now() / 1000) + 7800;
  const connection = (connectionId: string): ConnectionRecord => ({
    connectionId, connectedAt: Date.now(), expireAt, awaitingConnectionParams: false, connect: { sourceIp: '127.0.0.1', queryStringParameters: { a: 'b' } },
  });
  const subscription = (connectionId: string, subscriptionId: number | string, filters: SubscriptionRecord['filters'] = [], path = 'onMessage'): SubscriptionRecord => ({
    connectionId, subscriptionId, path, filters, expireAt,
  });
  async function collect(pages: AsyncIterable<readonly SubscriberRef[]>): Promise<string[]> {
    const found: string[] = [];
    for await (const page of pages) for (const ref of page) found.push(`${ref.connectionId}/${ref.subscriptionId}`);
    return found.sort();
  }

  describe(`${name}: SubscriptionStore contract`, () => {
    let store: SubscriptionStore;
    beforeEach(async () => {
      store = await createStore();
    });

    test('connections round-trip; params clear awaitingConnectionParams', async () => {
      await store.putConnection({ ...connection('c1'), awaitingConnectionParams: true });
      expect(await store.getConnection('c1')).toMatchObject({ connectionId: 'c1', awaitingConnectionParams: true, connect: { sourceIp: '127.0.0.1' } });
      expect(await store.setConnectionParams('c1', { userId: 'u1' })).toBe(true);
      expect(await store.getConnection('c1')).toMatchObject({ awaitingConnectionParams: false, connectionParams: { userId: 'u1' } });
      expect(await store.setConnectionParams('missing', null)).toBe(false);
      expect(await store.getConnection('missing')).toBeUndefined();
    });

    test('addSubscription: created, duplicate, connection-gone', async () => {
      await store.putConnection(connection('c1'));
      expect(await store.addSubscription(subscription('c1', 1))).toBe('created');
      expect(await store.addSubscription(subscription('c1', 1))).toBe('duplicate');
      expect(await store.addSubscription(subscription('gone', 1))).toBe('connection-gone');
      expect(await collect(store.findSubscribers({ path: 'onMessage' }))).toEqual(['c1/1']);
    });

    test('a stop before the start leaves a tombstone: the later start is refused and stores nothing', async () => {
      await store.putConnection(connection('c1'));
      expect(await store.removeSubscription('c1', 2)).toBe(false);
      expect(await store.addSubscription(subscription('c1', 2, [{ name: 'byRoom', values: ['a'] }]))).toBe('stopped');
      expect(await collect(store.findSubscribers({ path: 'onMessage' }))).toEqual([]);
      expect(await collect(store.findSubscribers({ path: 'onMessage', filter: { name: 'byRoom', values: ['a'] } }))).toEqual([]);
    });

    test('removeSubscription removes the subscription and its index entries', async () => {
      await store.putConnection(connection('c1'));
      await store.addSubscription(subscription('c1', 1, [{ name: 'byRoom', values: ['a'] }]));
      expect(await store.removeSubscription('c1', 1)).toBe(true);
      expect(await collect(store.findSubscribers({ path: 'onMessage' }))).toEqual([]);
      expect(await collect(store.findSubscribers({ path: 'onMessage', filter: { name: 'byRoom', values: ['a'] } }))).toEqual([]);
    });

    test('removeConnection removes every row and is idempotent', async () => {
      await store.putConnection(connection('c1'));
      await store.addSubscription(subscription('c1', 1, [{ name: 'byRoom', values: ['a'] }]));
      await store.addSubscription(subscription('c1', 2, [], 'other'));
      await store.removeConnection('c1');
      await store.removeConnection('c1');
      expect(await store.getConnection('c1')).toBeUndefined();
      expect(await collect(store.findSubscribers({ path: 'onMessage' }))).toEqual([]);
      expect(await collect(store.findSubscribers({ path: 'other' }))).toEqual([]);
      expect(await store.addSubscription(subscription('c1', 3))).toBe('connection-gone');
    });

    test('an unfiltered find returns each subscription of the path exactly once, whatever its filters', async () => {
      await store.putConnection(connection('c1'));
      await store.addSubscription(subscription('c1', 1, [
        { name: 'byRoom', values: ['a'] }, { name: 'byUserAndRoom', values: ['u1', 'a'] }, { name: 'byUser', values: ['u1'] },
      ]));
      await store.addSubscription(subscription('c1', 2));
      await store.addSubscription(subscription('c1', 3, [], 'other'));
      expect(await collect(store.findSubscribers({ path: 'onMessage' }))).toEqual(['c1/1', 'c1/2']);
    });

    test('filters match whole values on a prefix, never a prefix of a value, and values cannot forge keys', async () => {
      const rows: Array<[string, string, string]> = [
        ['c1', 'u1', 'a'], ['c2', 'u10', 'a'], ['c3', 'u1', 'a#b'], ['c4', 'u1#a', 'b'], ['c5', 'u1', 'a#'], ['c6', '', 'a'],
      ];
      for (const [connectionId, userId, room] of rows) {
        await store.putConnection(connection(connectionId));
        await store.addSubscription(subscription(connectionId, 1, [{ name: 'byUserAndRoom', values: [userId, room] }]));
      }
      const find = (values: string[]) => collect(store.findSubscribers({ path: 'onMessage', filter: { name: 'byUserAndRoom', values } }));
      expect(await find(['u1', 'a'])).toEqual(['c1/1']);
      expect(await find(['u1'])).toEqual(['c1/1', 'c3/1', 'c5/1']);
      expect(await find(['u10'])).toEqual(['c2/1']);
      expect(await find(['u1#a'])).toEqual(['c4/1']);
      expect(await find(['u1', 'a#b'])).toEqual(['c3/1']);
      expect(await find(['u1', 'a#'])).toEqual(['c5/1']);
      expect(await find([''])).toEqual(['c6/1']);
      expect(await find(['nobody'])).toEqual([]);
      expect(await find([])).toEqual(['c1/1', 'c2/1', 'c3/1', 'c4/1', 'c5/1', 'c6/1']);
      expect(await collect(store.findSubscribers({ path: 'onMessage', filter: { name: 'other', values: ['u1'] } }))).toEqual([]);
    });

    test('null, boolean and number values match exactly', async () => {
      await store.putConnection(connection('c1'));
      await store.addSubscription(subscription('c1', 1, [{ name: 'f', values: [null, true, 12] }]));
      const find = (values: Array<string | number | boolean | null>) => collect(store.findSubscribers({ path: 'onMessage', filter: { name: 'f', values } }));
      expect(await find([null, true, 12])).toEqual(['c1/1']);
      expect(await find([null, true, 1])).toEqual([]);
      expect(await find([null, false])).toEqual([]);
    });

    test('string request ids survive', async () => {
      await store.putConnection(connection('c1'));
      await store.addSubscription(subscription('c1', 'abc'));
      const pages: SubscriberRef[] = [];
      for await (const page of store.findSubscribers({ path: 'onMessage' })) pages.push(...page);
      expect(pages).toEqual([{ connectionId: 'c1', subscriptionId: 'abc' }]);
    });
  });
}
