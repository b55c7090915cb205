import { dynamodb, memory, type SubscriptionStore } from '../../../lambda';
import { eventMatches, firstSequence, formatEventId, historyEventKey, isEventId, nextEventId, parseEventId } from '../../../lambda/store/history';
import { createTestTable, scanRows, type TestTable } from '../../support/dynamodb';

/** The history half of the store contract, on memory() and on DynamoDB Local. */
let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('history-store');
});
afterAll(() => table.client.destroy());

let route = 0;
const freshPath = () => `route${++route}.${Date.now()}`;
const expireAt = () => Math.floor(Date.now() / 1000) + 600;

async function readAll(store: SubscriptionStore, path: string, from: string) {
  const events = [];
  for await (const page of store.readEvents!(path, from)) events.push(...page);
  return events;
}

describe.each<[string, () => SubscriptionStore]>([
  ['memory', () => memory({ pageSize: 2 })],
  ['dynamodb', () => dynamodb({ tableName: table.tableName, dynamoDBClient: table.client, pageSize: 2 })],
])('%s', (_name, makeStore) => {
  test('appendEvent gives dense ids; readEvents streams from an id inclusive, in order, with filters and payloads', async () => {
    const store = makeStore();
    const path = freshPath();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(await store.appendEvent!({
        path,
        expireAt: expireAt(),
        encode: (id) => `{"n":${i},"id":"${id}"}`,
        ...(i % 2 === 0 ? { filter: { name: 'byRoom', values: ['r', i] } } : {}),
      }));
    }
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBe(nextEventId(ids[i - 1]));
    const events = await readAll(store, path, ids[1]);
    expect(events.map((event) => event.eventId)).toEqual(ids.slice(1));
    expect(events[1]).toEqual({ eventId: ids[2], filter: { name: 'byRoom', values: ['r', 2] }, result: `{"n":2,"id":"${ids[2]}"}`, expireAt: expect.any(Number) });
    expect(events[0]).not.toHaveProperty('filter');
    expect(await readAll(store, path, nextEventId(ids[4]))).toEqual([]);
  });

  test('readLastEvent gives the last event\'s id and expiry, undefined for an empty history; a read from an id above 2^53 finds nothing', async () => {
    const store = makeStore();
    const path = freshPath();
    await expect(store.readLastEvent!(path)).resolves.toBeUndefined();
    await store.appendEvent!({ path, expireAt: 1_900_000_000, encode: () => '{}' });
    const last = await store.appendEvent!({ path, expireAt: 1_900_000_001, encode: () => '{}' });
    await expect(store.readLastEvent!(path)).resolves.toEqual({ eventId: last, expireAt: 1_900_000_001 });
    expect(await readAll(store, path, '9007199254740993')).toEqual([]);
  });

  test('concurrent appends to one route get distinct, dense ids', async () => {
    // Three publishers: three dynamodb() instances on one table; memory() keeps its state per instance.
    const one = makeStore();
    const stores = _name === 'memory' ? [one, one, one] : [one, makeStore(), makeStore()];
    const path = freshPath();
    await stores[0].appendEvent!({ path, expireAt: expireAt(), encode: () => '{}' });
    const ids = await Promise.all(Array.from({ length: 12 }, (_, i) =>
      stores[i % 3].appendEvent!({ path, expireAt: expireAt(), encode: (id) => `"${id}"` })));
    const sorted = [...ids].sort();
    expect(new Set(ids).size).toBe(12);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]).toBe(nextEventId(sorted[i - 1]));
    // Each stored payload was encoded with the id it got.
    const events = await readAll(stores[1], path, sorted[0]);
    expect(events.map((event) => event.result)).toEqual(sorted.map((id) => `"${id}"`));
  });

  test('a fenced addSubscription is refused with history-moved once an event follows the fence, and writes nothing; else it is live after the fence', async () => {
    const store = makeStore();
    const path = freshPath();
    const connectionId = `conn-${path}`;
    await store.putConnection({ connectionId, connectedAt: Date.now(), expireAt: expireAt(), awaitingConnectionParams: false, connect: {} });
    const first = await store.appendEvent!({ path, expireAt: expireAt(), encode: () => '{}' });
    const second = await store.appendEvent!({ path, expireAt: expireAt(), encode: () => '{}' });
    const record = { connectionId, subscriptionId: 1, path, filters: [], expireAt: expireAt() };
    expect(await store.addSubscription(record, { historyFence: { path, afterEventId: first } })).toBe('history-moved');
    const found = async () => {
      const refs = [];
      for await (const page of store.findSubscribers({ path })) refs.push(...page);
      return refs;
    };
    expect(await found()).toEqual([]);
    expect(await store.addSubscription(record, { historyFence: { path, afterEventId: second } })).toBe('created');
    expect(await found()).toEqual([{ connectionId, subscriptionId: 1, liveAfter: second }]);
    await expect(store.addSubscription({ ...record, subscriptionId: 2 }, { historyFence: { path, afterEventId: 'x' } })).rejects.toThrow(RangeError);
    await store.removeConnection(connectionId);
  });
});

test('history rows: HIST#{path} / E#{id}, with the filter, the encoded result and expireAt', async () => {
  const store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
  const path = freshPath();
  const id = await store.appendEvent!({ path, filter: { name: 'byRoom', values: ['a'] }, expireAt: 1_900_000_000, encode: (eventId) => `{"id":"${eventId}"}` });
  const rows = (await scanRows(table.client, table.tableName)).filter((row) => row.pk === historyEventKey(path, id).pk);
  expect(rows).toEqual([{ ...historyEventKey(path, id), filter: { name: 'byRoom', values: ['a'] }, result: `{"id":"${id}"}`, expireAt: 1_900_000_000 }]);
  expect(rows[0].pk).toBe(`HIST#${path}`);
  expect(rows[0].sk).toBe(`E#${id}`);
});

test('event ids, the first sequence and the matching rule', () => {
  expect(formatEventId(42)).toBe('0000000000000042');
  expect(parseEventId('0000000000000042')).toBe(42);
  for (const bad of ['42', 'e1', '00000000000000042', 42, null, '000000000000004x']) {
    expect(parseEventId(bad)).toBeUndefined();
    expect(isEventId(bad)).toBe(false);
  }
  // Well-formed above 2^53: an id, never a sequence number; the next id is exact.
  expect([isEventId('9007199254740993'), parseEventId('9007199254740993')]).toEqual([true, undefined]);
  expect(nextEventId('9007199254740992')).toBe('9007199254740993');
  expect(nextEventId('0000000000000042')).toBe('0000000000000043');
  expect(() => nextEventId('9999999999999999')).toThrow('No event id follows 9999999999999999');
  expect(firstSequence(1_764_000_000_123)).toBe(1_764_000_000_000);
  const filters = [{ name: 'byRoom', values: ['a', 1] }, { name: 'byUser', values: ['u1'] }];
  expect(eventMatches(filters, undefined)).toBe(true);
  expect(eventMatches(filters, { name: 'byRoom', values: [] })).toBe(true);
  expect(eventMatches(filters, { name: 'byRoom', values: ['a'] })).toBe(true);
  expect(eventMatches(filters, { name: 'byRoom', values: ['a', 1] })).toBe(true);
  expect(eventMatches(filters, { name: 'byRoom', values: ['a', '1'] })).toBe(false);
  expect(eventMatches(filters, { name: 'byRoom', values: ['a', 1, 2] })).toBe(false);
  expect(eventMatches(filters, { name: 'byUser', values: ['u10'] })).toBe(false);
  expect(eventMatches(filters, { name: 'other', values: [] })).toBe(false);
});
