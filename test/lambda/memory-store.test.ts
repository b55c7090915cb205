import { memory, type SubscriberRef } from '../../lambda';
import { describeStoreContract } from './support/store-contract';

describeStoreContract('memory()', () => memory());
describeStoreContract('memory({ pageSize: 1 })', () => memory({ pageSize: 1 }));

describe('memory()', () => {
  test('findSubscribers pages by pageSize', async () => {
    const store = memory({ pageSize: 2 });
    await store.putConnection({ connectionId: 'c', connectedAt: 0, expireAt: 1, awaitingConnectionParams: false, connect: {} });
    for (const id of [1, 2, 3, 4, 5]) await store.addSubscription({ connectionId: 'c', subscriptionId: id, path: 'p', filters: [], expireAt: 1 });
    const pages: (readonly SubscriberRef[])[] = [];
    for await (const page of store.findSubscribers({ path: 'p' })) pages.push(page);
    expect(pages.map((page) => page.length)).toEqual([2, 2, 1]);
  });

  test('numeric and string ids are different subscriptions', async () => {
    const store = memory();
    await store.putConnection({ connectionId: 'c', connectedAt: 0, expireAt: 1, awaitingConnectionParams: false, connect: {} });
    expect(await store.addSubscription({ connectionId: 'c', subscriptionId: 1, path: 'p', filters: [], expireAt: 1 })).toBe('created');
    expect(await store.addSubscription({ connectionId: 'c', subscriptionId: '1', path: 'p', filters: [], expireAt: 1 })).toBe('created');
    expect(store.subscriptionsOf('c')).toHaveLength(2);
  });
});
