import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import superjson from 'superjson';
import { WebSocket } from 'ws';
import { dynamodb, dynamodbLedger, type QueueEvent, type SubscriptionStore } from '../../../lambda';
import { silentLogger, startLocalGateway, type LocalGateway, type LocalQueue } from '../../../lambda/local';
import { frameWithResult } from '../../../lambda/protocol/encode';
import { historySubscriptions, type HistoryRouter } from '../../fixtures/history-router';
import { quietLogger } from '../../reliability/support/env';
import { createTestTable, type TestTable } from '../../support/dynamodb';
import { waitFor } from '../support/harness';
import { addVirtualSubscribers, framesOf, startWorkerQueue, type WorkerQueue } from '../support/queue-harness';

/**
 * Queued publishes on a route with a history (`.history()`): `enqueue()` appends the event (the
 * history gives it its id) before queueing, the worker delivers frames carrying that id exactly as
 * `publish()` sends them, and skips subscriptions that resumed after it, so a client resuming
 * from an earlier id gets every event exactly once. EventBridge events mapped to such a route are
 * appended by the worker. Real @trpc/client clients and virtual connections, through the local
 * gateway and queue, on DynamoDB Local.
 */
let table: TestTable;
let store: SubscriptionStore;
let gateway: LocalGateway;
let workerQueue: WorkerQueue;
let queue: LocalQueue;
/** Resolves when the worker may run (a test holds the queue's invocations behind it). */
let released: Promise<void>;
/** When set, the first worker invocation it picks fails after handling its messages (a crash). */
let crashOnce: ((event: QueueEvent) => boolean) | undefined;
const logger = quietLogger();
const closers: Array<() => Promise<void>> = [];
const app = () => historySubscriptions(600).store({ store });

beforeAll(async () => {
  table = await createTestTable('queued-history');
});
afterAll(() => table.client.destroy());
beforeEach(async () => {
  logger.entries.length = 0;
  released = Promise.resolve();
  crashOnce = undefined;
  store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
  const handlers = app();
  gateway = await startLocalGateway({
    handlers: { connect: handlers.connect({ logger }), handler: handlers.handler({ logger }), disconnect: handlers.disconnect({ logger }) },
    logger: silentLogger,
  });
  workerQueue = await startWorkerQueue(({ url, sqsClient }) => app().worker({
    ledger: dynamodbLedger({ tableName: table.tableName, dynamoDBClient: table.client }),
    logger,
    sqsClient,
    queueUrl: url,
    endpoint: gateway.endpoint,
    deliveryBatchSize: 3,
    leaseMs: 250,
    events: (event, routes) => (event['detail-type'] === 'RoomEvent'
      ? routes.onEvent.publish({ data: event.detail as { n: number; room: string }, filter: { name: 'byRoom', input: { room: (event.detail as { room: string }).room } } })
      : undefined),
  }), {
    around: async (event, run) => {
      await released;
      const response = await run();
      if (crashOnce?.(event)) {
        crashOnce = undefined;
        throw new Error('injected crash after handling');
      }
      return response;
    },
  });
  queue = workerQueue.queue;
});
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
  await workerQueue.close();
  await gateway.close();
});

let rooms = 0;
const freshRoom = () => `queued-${process.pid}-${++rooms}-${Date.now()}`;

function publisher() {
  return app().publisher({ endpoint: gateway.endpoint, queueUrl: queue.url, sqsClient: workerQueue.sqsClient });
}

/** A stock tracked client of `room` resuming from `lastEventId`: the numbers and event ids it received. */
async function trackedClient(room: string, lastEventId: string): Promise<{ readonly ns: number[]; readonly ids: string[] }> {
  const wsClient = createWSClient({ url: gateway.url, WebSocket: WebSocket as never, retryDelayMs: () => 10 });
  const client = createTRPCClient<HistoryRouter>({ links: [wsLink({ client: wsClient, transformer: superjson })] });
  const received = { ns: [] as number[], ids: [] as string[] };
  const errors: unknown[] = [];
  await new Promise<void>((resolve) => {
    const subscription = client.onEvent.subscribe({ room, lastEventId }, {
      onStarted: () => resolve(),
      onData: (event) => {
        received.ns.push(event.data.n);
        received.ids.push(event.id);
      },
      onError: (error) => void errors.push(error),
    });
    closers.push(async () => {
      subscription.unsubscribe();
      await wsClient.close();
      expect(errors).toEqual([]);
    });
  });
  return received;
}

