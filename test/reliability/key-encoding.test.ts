import { initTRPC } from '@trpc/server';
import fc from 'fast-check';
import superjson from 'superjson';
import { z } from 'zod';
import { dynamodb, initSubscriptions, memory, type SubscriptionStore } from '../../lambda';
import { fcParams, quietLogger } from './support/env';
import { connectEvent, disconnectEvent, messageEvent } from '../lambda/support/events';
import { startFakeManagementApi, type FakeManagementApi } from '../lambda/support/fake-management';
import { inconsistentRows, scanRows } from '../support/dynamodb';
import { createTestTable, type TestTable } from '../support/dynamodb';

/**
 * Filter values chosen to attack the key encoding (separators, escapes, type tags, prefixes,
 * unicode and lone surrogates, empty strings, values around and far beyond the inline and key
 * size limits), through the real handlers (ctx from connectionParams, input through superjson and
 * zod) and the real publisher: a publish reaches exactly the subscribers whose leading values are
 * equal to the published ones, never one whose values differ.
 */
const subscriptions = initSubscriptions();
const t = initTRPC.context<{ tenant: string }>().create({ transformer: superjson });
const scalarSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const router = t.router({
  onEvent: t.procedure.input(z.object({ a: scalarSchema, b: scalarSchema })).subscription(subscriptions.resolver<string>()),
});
const app = subscriptions
  .router({ router, createContext: ({ connectionParams }) => ({ tenant: connectionParams?.tenant ?? '' }) })
  .routes.onEvent.filter({ name: 'f', ctx: { tenant: true }, input: { a: true, b: true } });

type Scalar = string | number | boolean | null;

/** Strings that attack an encoding of `#` separators, `\` escapes, `;` terminators and type tags. */
const hostileString = fc.oneof(
  fc.constantFrom(
    '', '#', ';', '\\', '\\#', '\\;', '\\\\', 'a#', 'a;', 'a\\', '#a', 'u1', 'u10', 'u1#', 'u1;', 'u1;s', 's', 'n1;', 'z;', 't;', 'h',
    '\\h', '\\u', '\\uD800', 'C#x#S#n1;', 'ALL', 'F#f', 'ü', 'u\u0308', '\u0000', '\ud800', '\udc00', '\ud83d\ude00', '𝒳', ' ', 'null', 'true', '1',
  ),
  // Around the 64-byte inline limit (then a digest) and beyond DynamoDB's 1024-byte sort key.
  fc.constantFrom(63, 64, 65, 200, 1100, 5000).chain((length) => fc.constantFrom('x', '#', 'ü', '\\').map((char) => char.repeat(length))),
  fc.string({ unit: 'binary', maxLength: 8 }),
);
/** Field values: hostile strings, and numbers/booleans/null that collide with strings when typed carelessly. */
const hostileValue: fc.Arbitrary<Scalar> = fc.oneof(
  { weight: 5, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.constantFrom(0, -0, 1, 10, 1.5, -1, 1e21, 2 ** 53 + 2, true, false, null) },
);

interface Subscriber {
  readonly tenant: string;
  readonly a: Scalar;
  readonly b: Scalar;
}

/** The tenant travels in connectionParams, which the handler caps at 4096 bytes of JSON. */
const tenant = hostileString.filter((value) => Buffer.byteLength(JSON.stringify({ tenant: value })) <= 4096);
const subscriber: fc.Arbitrary<Subscriber> = fc.record({ tenant, a: hostileValue, b: hostileValue });

/** A publish: the values of one subscriber (full or a prefix), or hostile values. */
const scenario = fc.array(subscriber, { minLength: 2, maxLength: 6 }).chain((subs) => fc.record({
  subscribers: fc.constant(subs),
  length: fc.integer({ min: 0, max: 3 }),
  values: fc.oneof(
    fc.integer({ min: 0, max: subs.length - 1 }).map((i) => [subs[i].tenant, subs[i].a, subs[i].b] as Scalar[]),
    fc.tuple(tenant, hostileValue, hostileValue).map((values) => values as Scalar[]),
  ),
}));

let api: FakeManagementApi;
let table: TestTable;
let counter = 0;

beforeAll(async () => {
  api = await startFakeManagementApi();
  table = await createTestTable('keys');
});
afterAll(async () => {
  await api.close();
  table.client.destroy();
});

async function run(store: SubscriptionStore, { subscribers, length, values }: { subscribers: Subscriber[]; length: number; values: Scalar[] }) {
  const logger = quietLogger();
  const connect = app.connect({ store, logger });
  const handler = app.handler({ store, logger, endpoint: api.endpoint });
  const disconnect = app.disconnect({ store, logger });
  const ids = subscribers.map(() => `keys-${++counter}`);
  for (const [i, sub] of subscribers.entries()) {
    await connect(connectEvent(ids[i], { connectionParams: '1' }));
    await handler(messageEvent(ids[i], { method: 'connectionParams', data: { tenant: sub.tenant } }));
    const started = await handler(messageEvent(ids[i], { id: 1, method: 'subscription', params: { path: 'onEvent', input: superjson.serialize({ a: sub.a, b: sub.b }) } }));
    expect(started.body).toBe('{"id":1,"result":{"type":"started"}}');
  }
  const prefix = values.slice(0, length);
  const ctx = { tenant: prefix[0] as string };
  const filter = length === 0 ? { name: 'f' as const }
    : length === 1 ? { name: 'f' as const, ctx }
      : { name: 'f' as const, ctx, input: length === 2 ? { a: prefix[1] } : { a: prefix[1], b: prefix[2] } };
  const before = api.received.length;
  const result = await app.publisher({ endpoint: api.endpoint, store, logger }).routes.onEvent.publish({ data: 'x', filter });
  const delivered = api.received.slice(before).map((request) => request.connectionId).sort();
  // The oracle: equal leading values (=== : 1 !== '1', -0 === 0), computed without the library.
  const expected = ids.filter((_, i) => {
    const own = [subscribers[i].tenant, subscribers[i].a, subscribers[i].b];
    return prefix.every((wanted, index) => own[index] === wanted);
  }).sort();
  expect(delivered).toEqual(expected);
  expect(result).toMatchObject({ matched: expected.length, delivered: expected.length, failed: 0 });
  for (const id of ids) await disconnect(disconnectEvent(id));
}

test('memory(): a publish never reaches a subscriber whose values differ', async () => {
  await fc.assert(fc.asyncProperty(scenario, async (s) => run(memory(), s)), fcParams(150));
});

test('dynamodb() on DynamoDB Local: a publish never reaches a subscriber whose values differ, and cleanup leaves no row', async () => {
  const store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
  await fc.assert(fc.asyncProperty(scenario, async (s) => {
    await run(store, s);
    const rows = await scanRows(table.client, table.tableName);
    expect(inconsistentRows(rows)).toEqual([]);
    expect(rows).toEqual([]);
  }), fcParams(60));
});
