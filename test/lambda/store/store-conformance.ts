/**
 * Behaviour every SubscriptionStore must have (`dynamodb()` and `memory()` alike). Written against
 * the SubscriptionStore interface only; a store may also expose its raw rows so the suite can
 * prove that races leave no orphans.
 */
import { randomUUID } from 'node:crypto';
import type {
  ConnectionRecord,
  FilterEntry,
  RequestId,
  SubscriberQuery,
  SubscriberRef,
  SubscriptionRecord,
  SubscriptionStore,
} from '../../../lambda/store/store';
import { MAX_FILTERS_PER_SUBSCRIPTION } from '../../../lambda/store/validation';

/** A store for one test, fresh and empty. */
export interface StoreUnderTest {
  readonly store: SubscriptionStore;
  /**
   * Every stored row as `{ pk, sk }`, read from the backing storage (e.g. a table Scan), to prove
   * that nothing is left behind. Without it the suite checks through the interface only.
   */
  readonly listRows?: () => Promise<readonly { pk: string; sk: string }[]>;
  /** Release clients and the like. */
  readonly dispose?: () => Promise<void> | void;
}

const EXPIRE_AT = Math.floor(Date.now() / 1000) + 2 * 3600 + 600;

export function connection(connectionId: string, overrides: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return {
    connectionId,
    connectedAt: Date.now(),
    expireAt: EXPIRE_AT,
    awaitingConnectionParams: false,
    connect: {},
    ...overrides,
  };
}

export function subscription(
  connectionId: string,
  subscriptionId: RequestId,
  filters: readonly FilterEntry[] = [],
  path = 'onMessage',
): SubscriptionRecord {
  return { connectionId, subscriptionId, path, filters, expireAt: EXPIRE_AT };
}

/** All subscribers of a query, flattened, as `connectionId/subscriptionId` strings (ids JSON-typed). */
export async function findAll(store: SubscriptionStore, query: SubscriberQuery): Promise<string[]> {
  const found: string[] = [];
  for await (const page of store.findSubscribers(query)) found.push(...page.map(refId));
  return found.sort();
}

export function refId(ref: SubscriberRef): string {
  return `${ref.connectionId}/${JSON.stringify(ref.subscriptionId)}`;
}

function newConnectionId(): string {
  return `c-${randomUUID()}`;
}

