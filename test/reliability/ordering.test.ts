import superjson from 'superjson';
import { dynamodb, type SubscriptionStore } from '../../lambda';
import { quietLogger } from './support/env';
import { parseServerFrame } from './support/frames';
import { silentLogger, startLocalGateway, type LocalGateway } from '../../lambda/local';
import { appSubscriptions, type ChatMessage } from '../fixtures/router';
import { connectClient, rawSocket, waitFor } from '../lambda/support/harness';
import { inconsistentRows, scanRows, subscriptionsIn } from '../support/dynamodb';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { seeded } from '../support/seeded';

/**
 * Out-of-order and concurrent handling (the local gateway's `unordered` mode: a connection's
 * messages run concurrently after random delays) over the DynamoDB store on DynamoDB Local. After
 * every scenario the table is scanned: no orphan rows, no partial subscriptions, no lost `started`.
 */
let table: TestTable;
let store: SubscriptionStore;
let gateway: LocalGateway;
const closers: Array<() => void> = [];
const SEEDS = [1, 2, 3];

beforeAll(async () => {
  table = await createTestTable('ordering');
  store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
});
afterAll(() => table.client.destroy());
afterEach(async () => {
  closers.splice(0).forEach((close) => close());
  await gateway?.close();
  // Every scenario ends with its connections closed: nothing may be left.
  expect(await scanRows(table.client, table.tableName)).toEqual([]);
});

async function start(seed: number, maxDelayMs = 30): Promise<void> {
  const logger = quietLogger();
  gateway = await startLocalGateway({
    handlers: {
      connect: appSubscriptions.connect({ store, logger }),
      handler: appSubscriptions.handler({ store, logger }),
      disconnect: appSubscriptions.disconnect({ store, logger }),
    },
    unordered: { maxDelayMs, random: seeded(seed) },
    logger: silentLogger,
  });
}

const subscribe = (id: number, room: string) =>
  JSON.stringify({ id, method: 'subscription', params: { path: 'onMessage', input: superjson.serialize({ room }) } });

test.each(SEEDS)('connectionParams racing the first requests (seed %i): every client gets started and its own ctx', async (seed) => {
  await start(seed);
  const users = Array.from({ length: 8 }, (_, i) => `user-${i}`);
  const inboxes = new Map<string, string[]>();
  await Promise.all(users.map(async (userId) => {
    const { client, close } = connectClient(gateway.url, { userId });
    closers.push(close);
    const inbox: string[] = [];
    inboxes.set(userId, inbox);
    const [whoami] = await Promise.all([
      client.whoami.query(),
      new Promise<void>((resolve, reject) => {
        client.onMessage.subscribe({ room: 'race' }, { onStarted: () => resolve(), onError: reject, onData: (m: ChatMessage) => inbox.push(m.text) });
      }),
    ]);
    expect(whoami).toBe(userId);
  }));
  const rows = await scanRows(table.client, table.tableName);
  expect(inconsistentRows(rows)).toEqual([]);
  const publisher = appSubscriptions.publisher({ endpoint: gateway.endpoint, store });
  for (const userId of users) {
    const result = await publisher.routes.onMessage.publish({
      data: { text: userId, at: new Date(0), from: 's' }, filter: { name: 'byUserAndRoom', ctx: { userId }, input: { room: 'race' } },
    });
    expect(result).toMatchObject({ matched: 1, delivered: 1 });
  }
  await waitFor(() => [...inboxes.values()].every((inbox) => inbox.length === 1));
  for (const [userId, inbox] of inboxes) expect(inbox).toEqual([userId]);
});

test.each(SEEDS)('stop racing its subscribe (seed %i): stopped ones leave no subscription, the others all start', async (seed) => {
  await start(seed);
  const socket = await rawSocket(gateway.url);
  closers.push(() => socket.socket.close());
  const [connectionId] = gateway.connections();
  const raced = Array.from({ length: 12 }, (_, i) => i + 1);
  const kept = Array.from({ length: 6 }, (_, i) => i + 101);
  for (const id of raced) {
    socket.socket.send(subscribe(id, 'stop-race'));
    socket.socket.send(JSON.stringify({ id, method: 'subscription.stop' }));
  }
  for (const id of kept) socket.socket.send(subscribe(id, 'stop-race'));
  const startedIds = () => socket.frames.map((frame) => parseServerFrame(frame, false)).filter((f) => f.kind === 'result' && f.type === 'started').map((f) => f.id);
  await waitFor(() => kept.every((id) => startedIds().includes(id)), 10_000, 'kept subscriptions started');
  // Let every delayed invocation finish (delays are at most 30 ms).
  await new Promise((resolve) => setTimeout(resolve, 400));

  const frames = socket.frames.map((frame) => parseServerFrame(frame, false));
  for (const id of raced) {
    const types = frames.filter((frame) => frame.id === id).map((frame) => (frame.kind === 'result' ? frame.type : 'error')).sort();
    // Either the subscribe was stored and then stopped, or the stop came first and nothing was stored.
    expect([[], ['started', 'stopped']]).toContainEqual(types);
  }
  const rows = await scanRows(table.client, table.tableName);
  expect(subscriptionsIn(rows, connectionId).map((s) => s.subscriptionId).sort((a, b) => Number(a) - Number(b))).toEqual(kept);
  expect(inconsistentRows(rows)).toEqual([]);
});

test.each(SEEDS)('disconnect during subscribe (seed %i): no row of the connection survives', async (seed) => {
  await start(seed, 40);
  for (let round = 0; round < 3; round++) {
    const socket = await rawSocket(gateway.url);
    socket.socket.send(JSON.stringify(Array.from({ length: 5 }, (_, i) => JSON.parse(subscribe(i + 1, 'gone')))));
    for (let id = 6; id <= 10; id++) socket.socket.send(subscribe(id, 'gone'));
    socket.socket.send(JSON.stringify({ id: 3, method: 'subscription.stop' }));
    socket.socket.close();
  }
  // close() waits for every invocation; the afterEach scan then requires an empty table.
  await gateway.close();
  expect(inconsistentRows(await scanRows(table.client, table.tableName))).toEqual([]);
});