test('a queued publish on a history route is appended when enqueued and reaches every subscriber with its event id, framed as publish() frames it', async () => {
  const room = freshRoom();
  const start = (await publisher().routes.onEvent.publish({ data: { n: -1, room }, filter: { name: 'byRoom', input: { room } } })).eventId!;
  const client = await trackedClient(room, start);
  const virtual = await addVirtualSubscribers(gateway, store, 7, {
    path: 'onEvent', filters: [{ name: 'byRoom', values: [room] }], jsonrpc: (index) => index === 0,
  });
  let release!: () => void;
  released = new Promise((resolve) => (release = resolve));

  const queued = await publisher().routes.onEvent.enqueue({ data: { n: 0, room }, filter: { name: 'byRoom', input: { room } } });

  // In the history before the worker ran, at the next id after the last publish().
  expect(queued.eventId).toMatch(/^\d{16}$/);
  expect(BigInt(queued.eventId!)).toBe(BigInt(start) + 1n);
  const history = [];
  for await (const page of store.readEvents!('onEvent', queued.eventId!)) history.push(...page);
  expect(history.map((event) => event.eventId)).toEqual([queued.eventId]);
  expect(framesOf(gateway, virtual[1])).toEqual([]);
  release();
  await queue.drained();
  await waitFor(() => client.ns.length === 1, 5000, 'the tracked client got the event');
  expect(client).toEqual({ ns: [0], ids: [queued.eventId] });
  // Each virtual subscriber: exactly the frame publish() would send for the event the history holds.
  for (const [index, id] of virtual.entries()) {
    expect(gateway.virtualConnections.received(id)).toEqual([frameWithResult(1, history[0].result, index === 0 ? '2.0' : undefined)]);
  }
  // 8 targets in batches of 3: delivery messages went through the queue, carrying the event id.
  expect(queue.stats().sent).toBe(3);
  expect(logger.entries.filter((entry) => entry.level === 'error')).toEqual([]);
});

test('clients resuming from an earlier id, before, while and after events are queued, get every event exactly once', async () => {
  const room = freshRoom();
  const publish = publisher();
  const enqueue = async (n: number) => (await publish.routes.onEvent.enqueue({ data: { n, room }, filter: { name: 'byRoom', input: { room } } })).eventId!;
  const start = (await publish.routes.onEvent.publish({ data: { n: -1, room }, filter: { name: 'byRoom', input: { room } } })).eventId!;
  const early = await trackedClient(room, start);
  // The worker is held: events 0 to 2 are in the history, not delivered yet.
  let release!: () => void;
  released = new Promise((resolve) => (release = resolve));
  const ids = [await enqueue(0), await enqueue(1), await enqueue(2)];
  // This client's replay sends 0 to 2; it goes live after 2, so the worker must skip it for them.
  const resumedWhileQueued = await trackedClient(room, start);
  const resumedFromMiddle = await trackedClient(room, ids[0]);
  release();
  await queue.drained();
  ids.push(await enqueue(3));
  await queue.drained();
  const late = await trackedClient(room, ids[1]);
  ids.push(await enqueue(4));
  await queue.drained();

  await waitFor(() => early.ns.length === 5 && resumedWhileQueued.ns.length === 5 && resumedFromMiddle.ns.length === 4 && late.ns.length === 3, 5000,
    'every event on every client');
  // A duplicate would show in this window.
  await new Promise((resolve) => setTimeout(resolve, 200));
  // Queued deliveries of separate publishes may overtake each other; replays come in order.
  const byN = (client: { readonly ns: number[]; readonly ids: string[] }) => client.ns.map((n, index) => [n, client.ids[index]] as const)
    .sort(([a], [b]) => a - b);
  const expected = (from: number) => [0, 1, 2, 3, 4].slice(from).map((n) => [n, ids[n]] as const);
  expect(byN(early)).toEqual(expected(0));
  expect(byN(resumedWhileQueued)).toEqual(expected(0));
  expect(resumedWhileQueued.ns.slice(0, 3)).toEqual([0, 1, 2]);
  expect(byN(resumedFromMiddle)).toEqual(expected(1));
  expect(byN(late)).toEqual(expected(2));
  expect(queue.deadLetters()).toEqual([]);
});

