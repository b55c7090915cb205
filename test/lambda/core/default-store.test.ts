import { STORE_ENV, TABLE_NAME_ENV } from '../../../lambda/constants';
import type { SubscriptionStore } from '../../../lambda/store/store';

/** Loads a fresh copy of the module, so its once-per-process cache starts empty. */
function freshDefaultStore(): SubscriptionStore {
  let store: SubscriptionStore | undefined;
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    store = (require('../../../lambda/core/environment') as typeof import('../../../lambda/core/environment')).getDefaultStore();
  });
  return store!;
}

describe('default store', () => {
  const saved = { store: process.env[STORE_ENV], table: process.env[TABLE_NAME_ENV] };
  afterEach(() => {
    process.env[STORE_ENV] = saved.store;
    process.env[TABLE_NAME_ENV] = saved.table;
    if (saved.store === undefined) delete process.env[STORE_ENV];
    if (saved.table === undefined) delete process.env[TABLE_NAME_ENV];
  });

  test('TRPC_SUBSCRIPTIONS_STORE=memory gives an in-memory store that keeps connections', async () => {
    process.env[STORE_ENV] = 'memory';
    delete process.env[TABLE_NAME_ENV];
    const store = freshDefaultStore();
    await store.putConnection({ connectionId: 'c1', connectedAt: 1, expireAt: 2, awaitingConnectionParams: false, connect: {} });
    await expect(store.getConnection('c1')).resolves.toMatchObject({ connectionId: 'c1' });
  });

  test('without it the DynamoDB store is used, which names the missing table variable', async () => {
    delete process.env[STORE_ENV];
    delete process.env[TABLE_NAME_ENV];
    const store = freshDefaultStore();
    await expect(store.getConnection('c1')).rejects.toThrow(TABLE_NAME_ENV);
  });
});
