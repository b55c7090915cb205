import superjson from 'superjson';
import { initSubscriptions, memory, PayloadTooLargeError, type MemoryStore } from '../../lambda';
import { appRouter, appSubscriptions, createContext } from '../fixtures/router';
import { connectEvent, messageEvent } from './support/events';
import { startFakeManagementApi, type FakeManagementApi } from './support/fake-management';
import { recordingLogger } from './support/harness';

/**
 * The publisher against subscriptions started through the real handlers (so filter values come
 * from the procedures' ctx and input), delivering to a real HTTP server that plays the
 * Management API, including faults (429, 410, 413, 500) a local gateway does not produce.
 */
let api: FakeManagementApi;
let store: MemoryStore;
const logger = recordingLogger();

beforeEach(async () => {
  api = await startFakeManagementApi();
  store = memory({ pageSize: 2 });
});
afterEach(async () => {
  await api.close();
});

/** Connects like the real client with connectionParams, then subscribes to onMessage. */
async function subscribe(connectionId: string, userId: string, room: string, id = 1): Promise<void> {
  const connect = appSubscriptions.connect({ store, logger });
  const handler = appSubscriptions.handler({ store, logger, endpoint: api.endpoint });
  expect(await connect(connectEvent(connectionId, { connectionParams: '1' }))).toEqual({ statusCode: 200 });
  expect(await handler(messageEvent(connectionId, { method: 'connectionParams', data: { userId } }))).toEqual({ statusCode: 200 });
  const started = await handler(messageEvent(connectionId, { id, method: 'subscription', params: { path: 'onMessage', input: superjson.serialize({ room }) } }));
  expect(started).toEqual({ statusCode: 200, body: JSON.stringify({ id, result: { type: 'started' } }) });
}

function publisher(options: Parameters<typeof appSubscriptions.publisher>[0] = {}) {
  return appSubscriptions.publisher({ endpoint: api.endpoint, store, logger, retry: { baseDelayMs: 1, maxDelayMs: 5 }, ...options });
}

const message = { text: 'hi', at: new Date('2024-01-01T00:00:00Z'), from: 'system' };

describe('filter matching (values from ctx and input, through the handlers)', () => {
  const subscribers: Array<[string, string, string]> = [
    ['c1', 'u1', 'a'], ['c2', 'u10', 'a'], ['c3', 'u1', 'a#b'], ['c4', 'u1#x', 'a'],
  ];
  beforeEach(async () => {
    for (const [connectionId, userId, room] of subscribers) await subscribe(connectionId, userId, room);
  });

  test.each([
    ['exact', { name: 'byUserAndRoom', ctx: { userId: 'u1' }, input: { room: 'a' } }, ['c1']],
    ['prefix (ctx only)', { name: 'byUserAndRoom', ctx: { userId: 'u1' } }, ['c1', 'c3']],
    ['prefix collision u1 vs u10', { name: 'byUserAndRoom', ctx: { userId: 'u10' } }, ['c2']],
    ['value containing #', { name: 'byUserAndRoom', ctx: { userId: 'u1#x' } }, ['c4']],
    ['input-only filter', { name: 'byRoom', input: { room: 'a' } }, ['c1', 'c2', 'c4']],
    ['# in an input value', { name: 'byRoom', input: { room: 'a#b' } }, ['c3']],
    ['wrong value', { name: 'byRoom', input: { room: 'zzz' } }, []],
    ['filter name only (empty prefix)', { name: 'byRoom' }, ['c1', 'c2', 'c3', 'c4']],
  ] as const)('%s', async (_name, filter, expected) => {
    const result = await publisher().routes.onMessage.publish({ data: message, filter: filter as any });
    expect(api.delivered()).toEqual(expected);
    expect(result).toEqual({ matched: expected.length, delivered: expected.length, gone: 0, failed: 0, failures: [] });
  });

  test('no filter reaches every subscriber exactly once (each has two filters)', async () => {
    const result = await publisher().routes.onMessage.publish({ data: message });
    expect(result.delivered).toBe(4);
    expect(api.received.map((r) => r.connectionId).sort()).toEqual(['c1', 'c2', 'c3', 'c4']);
  });

  test('frames carry the subscription id and superjson data', async () => {
    await publisher().routes.onMessage.publish({ data: message, filter: { name: 'byUserAndRoom', ctx: { userId: 'u1' }, input: { room: 'a' } } });
    const frame = JSON.parse(api.received[0].body);
    expect(frame.id).toBe(1);
    expect(frame.result.type).toBe('data');
    expect(superjson.deserialize(frame.result.data)).toEqual(message);
  });

  test('excludeConnectionId skips that connection', async () => {
    const result = await publisher().routes.onMessage.publish({ data: message, filter: { name: 'byRoom', input: { room: 'a' } }, excludeConnectionId: 'c2' });
    expect(api.delivered()).toEqual(['c1', 'c4']);
    expect(result.matched).toBe(2);
  });
});