test('an EventBridge event mapped to a history route is appended by the worker and delivered with its id', async () => {
  const room = freshRoom();
  const start = (await publisher().routes.onEvent.publish({ data: { n: -1, room }, filter: { name: 'byRoom', input: { room } } })).eventId!;
  const live = await trackedClient(room, start);

  queue.send(JSON.stringify({ 'version': '0', 'id': 'e1', 'detail-type': 'RoomEvent', 'source': 'app', 'detail': { n: 7, room } }));
  await queue.drained();

  await waitFor(() => live.ns.length === 1, 5000, 'the mapped event');
  const eventId = String(BigInt(start) + 1n).padStart(16, '0');
  expect(live).toEqual({ ns: [7], ids: [eventId] });
  // A client resuming from before it finds it in the history.
  const resumed = await trackedClient(room, start);
  await waitFor(() => resumed.ns.length === 1, 5000, 'the replayed event');
  expect(resumed).toEqual({ ns: [7], ids: [eventId] });
});

test('an EventBridge event whose worker crashed after appending is appended once: the retry delivers the same event, nothing twice', async () => {
  const room = freshRoom();
  const start = (await publisher().routes.onEvent.publish({ data: { n: -1, room }, filter: { name: 'byRoom', input: { room } } })).eventId!;
  const live = await trackedClient(room, start);
  crashOnce = (event) => event.Records.some((record) => record.body.includes('RoomEvent'));

  queue.send(JSON.stringify({ 'version': '0', 'id': 'e2', 'detail-type': 'RoomEvent', 'source': 'app', 'detail': { n: 8, room } }));
  await queue.drained();

  // SQS handed the event out again after the crash.
  expect(crashOnce).toBeUndefined();
  expect(queue.stats().received).toBe(2);
  const eventId = String(BigInt(start) + 1n).padStart(16, '0');
  const history = [];
  for await (const page of store.readEvents!('onEvent', start)) history.push(...page);
  expect(history.map((event) => event.eventId)).toEqual([start, eventId]);
  await waitFor(() => live.ns.length === 1, 5000, 'the mapped event');
  const resumed = await trackedClient(room, start);
  await waitFor(() => resumed.ns.length === 1, 5000, 'the replayed event');
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(live).toEqual({ ns: [8], ids: [eventId] });
  expect(resumed).toEqual({ ns: [8], ids: [eventId] });
});

test('a copy of an EventBridge event (same id, another SQS message) is neither appended nor delivered again', async () => {
  const room = freshRoom();
  const start = (await publisher().routes.onEvent.publish({ data: { n: -1, room }, filter: { name: 'byRoom', input: { room } } })).eventId!;
  const live = await trackedClient(room, start);
  const event = JSON.stringify({ 'version': '0', 'id': 'a1b2c3d4-copy', 'detail-type': 'RoomEvent', 'source': 'app', 'detail': { n: 9, room } });

  queue.send(event);
  await queue.drained();
  queue.send(event);
  await queue.drained();

  const eventId = String(BigInt(start) + 1n).padStart(16, '0');
  const history = [];
  for await (const page of store.readEvents!('onEvent', start)) history.push(...page);
  expect(history.map((row) => row.eventId)).toEqual([start, eventId]);
  await waitFor(() => live.ns.length === 1, 5000, 'the mapped event');
  // A duplicate would show in this window.
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(live).toEqual({ ns: [9], ids: [eventId] });
  expect(queue.deadLetters()).toEqual([]);
  expect(logger.entries.filter((entry) => entry.level === 'error')).toEqual([]);
});

test('enqueue on a history route refuses an `id` (the history assigns it) before appending or sending', async () => {
  const room = freshRoom();
  const start = (await publisher().routes.onEvent.publish({ data: { n: -1, room }, filter: { name: 'byRoom', input: { room } } })).eventId!;

  await expect(publisher().routes.onEvent.enqueue({ data: { n: 0, room }, id: 'e1' } as never))
    .rejects.toThrow('the route keeps a history, which assigns event ids; remove `id`');

  const history = [];
  for await (const page of store.readEvents!('onEvent', start)) history.push(...page);
  expect(history.map((event) => event.eventId)).toEqual([start]);
  expect(queue.stats().sent).toBe(0);
});