/** Run the shared conformance suite against a store factory (called once per test). */
export function describeStoreConformance(name: string, makeStore: () => Promise<StoreUnderTest> | StoreUnderTest): void {
  describe(`${name} store conformance`, () => {
    let current: StoreUnderTest;
    let store: SubscriptionStore;

    beforeEach(async () => {
      current = await makeStore();
      store = current.store;
    });
    afterEach(async () => {
      await current.dispose?.();
    });

    async function expectRows(expected: { pk: string; sk: string }[] | ((rows: { pk: string; sk: string }[]) => void)) {
      if (!current.listRows) return;
      const rows = [...(await current.listRows())].map(({ pk, sk }) => ({ pk, sk }));
      if (typeof expected === 'function') expected(rows);
      else expect(rows.sort(byKey)).toEqual([...expected].sort(byKey));
    }

    describe('connections', () => {
      test('stores and reads a connection with its $connect snapshot', async () => {
        const id = newConnectionId();
        const record = connection(id, {
          awaitingConnectionParams: true,
          connect: {
            queryStringParameters: { connectionParams: '1', token: 'a#b' },
            headers: { 'user-agent': 'jest' },
            authorizer: { principalId: 'u1', claims: { groups: ['admin'], n: 3, ok: true } },
            sourceIp: '127.0.0.1',
          },
        });
        await store.putConnection(record);
        await expect(store.getConnection(id)).resolves.toEqual(record);
        await expect(store.getConnection(newConnectionId())).resolves.toBeUndefined();
      });

      test('stores connectionParams (an object or null) and clears awaitingConnectionParams', async () => {
        const id = newConnectionId();
        await store.putConnection(connection(id, { awaitingConnectionParams: true }));
        await expect(store.setConnectionParams(id, { token: 't', empty: '' })).resolves.toBe(true);
        await expect(store.getConnection(id)).resolves.toMatchObject({
          awaitingConnectionParams: false,
          connectionParams: { token: 't', empty: '' },
        });
        expect((await store.getConnection(id))?.connectionParams).toEqual({ token: 't', empty: '' });
      });

      test('stores null connectionParams', async () => {
        const id = newConnectionId();
        await store.putConnection(connection(id, { awaitingConnectionParams: true }));
        await expect(store.setConnectionParams(id, null)).resolves.toBe(true);
        expect((await store.getConnection(id))?.connectionParams).toBeNull();
      });

      test('connectionParams are accepted once: a second or concurrent write is refused and changes nothing', async () => {
        const id = newConnectionId();
        await store.putConnection(connection(id, { awaitingConnectionParams: true }));
        const outcomes = await Promise.all([
          store.setConnectionParams(id, { userId: 'alice' }),
          store.setConnectionParams(id, { userId: 'mallory' }),
        ]);
        expect(outcomes.filter(Boolean)).toHaveLength(1);
        const winner = outcomes[0] ? 'alice' : 'mallory';
        await expect(store.setConnectionParams(id, { userId: 'eve' })).resolves.toBe(false);
        expect((await store.getConnection(id))?.connectionParams).toEqual({ userId: winner });
      });

      test('connectionParams of a connection that did not announce them are refused', async () => {
        const id = newConnectionId();
        await store.putConnection(connection(id, { awaitingConnectionParams: false }));
        await expect(store.setConnectionParams(id, { userId: 'mallory' })).resolves.toBe(false);
        expect((await store.getConnection(id))?.connectionParams).toBeUndefined();
      });

      test('refuseConnection marks an awaiting connection refused once; never one whose params were accepted', async () => {
        const id = newConnectionId();
        await store.putConnection(connection(id, { awaitingConnectionParams: true }));
        const expireAt = Math.floor(Date.now() / 1000) + 900;
        await expect(store.refuseConnection(id, '{"message":"no"}', expireAt)).resolves.toBe(true);
        await expect(store.getConnection(id)).resolves.toMatchObject({ awaitingConnectionParams: false, refusal: '{"message":"no"}', expireAt });
        await expect(store.refuseConnection(id, '{"message":"again"}', expireAt)).resolves.toBe(false);
        await expect(store.setConnectionParams(id, { userId: 'late' })).resolves.toBe(false);
        const accepted = newConnectionId();
        await store.putConnection(connection(accepted, { awaitingConnectionParams: true }));
        await store.setConnectionParams(accepted, { userId: 'alice' });
        await expect(store.refuseConnection(accepted, '{}', expireAt)).resolves.toBe(false);
        expect((await store.getConnection(accepted))?.refusal).toBeUndefined();
        await expect(store.refuseConnection(newConnectionId(), '{}', expireAt)).resolves.toBe(false);
      });

      test('a connection stored refused reads back with its refusal', async () => {
        const id = newConnectionId();
        await store.putConnection(connection(id, { refusal: '{"code":-32001}' }));
        expect((await store.getConnection(id))?.refusal).toBe('{"code":-32001}');
      });

      test('setConnectionParams of an unknown connection returns false and creates nothing', async () => {
        const id = newConnectionId();
        await expect(store.setConnectionParams(id, { a: 'b' })).resolves.toBe(false);
        await expect(store.getConnection(id)).resolves.toBeUndefined();
        await expectRows([]);
      });

      test('putConnection overwrites a connection with the same id', async () => {
        const id = newConnectionId();
        await store.putConnection(connection(id, { connectionParams: { a: '1' } }));
        const replacement = connection(id, { connectedAt: 42 });
        await store.putConnection(replacement);
        await expect(store.getConnection(id)).resolves.toEqual(replacement);
      });

      test.each([1.5, Date.now(), -1, Number.NaN])('refuses expireAt %p that is not integer epoch seconds', async (expireAt) => {
        await expect(store.putConnection(connection(newConnectionId(), { expireAt }))).rejects.toThrow(
          /`expireAt` must be integer epoch seconds/,
        );
      });
    });

    describe('subscriptions', () => {
      test('add -> created, findable through the unfiltered route and each filter', async () => {
        const id = newConnectionId();
        await store.putConnection(connection(id));
        const filters = [{ name: 'byRoom', values: ['a'] }, { name: 'byUserAndRoom', values: ['u1', 'a'] }];
        await expect(store.addSubscription(subscription(id, 1, filters))).resolves.toBe('created');
        const expected = [`${id}/1`];
        await expect(findAll(store, { path: 'onMessage' })).resolves.toEqual(expected);
        await expect(findAll(store, { path: 'onMessage', filter: filters[0] })).resolves.toEqual(expected);
        await expect(findAll(store, { path: 'onMessage', filter: filters[1] })).resolves.toEqual(expected);
        await expect(findAll(store, { path: 'onMessage', filter: { name: 'byUserAndRoom', values: ['u1'] } })).resolves.toEqual(expected);
        await expect(findAll(store, { path: 'other' })).resolves.toEqual([]);
      });

      test('number and string subscription ids are distinct and round-trip with their type', async () => {
        const id = newConnectionId();
        await store.putConnection(connection(id));
        await expect(store.addSubscription(subscription(id, 1))).resolves.toBe('created');
        await expect(store.addSubscription(subscription(id, '1'))).resolves.toBe('created');
        await expect(findAll(store, { path: 'onMessage' })).resolves.toEqual([`${id}/"1"`, `${id}/1`]);
        await expect(store.removeSubscription(id, '1')).resolves.toBe(true);
        await expect(findAll(store, { path: 'onMessage' })).resolves.toEqual([`${id}/1`]);
      });

      test('a second add of the same id -> duplicate, and nothing changes', async () => {
        const id = newConnectionId();
        await store.putConnection(connection(id));
        await expect(store.addSubscription(subscription(id, 7, [{ name: 'byRoom', values: ['a'] }]))).resolves.toBe('created');
        const before = current.listRows ? await current.listRows() : [];
        await expect(store.addSubscription(subscription(id, 7, [{ name: 'byRoom', values: ['b'] }]))).resolves.toBe('duplicate');
        await expectRows([...before]);
        await expect(findAll(store, { path: 'onMessage', filter: { name: 'byRoom', values: ['b'] } })).resolves.toEqual([]);
        await expect(findAll(store, { path: 'onMessage' })).resolves.toEqual([`${id}/7`]);
      });

      test('add without a connection -> connection-gone, and nothing is written', async () => {
        const id = newConnectionId();
        await expect(store.addSubscription(subscription(id, 1, [{ name: 'byRoom', values: ['a'] }]))).resolves.toBe('connection-gone');
        await expect(findAll(store, { path: 'onMessage' })).resolves.toEqual([]);
        await expectRows([]);
      });

      test('stop before start leaves a tombstone: the late add -> stopped, with no index rows', async () => {
        const id = newConnectionId();
        await store.putConnection(connection(id));
        await expect(store.removeSubscription(id, 3)).resolves.toBe(false);
        await expect(store.addSubscription(subscription(id, 3, [{ name: 'byRoom', values: ['a'] }]))).resolves.toBe('stopped');
        await expect(findAll(store, { path: 'onMessage' })).resolves.toEqual([]);
        await expect(findAll(store, { path: 'onMessage', filter: { name: 'byRoom', values: ['a'] } })).resolves.toEqual([]);
        await expectRows((rows) => {
          expect(rows.filter((row) => !row.pk.startsWith('CONN#') && !row.pk.startsWith('AGE#'))).toEqual([]);
          expect(rows).toHaveLength(3); // the connection, its age bucket row and the tombstone
        });
        // Other ids are unaffected; a repeated stop is harmless.
        await expect(store.addSubscription(subscription(id, 4))).resolves.toBe('created');
        await expect(store.removeSubscription(id, 3)).resolves.toBe(false);
      });

      test('stop removes the subscription and every index row; a second stop returns false', async () => {
        const id = newConnectionId();
        await store.putConnection(connection(id));
        const filters = [{ name: 'byRoom', values: ['a'] }, { name: 'byUser', values: ['u1'] }];
        await store.addSubscription(subscription(id, 1, filters));
        await store.addSubscription(subscription(id, 2, filters));
        await expect(store.removeSubscription(id, 1)).resolves.toBe(true);
        await expect(findAll(store, { path: 'onMessage' })).resolves.toEqual([`${id}/2`]);
        await expect(findAll(store, { path: 'onMessage', filter: filters[0] })).resolves.toEqual([`${id}/2`]);
        await expect(findAll(store, { path: 'onMessage', filter: filters[1] })).resolves.toEqual([`${id}/2`]);
        await expect(store.removeSubscription(id, 1)).resolves.toBe(false);
        await expect(store.removeSubscription(id, 2)).resolves.toBe(true);
        await expectRows((rows) => expect(rows.filter((row) => row.pk.startsWith('ROUTE#'))).toEqual([]));
      });

      test('stop on a connection that is gone returns false and writes nothing', async () => {
        const id = newConnectionId();
        await expect(store.removeSubscription(id, 1)).resolves.toBe(false);
        await expectRows([]);
      });

      test(`indexes a subscription under ${MAX_FILTERS_PER_SUBSCRIPTION} filters, and refuses more with a clear error`, async () => {
        const id = newConnectionId();
        await store.putConnection(connection(id));
        const filters = Array.from({ length: MAX_FILTERS_PER_SUBSCRIPTION }, (_, i) => ({ name: `f${i}`, values: [`v${i}`] }));
        await expect(store.addSubscription(subscription(id, 1, filters))).resolves.toBe('created');
        await expect(findAll(store, { path: 'onMessage', filter: filters[filters.length - 1] })).resolves.toEqual([`${id}/1`]);
        await expect(
          store.addSubscription(subscription(id, 2, [...filters, { name: 'one-too-many', values: [] }])),
        ).rejects.toThrow(`Procedure 'onMessage' has ${MAX_FILTERS_PER_SUBSCRIPTION + 1} filters`);
        await expect(store.addSubscription(subscription(id, 3, [filters[0], filters[0]]))).rejects.toThrow(
          "Procedure 'onMessage' has two filters named 'f0'",
        );
        await expect(store.removeSubscription(id, 1)).resolves.toBe(true);
        await expectRows((rows) => expect(rows).toHaveLength(2)); // the connection and its age bucket row
      });

      test('refuses filter values that cannot fit a sort key, writing nothing', async () => {
        const id = newConnectionId();
        await store.putConnection(connection(id));
        const values = Array(30).fill('x'.repeat(500));
        await expect(store.addSubscription(subscription(id, 1, [{ name: 'huge', values }]))).rejects.toThrow(
          "Filter 'huge' of 'onMessage' has too many long values for a DynamoDB sort key",
        );
        await expect(findAll(store, { path: 'onMessage' })).resolves.toEqual([]);
        await expectRows((rows) => expect(rows).toHaveLength(2)); // the connection and its age bucket row
      });
    });

    describe('races', () => {
      test('concurrent add and stop of the same id never leave a subscription or index rows behind', async () => {
        const id = newConnectionId();
        await store.putConnection(connection(id));
        const filters = [{ name: 'byRoom', values: ['a'] }];
        const outcomes = await Promise.all(
          Array.from({ length: 20 }, async (_, subscriptionId) => {
            const [added, removed] = await Promise.all([
              store.addSubscription(subscription(id, subscriptionId, filters)),
              store.removeSubscription(id, subscriptionId),
            ]);
            return { added, removed };
          }),
        );
        for (const { added, removed } of outcomes) {
          // Either the stop removed what the add stored, or its tombstone refused the add.
          expect([added, removed]).toEqual(added === 'created' ? ['created', true] : ['stopped', false]);
        }
        await expect(findAll(store, { path: 'onMessage' })).resolves.toEqual([]);
        await expect(findAll(store, { path: 'onMessage', filter: { name: 'byRoom', values: ['a'] } })).resolves.toEqual([]);
        await expectRows((rows) => expect(rows.filter((row) => row.pk.startsWith('ROUTE#'))).toEqual([]));
      });

      test('subscribing while the connection is removed leaves no rows at all', async () => {
        for (let round = 0; round < 5; round++) {
          const id = newConnectionId();
          await store.putConnection(connection(id));
          const adds = Array.from({ length: 15 }, (_, subscriptionId) =>
            store.addSubscription(subscription(id, subscriptionId, [{ name: 'byRoom', values: ['a'] }])),
          );
          const [results] = await Promise.all([Promise.all(adds), store.removeConnection(id)]);
          for (const result of results) expect(['created', 'connection-gone']).toContain(result);
          await expect(findAll(store, { path: 'onMessage' })).resolves.toEqual([]);
          await expect(store.getConnection(id)).resolves.toBeUndefined();
        }
        await expectRows([]);
      });

      test('a stop racing with the removal of its connection leaves no tombstone behind', async () => {
        const id = newConnectionId();
        await store.putConnection(connection(id));
        await Promise.all([
          ...Array.from({ length: 10 }, (_, subscriptionId) => store.removeSubscription(id, subscriptionId)),
          store.removeConnection(id),
        ]);
        await expectRows([]);
      });
    });

    describe('subscription cap (maxSubscriptions)', () => {
      const byRoom = [{ name: 'byRoom', values: ['a'] }];

      test('at the cap -> limit-reached, and nothing is written; tombstones do not count', async () => {
        const id = newConnectionId();
        const record = connection(id);
        await store.putConnection(record);
        await expect(store.removeSubscription(id, 'never-started')).resolves.toBe(false); // a tombstone
        await expect(store.addSubscription(subscription(id, 1, byRoom), { maxSubscriptions: 2 })).resolves.toBe('created');
        await expect(store.addSubscription(subscription(id, 2, byRoom), { maxSubscriptions: 2 })).resolves.toBe('created');
        const before = current.listRows ? await current.listRows() : [];
        await expect(store.addSubscription(subscription(id, 3, byRoom), { maxSubscriptions: 2 })).resolves.toBe('limit-reached');
        await expectRows([...before]);
        await expect(findAll(store, { path: 'onMessage' })).resolves.toEqual([`${id}/1`, `${id}/2`]);
        await expect(findAll(store, { path: 'onMessage', filter: byRoom[0] })).resolves.toEqual([`${id}/1`, `${id}/2`]);
        // A larger cap, or none, admits more; the count is not part of the connection record.
        await expect(store.addSubscription(subscription(id, 3, byRoom), { maxSubscriptions: 3 })).resolves.toBe('created');
        await expect(store.addSubscription(subscription(id, 4, byRoom))).resolves.toBe('created');
        await expect(store.addSubscription(subscription(id, 5, byRoom), { maxSubscriptions: 4 })).resolves.toBe('limit-reached');
        await expect(store.getConnection(id)).resolves.toEqual(record);
      });

      test('a stop that removed a subscription frees a slot; other stops do not', async () => {
        const id = newConnectionId();
        const max = { maxSubscriptions: 2 };
        await store.putConnection(connection(id));
        await store.addSubscription(subscription(id, 1, byRoom), max);
        await store.addSubscription(subscription(id, 2, byRoom), max);
        await expect(store.removeSubscription(id, 1)).resolves.toBe(true);
        await expect(store.addSubscription(subscription(id, 3, byRoom), max)).resolves.toBe('created');
        await expect(store.addSubscription(subscription(id, 4, byRoom), max)).resolves.toBe('limit-reached');
        await expect(store.removeSubscription(id, 1)).resolves.toBe(false); // already stopped
        await expect(store.removeSubscription(id, 99)).resolves.toBe(false); // stop before start
        await expect(store.addSubscription(subscription(id, 5, byRoom), max)).resolves.toBe('limit-reached');
        await expect(store.removeSubscription(id, 2)).resolves.toBe(true);
        await expect(store.removeSubscription(id, 3)).resolves.toBe(true);
        await expect(store.removeSubscription(id, 3)).resolves.toBe(false);
        // Back to zero, not below: exactly two fit again.
        await expect(store.addSubscription(subscription(id, 6, byRoom), max)).resolves.toBe('created');
        await expect(store.addSubscription(subscription(id, 7, byRoom), max)).resolves.toBe('created');
        await expect(store.addSubscription(subscription(id, 8, byRoom), max)).resolves.toBe('limit-reached');
        await expect(findAll(store, { path: 'onMessage' })).resolves.toEqual([`${id}/6`, `${id}/7`]);
      });

      test('concurrent adds at the cap never exceed it, and concurrent stops free every slot', async () => {
        const id = newConnectionId();
        const max = { maxSubscriptions: 3 };
        await store.putConnection(connection(id));
        const outcomes = await Promise.all(
          Array.from({ length: 6 }, (_, subscriptionId) => store.addSubscription(subscription(id, subscriptionId, byRoom), max)),
        );
        const created = outcomes.flatMap((outcome, subscriptionId) => (outcome === 'created' ? [subscriptionId] : []));
        expect(created).toHaveLength(3);
        expect(outcomes.filter((outcome) => outcome === 'limit-reached')).toHaveLength(3);
        await expect(findAll(store, { path: 'onMessage' })).resolves.toEqual(created.map((sub) => `${id}/${sub}`).sort());
        // The connection row, and per subscription its row, the unfiltered and the byRoom index rows.
        await expectRows((rows) => expect(rows).toHaveLength(2 + 3 * 3)); // the connection, its age bucket row, 3 subscriptions with 2 index rows each

        const stops = await Promise.all(created.map((sub) => store.removeSubscription(id, sub)));
        expect(stops).toEqual([true, true, true]);
        const again = await Promise.all(
          Array.from({ length: 4 }, (_, i) => store.addSubscription(subscription(id, 10 + i, byRoom), max)),
        );
        expect(again.filter((outcome) => outcome === 'created')).toHaveLength(3);
        expect(again.filter((outcome) => outcome === 'limit-reached')).toHaveLength(1);
      });

      test('connection-gone, stopped and duplicate win over limit-reached', async () => {
        const id = newConnectionId();
        const max = { maxSubscriptions: 1 };
        await expect(store.addSubscription(subscription(id, 1), max)).resolves.toBe('connection-gone');
        await store.putConnection(connection(id));
        await store.removeSubscription(id, 2); // a tombstone
        await expect(store.addSubscription(subscription(id, 1), max)).resolves.toBe('created');
        await expect(store.addSubscription(subscription(id, 1), max)).resolves.toBe('duplicate');
        await expect(store.addSubscription(subscription(id, 2), max)).resolves.toBe('stopped');
        await expect(store.addSubscription(subscription(id, 3), max)).resolves.toBe('limit-reached');
      });

      test('removeConnection removes everything, the count included: a new connection of that id starts at 0', async () => {
        const id = newConnectionId();
        const max = { maxSubscriptions: 2 };
        await store.putConnection(connection(id));
        await store.addSubscription(subscription(id, 1, byRoom), max);
        await store.addSubscription(subscription(id, 2, byRoom), max);
        await store.removeConnection(id);
        await expectRows([]);
        await expect(store.addSubscription(subscription(id, 3), max)).resolves.toBe('connection-gone');
        await store.putConnection(connection(id));
        await expect(store.addSubscription(subscription(id, 4), max)).resolves.toBe('created');
        await expect(store.addSubscription(subscription(id, 5), max)).resolves.toBe('created');
        await expect(store.addSubscription(subscription(id, 6), max)).resolves.toBe('limit-reached');
      });

      test.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses maxSubscriptions %p with a clear error', async (maxSubscriptions) => {
        const id = newConnectionId();
        await store.putConnection(connection(id));
        await expect(store.addSubscription(subscription(id, 1), { maxSubscriptions })).rejects.toThrow(
          `\`maxSubscriptions\` must be a positive integer, got: ${maxSubscriptions}`,
        );
        await expect(findAll(store, { path: 'onMessage' })).resolves.toEqual([]);
      });
    });

    describe('removeConnection', () => {
      test('deletes more than 25 subscriptions with their index rows, and is idempotent', async () => {
        const id = newConnectionId();
        const other = newConnectionId();
        await store.putConnection(connection(id));
        await store.putConnection(connection(other));
        const filters = [{ name: 'byRoom', values: ['a'] }, { name: 'byUser', values: ['u1'] }];
        for (let i = 0; i < 30; i++) expect(await store.addSubscription(subscription(id, i, filters))).toBe('created');
        await store.removeSubscription(id, 'never-started'); // a tombstone goes too
        await store.addSubscription(subscription(other, 1, filters));

        await store.removeConnection(id);
        await expect(store.getConnection(id)).resolves.toBeUndefined();
        await expect(findAll(store, { path: 'onMessage' })).resolves.toEqual([`${other}/1`]);
        await expect(findAll(store, { path: 'onMessage', filter: filters[0] })).resolves.toEqual([`${other}/1`]);
        await expectRows((rows) => expect(rows).toHaveLength(2 + 1 + 3)); // the other connection and its age bucket row, its subscription and 3 index rows
        await expect(store.removeConnection(id)).resolves.toBeUndefined();
        await expect(store.removeConnection(newConnectionId())).resolves.toBeUndefined();
        await expect(store.getConnection(other)).resolves.toBeDefined();
      });

      test('deletes more than 1 MB of rows (several pages)', async () => {
        const id = newConnectionId();
        await store.putConnection(connection(id));
        // Subscription ids are client-chosen strings; a 100 KB id makes each subscription row ~100 KB.
        const bigIds = Array.from({ length: 12 }, (_, i) => `${i}-${'x'.repeat(100 * 1024)}`);
        for (const subscriptionId of bigIds) {
          expect(await store.addSubscription(subscription(id, subscriptionId, [{ name: 'byRoom', values: ['a'] }]))).toBe('created');
        }
        expect((await findAll(store, { path: 'onMessage' })).length).toBe(12);
        await store.removeConnection(id);
        await expect(findAll(store, { path: 'onMessage' })).resolves.toEqual([]);
        await expectRows([]);
      });
    });

    describe('findSubscribers filter matching', () => {
      const path = 'match';
      const subscribers: [RequestId, FilterEntry[]][] = [
        [1, [{ name: 'byUserAndRoom', values: ['u1', 'a'] }, { name: 'byValue', values: [1] }]],
        [2, [{ name: 'byUserAndRoom', values: ['u10', 'a'] }, { name: 'byValue', values: ['1'] }]],
        [3, [{ name: 'byUserAndRoom', values: ['u1#x', 'b'] }, { name: 'byValue', values: [true] }]],
        [4, [{ name: 'byUserAndRoom', values: ['u1', 'a#b'] }, { name: 'byValue', values: ['true'] }]],
        [5, [{ name: 'byUserAndRoom', values: ['u1', 'a;'] }, { name: 'byValue', values: [null] }]],
        [6, [{ name: 'byUserAndRoom', values: ['', ''] }, { name: 'byValue', values: ['null'] }]],
        [7, [{ name: 'byUserAndRoom', values: ['日本', '👍'] }, { name: 'byValue', values: [''] }]],
        [8, [{ name: 'byUserAndRoom', values: ['é', '\\'] }, { name: 'byValue', values: [false] }]],
        [9, [{ name: 'byUserAndRoom', values: ['e\u0301', 'a'] }, { name: 'byValue', values: [10] }]],
        [10, [{ name: 'byUserAndRoom', values: ['x'.repeat(3000), 'a'] }, { name: 'byValue', values: ['y'.repeat(2000)] }]],
        [11, [{ name: 'byUserAndRoom', values: [`${'x'.repeat(3000)}z`, 'a'] }, { name: 'byValue', values: [`${'y'.repeat(2000)}z`] }]],
        ['s', [{ name: 'byUserAndRoom', values: ['u1', 'a'] }, { name: 'byValue', values: [-1.5] }]],
      ];
      const cases: [string, FilterEntry | undefined, RequestId[]][] = [
        ['no filter: every subscription once', undefined, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 's']],
        ['filter with no values: every subscription once', { name: 'byUserAndRoom', values: [] }, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 's']],
        ['exact', { name: 'byUserAndRoom', values: ['u1', 'a'] }, [1, 's']],
        ['prefix u1 (not u10, not u1#x)', { name: 'byUserAndRoom', values: ['u1'] }, [1, 4, 5, 's']],
        ['prefix u10', { name: 'byUserAndRoom', values: ['u10'] }, [2]],
        ['value containing #', { name: 'byUserAndRoom', values: ['u1#x'] }, [3]],
        ['# cannot forge a following value', { name: 'byUserAndRoom', values: ['u1', 'a#b'] }, [4]],
        ['terminator inside a value', { name: 'byUserAndRoom', values: ['u1', 'a;'] }, [5]],
        ['wrong value', { name: 'byUserAndRoom', values: ['u2'] }, []],
        ['wrong second value', { name: 'byUserAndRoom', values: ['u1', 'c'] }, []],
        ['empty strings', { name: 'byUserAndRoom', values: ['', ''] }, [6]],
        ['empty string prefix', { name: 'byUserAndRoom', values: [''] }, [6]],
        ['unicode', { name: 'byUserAndRoom', values: ['日本', '👍'] }, [7]],
        ['composed é is not decomposed é', { name: 'byUserAndRoom', values: ['é'] }, [8]],
        ['escape character', { name: 'byUserAndRoom', values: ['é', '\\'] }, [8]],
        ['value beyond key limits, exact', { name: 'byUserAndRoom', values: ['x'.repeat(3000), 'a'] }, [10]],
        ['value beyond key limits, prefix', { name: 'byUserAndRoom', values: [`${'x'.repeat(3000)}z`] }, [11]],
        ['number 1 is not string "1"', { name: 'byValue', values: [1] }, [1]],
        ['string "1" is not number 1', { name: 'byValue', values: ['1'] }, [2]],
        ['number 10 is not 1', { name: 'byValue', values: [10] }, [9]],
        ['true is not "true"', { name: 'byValue', values: [true] }, [3]],
        ['"true" is not true', { name: 'byValue', values: ['true'] }, [4]],
        ['null is not "null" nor ""', { name: 'byValue', values: [null] }, [5]],
        ['"null" is not null', { name: 'byValue', values: ['null'] }, [6]],
        ['"" is not null', { name: 'byValue', values: [''] }, [7]],
        ['false', { name: 'byValue', values: [false] }, [8]],
        ['fraction', { name: 'byValue', values: [-1.5] }, ['s']],
        ['long string beyond key limits', { name: 'byValue', values: ['y'.repeat(2000)] }, [10]],
        ['unknown filter name', { name: 'nope', values: ['u1'] }, []],
      ];

      test.each(cases)('%s', async (_title, filter, expected) => {
        const id = 'conn-match';
        await store.putConnection(connection(id));
        for (const [subscriptionId, filters] of subscribers) {
          expect(await store.addSubscription(subscription(id, subscriptionId, filters, path))).toBe('created');
        }
        const found = await findAll(store, { path, filter });
        expect(found).toEqual(expected.map((subscriptionId) => refId({ connectionId: id, subscriptionId })).sort());
        await expect(findAll(store, { path: 'matc', filter })).resolves.toEqual([]);
      });

      test('paths and filter names containing separators stay apart', async () => {
        const id = newConnectionId();
        await store.putConnection(connection(id));
        await store.addSubscription(subscription(id, 1, [{ name: 'c', values: ['v'] }], 'a#F#b'));
        await store.addSubscription(subscription(id, 2, [{ name: 'b#F#c', values: ['v'] }], 'a'));
        await expect(findAll(store, { path: 'a#F#b', filter: { name: 'c', values: ['v'] } })).resolves.toEqual([`${id}/1`]);
        await expect(findAll(store, { path: 'a', filter: { name: 'b#F#c', values: ['v'] } })).resolves.toEqual([`${id}/2`]);
        await expect(findAll(store, { path: 'a' })).resolves.toEqual([`${id}/2`]);
      });

      test('an unfiltered publish reaches each subscription once however many filters a path has', async () => {
        const ids = [newConnectionId(), newConnectionId()];
        const filters = ['f1', 'f2', 'f3', 'f4'].map((filterName) => ({ name: filterName, values: ['same'] }));
        for (const id of ids) {
          await store.putConnection(connection(id));
          for (const subscriptionId of [1, 2, 3]) await store.addSubscription(subscription(id, subscriptionId, filters, 'fan'));
        }
        const found = await findAll(store, { path: 'fan' });
        expect(found).toHaveLength(6);
        expect(new Set(found).size).toBe(6);
      });
    });

    describe('findSubscribers pagination', () => {
      test('returns every subscriber across pages, each once', async () => {
        const connections = Array.from({ length: 5 }, newConnectionId);
        for (const id of connections) {
          await store.putConnection(connection(id));
          await Promise.all(
            Array.from({ length: 30 }, (_, i) => store.addSubscription(subscription(id, i, [{ name: 'byRoom', values: ['a'] }], 'paged'))),
          );
        }
        for (const filter of [undefined, { name: 'byRoom', values: ['a'] }]) {
          const found = await findAll(store, { path: 'paged', filter });
          expect(found).toHaveLength(150);
          expect(new Set(found).size).toBe(150);
        }
      });
    });

    describe('connection keys and age buckets', () => {
      async function connectionsOfKey(key: string): Promise<string[]> {
        const found: string[] = [];
        for await (const page of store.findConnectionsByKey(key)) found.push(...page.map((ref) => ref.connectionId));
        return found.sort();
      }
      async function byAge(connectedFrom: number, connectedTo: number): Promise<string[]> {
        const found: string[] = [];
        for await (const page of store.findConnectionsByAge({ connectedFrom, connectedTo })) found.push(...page.map((ref) => ref.connectionId));
        return found;
      }

      test('a connection with a key is found and counted by it, and only by it', async () => {
        const key = `user-${randomUUID()}`;
        const [a, b, other, none] = [newConnectionId(), newConnectionId(), newConnectionId(), newConnectionId()];
        await store.putConnection(connection(a, { key }));
        await store.putConnection(connection(b, { key }));
        await store.putConnection(connection(other, { key: `${key}0` }));
        await store.putConnection(connection(none));
        await expect(connectionsOfKey(key)).resolves.toEqual([a, b].sort());
        await expect(store.countConnectionsByKey(key)).resolves.toBe(2);
        await expect(store.countConnectionsByKey(`${key}0`)).resolves.toBe(1);
        await expect(store.countConnectionsByKey(`nobody-${randomUUID()}`)).resolves.toBe(0);
        await expect(store.getConnection(a)).resolves.toMatchObject({ key });
        expect(await store.getConnection(none)).not.toHaveProperty('key');
      });

      test('removeConnection removes the key and age bucket rows', async () => {
        const key = `user-${randomUUID()}`;
        const id = newConnectionId();
        await store.putConnection(connection(id, { key }));
        await store.addSubscription(subscription(id, 1, [{ name: 'byRoom', values: ['a'] }]));
        await store.removeConnection(id);
        await expect(store.countConnectionsByKey(key)).resolves.toBe(0);
        await expect(connectionsOfKey(key)).resolves.toEqual([]);
        await expect(byAge(Date.now() - 60_000, Date.now())).resolves.not.toContain(id);
        await expectRows([]);
      });

      test('findConnection reads a connection\'s id, age, Region and key (nothing else); undefined when it has no row', async () => {
        const key = `user-${randomUUID()}`;
        const [keyed, plain] = [newConnectionId(), newConnectionId()];
        await store.putConnection(connection(keyed, { key, region: 'eu-west-1', connectedAt: 1_700_000_000_000, connectionParams: { token: 't' } }));
        await store.putConnection(connection(plain, { connectedAt: 1_700_000_000_001 }));
        await expect(store.findConnection(keyed)).resolves.toEqual({ connectionId: keyed, connectedAt: 1_700_000_000_000, region: 'eu-west-1', key });
        await expect(store.findConnection(plain)).resolves.toEqual({ connectionId: plain, connectedAt: 1_700_000_000_001 });
        await expect(store.findConnection(newConnectionId())).resolves.toBeUndefined();
        const foundByKey: unknown[] = [];
        for await (const page of store.findConnectionsByKey(key)) foundByKey.push(...page);
        expect(foundByKey).toEqual([{ connectionId: keyed, connectedAt: 1_700_000_000_000, region: 'eu-west-1', key }]);
        await store.removeConnection(keyed);
        await store.removeConnection(plain);
        await expect(store.findConnection(keyed)).resolves.toBeUndefined();
      });

      test('rows past their expireAt are not live: not found, not counted', async () => {
        const key = `user-${randomUUID()}`;
        const id = newConnectionId();
        await store.putConnection(connection(id, { key, expireAt: Math.floor(Date.now() / 1000) - 1 }));
        await expect(store.countConnectionsByKey(key)).resolves.toBe(0);
        await expect(connectionsOfKey(key)).resolves.toEqual([]);
      });

      test('setConnectionKey gives a key once, only to a connection that exists', async () => {
        const key = `user-${randomUUID()}`;
        const id = newConnectionId();
        const record = connection(id, { awaitingConnectionParams: true });
        await store.putConnection(record);
        await expect(store.countConnectionsByKey(key)).resolves.toBe(0);
        await expect(store.setConnectionKey(record, key)).resolves.toBe(true);
        await expect(store.setConnectionKey(record, `${key}-again`)).resolves.toBe(false);
        await expect(connectionsOfKey(key)).resolves.toEqual([id]);
        await expect(store.countConnectionsByKey(`${key}-again`)).resolves.toBe(0);
        await expect(store.getConnection(id)).resolves.toMatchObject({ key });
        await store.removeConnection(id);
        await expect(store.setConnectionKey(record, key)).resolves.toBe(false);
        await expect(store.countConnectionsByKey(key)).resolves.toBe(0);
        await expectRows([]);
      });

      test('findConnectionsByAge returns exactly the connections opened in the range, oldest minute first', async () => {
        // A fixed past hour, so that the test's connections are alone in their buckets.
        const base = Date.UTC(2020, 0, 1, 10, 0, 0) + Math.floor(Math.random() * 1e6) * 3_600_000;
        const at = (ms: number) => base + ms;
        const ids = {
          before: newConnectionId(),
          first: newConnectionId(),
          sameMinute: newConnectionId(),
          nextMinute: newConnectionId(),
          edge: newConnectionId(),
          after: newConnectionId(),
        };
        await store.putConnection(connection(ids.before, { connectedAt: at(9_999) }));
        await store.putConnection(connection(ids.first, { connectedAt: at(10_000) }));
        await store.putConnection(connection(ids.sameMinute, { connectedAt: at(50_000) }));
        await store.putConnection(connection(ids.nextMinute, { connectedAt: at(65_000) }));
        await store.putConnection(connection(ids.edge, { connectedAt: at(190_000) }));
        await store.putConnection(connection(ids.after, { connectedAt: at(190_001) }));
        const found = await byAge(at(10_000), at(190_000));
        expect(found.slice(0, 2).sort()).toEqual([ids.first, ids.sameMinute].sort());
        expect(found.slice(2)).toEqual([ids.nextMinute, ids.edge]);
        await expect(byAge(at(0), at(5_000))).resolves.toEqual([]);
      });

      test('finds every connection of a key across pages', async () => {
        const key = `user-${randomUUID()}`;
        const ids = Array.from({ length: 30 }, () => newConnectionId());
        for (const id of ids) await store.putConnection(connection(id, { key }));
        await expect(connectionsOfKey(key)).resolves.toEqual([...ids].sort());
        await expect(store.countConnectionsByKey(key)).resolves.toBe(30);
      });
    });

    describe('removals that report what they won (lifecycle hooks)', () => {
      const byRoom = [{ name: 'byRoom', values: ['a'] }];
      const end = () => {
        if (!store.endSubscription || !store.endConnection || !store.markEnding) throw new Error('the store does not report its removals');
        return {
          endSubscription: store.endSubscription.bind(store),
          endConnection: store.endConnection.bind(store),
          markEnding: store.markEnding.bind(store),
        };
      };

      test('endSubscription reports the subscription with its route and hook state once, and frees its slot', async () => {
        const id = newConnectionId();
        await store.putConnection(connection(id));
        await store.addSubscription({ ...subscription(id, 1, byRoom), hookState: '{"userId":"u1"}' }, { maxSubscriptions: 1 });

        const first = { connectionId: id, subscriptionId: 1, path: 'onMessage', hookState: '{"userId":"u1"}' };
        await expect(end().endSubscription(id, 1)).resolves.toEqual({ subscriptions: [first] });
        await expect(end().endSubscription(id, 1)).resolves.toEqual({ subscriptions: [] });
        // A stop before the start leaves its tombstone, as removeSubscription's.
        await expect(end().endSubscription(id, 2)).resolves.toEqual({ subscriptions: [] });
        await expect(store.addSubscription(subscription(id, 2, byRoom))).resolves.toBe('stopped');
        await expect(store.addSubscription(subscription(id, 3, byRoom), { maxSubscriptions: 1 })).resolves.toBe('created');
        await expect(findAll(store, { path: 'onMessage' })).resolves.toEqual([`${id}/3`]);
      });

      test('endConnection reports the connection row and each subscription, once across concurrent removals, and leaves no row', async () => {
        const id = newConnectionId();
        const connectedAt = Date.now();
        await store.putConnection(connection(id, { key: 'user:u1', connectedAt }));
        for (let subscriptionId = 0; subscriptionId < 6; subscriptionId++) {
          await store.addSubscription({ ...subscription(id, subscriptionId, byRoom), hookState: String(subscriptionId) });
        }
        const results = await Promise.all([
          end().endConnection(id),
          end().endConnection(id, { connectedAt, key: 'user:u1' }),
          end().endConnection(id),
          ...Array.from({ length: 6 }, (_, subscriptionId) => end().endSubscription(id, subscriptionId)),
        ]);

        const ended = results.flatMap((result) => result.subscriptions.map((sub) => sub.hookState)).sort();
        expect(ended).toEqual(['0', '1', '2', '3', '4', '5']);
        const connections = results.flatMap((result) => ('connection' in result && result.connection ? [result.connection] : []));
        expect(connections).toEqual([{ connectionId: id, connectedAt, key: 'user:u1', accepted: true }]);
        await expect(store.countConnectionsByKey('user:u1')).resolves.toBe(0);
        await expect(findAll(store, { path: 'onMessage' })).resolves.toEqual([]);
        await expectRows([]);
      });

      test('a connection refused or still awaiting its params is reported as not accepted', async () => {
        const refused = newConnectionId();
        const awaiting = newConnectionId();
        await store.putConnection(connection(refused, { refusal: '{"id":null}' }));
        await store.putConnection(connection(awaiting, { awaitingConnectionParams: true }));
        await expect(end().endConnection(refused)).resolves.toMatchObject({ connection: { accepted: false } });
        await expect(end().endConnection(awaiting)).resolves.toMatchObject({ connection: { accepted: false } });
        await expect(end().endConnection(awaiting)).resolves.toEqual({ subscriptions: [] });
      });

      test('subscribing while endConnection runs: every created subscription is reported exactly once', async () => {
        for (let round = 0; round < 3; round++) {
          const id = newConnectionId();
          await store.putConnection(connection(id));
          const adds = Array.from({ length: 10 }, (_, subscriptionId) => store.addSubscription(subscription(id, subscriptionId, byRoom)));
          const [added, ended] = await Promise.all([Promise.all(adds), end().endConnection(id)]);
          const created = added.flatMap((result, subscriptionId) => (result === 'created' ? [subscriptionId] : []));
          expect(ended.subscriptions.map((sub) => sub.subscriptionId).sort()).toEqual(created.sort());
          await expect(findAll(store, { path: 'onMessage' })).resolves.toEqual([]);
        }
        await expectRows([]);
      });

      test('markEnding is reported by the removals that follow; a connection that is gone is left alone', async () => {
        const moving = newConnectionId();
        const closing = newConnectionId();
        await store.putConnection(connection(moving));
        await store.putConnection(connection(closing));
        await store.addSubscription(subscription(moving, 1));
        await end().markEnding(moving, 'moving');
        await end().markEnding(closing, 'closing');
        await end().markEnding(newConnectionId(), 'closing');

        await expect(end().endSubscription(moving, 1)).resolves.toMatchObject({ ending: 'moving', subscriptions: [{ subscriptionId: 1 }] });
        await expect(end().endConnection(moving)).resolves.toMatchObject({ ending: 'moving', connection: { connectionId: moving } });
        await expect(end().endConnection(closing)).resolves.toMatchObject({ ending: 'closing', connection: { connectionId: closing } });
        // One subscription marked (a server-side stop, before its frame): only it reports the mark.
        const stopping = newConnectionId();
        await store.putConnection(connection(stopping));
        await store.addSubscription(subscription(stopping, 1));
        await store.addSubscription(subscription(stopping, 2));
        await end().markEnding(stopping, 'closing', 1);
        await end().markEnding(stopping, 'closing', 3);
        await expect(end().endSubscription(stopping, 1)).resolves.toEqual({ subscriptions: [expect.objectContaining({ subscriptionId: 1, ending: 'closing' })] });
        const rest = await end().endConnection(stopping);
        expect(rest.subscriptions).toEqual([expect.not.objectContaining({ ending: expect.anything() })]);
        await expect(store.addSubscription(subscription(stopping, 3))).resolves.toBe('connection-gone');
        await expectRows([]);
      });
    });
  });
}

function byKey(a: { pk: string; sk: string }, b: { pk: string; sk: string }): number {
  return a.pk === b.pk ? (a.sk < b.sk ? -1 : a.sk > b.sk ? 1 : 0) : a.pk < b.pk ? -1 : 1;
}