describe('publish validation (runtime, before any query or send)', () => {
  const multi = initSubscriptions().router({ router: appRouter, createContext })
    .routes.onMessage.filter({ name: 'multi', ctx: { userId: true, connectionId: true }, input: { room: true } });

  test.each([
    [{ name: 'nope' }, /unknown filter "nope"; configured filters: "multi"/],
    [{ name: 'multi', ctx: { connectionId: 'c' } }, /leading prefix of \[userId, connectionId\]; missing userId/],
    [{ name: 'multi', ctx: { userId: 'u' }, input: { room: 'a' } }, /give every ctx field \(userId, connectionId\) before input fields/],
    [{ name: 'multi', input: { room: 'a' } }, /give every ctx field/],
    [{ name: 'multi', ctx: { nope: 'x' } }, /unknown ctx field\(s\) nope/],
    [{ name: 'multi', ctx: { userId: { nested: true } } }, /ctx.userId must be a string/],
    [{ name: 'multi', extra: 1 }, /unknown key\(s\) extra/],
  ])('%j is refused', async (filter, error) => {
    const p = multi.publisher({ endpoint: api.endpoint, store });
    await expect(p.routes.onMessage.publish({ data: message, filter: filter as any })).rejects.toThrow(error);
    expect(api.received).toEqual([]);
  });

  test('a path that is not a subscription is refused', async () => {
    await expect((publisher().routes as any).whoami.publish({ data: 1 })).rejects.toThrow(/no subscription procedure/);
  });

  test('payloads over 128 KB fail before sending with a clear error', async () => {
    await subscribe('c1', 'u1', 'a');
    const big = { ...message, text: 'x'.repeat(130 * 1024) };
    const failure = await publisher().routes.onMessage.publish({ data: big }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(PayloadTooLargeError);
    expect((failure as Error).message).toMatch(/API Gateway accepts at most 131072 bytes/);
    expect(api.received).toEqual([]);
  });

  test('filter declarations are validated', () => {
    const base = initSubscriptions().router({ router: appRouter, createContext });
    expect(() => (base.routes as any).whoami.filter({ name: 'x', ctx: { userId: true } })).toThrow(/no subscription procedure at "whoami"/);
    expect(() => base.routes.onMessage.filter({ name: 'x' } as any)).toThrow(/select at least one/);
    expect(() => base.routes.onMessage.filter({ name: 'x', input: { room: true } }).routes.onMessage.filter({ name: 'x', input: { room: true } } as any))
      .toThrow(/must be unique per route, got a second "x"/);
  });
});

describe('delivery faults', () => {
  beforeEach(async () => {
    for (const [connectionId, room] of [['c1', 'a'], ['c2', 'a'], ['c3', 'a']]) await subscribe(connectionId, 'u', room);
  });

  test('429 is retried with backoff until it succeeds', async () => {
    api.script('c1', [429, 429]);
    const result = await publisher().routes.onMessage.publish({ data: message });
    expect(result).toMatchObject({ matched: 3, delivered: 3, failed: 0 });
    expect(api.received.filter((r) => r.connectionId === 'c1')).toHaveLength(3);
  });

  test('429 forever gives up after maxAttempts and is reported, without aborting the fan-out', async () => {
    api.always('c1', 429);
    const result = await publisher({ retry: { maxAttempts: 3, baseDelayMs: 1 } }).routes.onMessage.publish({ data: message });
    expect(result).toMatchObject({ matched: 3, delivered: 2, gone: 0, failed: 1 });
    expect(result.failures).toEqual([expect.objectContaining({ connectionId: 'c1', subscriptionId: 1, statusCode: 429, attempts: 3 })]);
  });

  test('410 Gone removes every row of that connection and counts gone', async () => {
    api.always('c2', 410);
    const result = await publisher().routes.onMessage.publish({ data: message });
    expect(result).toMatchObject({ matched: 3, delivered: 2, gone: 1, failed: 0 });
    expect(await store.getConnection('c2')).toBeUndefined();
    expect(store.subscriptionsOf('c2')).toEqual([]);
    expect((await publisher().routes.onMessage.publish({ data: message })).matched).toBe(2);
  });

  test('413 (never retried) and 500 (retried to the last attempt) are failures with details; the others are delivered', async () => {
    api.always('c1', 413);
    api.always('c3', 500);
    const result = await publisher().routes.onMessage.publish({ data: message });
    expect(result).toMatchObject({ matched: 3, delivered: 1, failed: 2 });
    expect(result.failures.map((f) => [f.connectionId, f.statusCode, f.attempts]).sort()).toEqual([['c1', 413, 1], ['c3', 500, 5]]);
    expect(await store.getConnection('c1')).toBeDefined();
  });
});

test('fan-out concurrency is bounded', async () => {
  await api.close();
  api = await startFakeManagementApi({ delayMs: 20 });
  for (let i = 0; i < 12; i++) await subscribe(`c${i}`, 'u', 'a');
  const result = await publisher({ concurrency: 3 }).routes.onMessage.publish({ data: message });
  expect(result.delivered).toBe(12);
  expect(api.maxInFlight()).toBe(3);
});
