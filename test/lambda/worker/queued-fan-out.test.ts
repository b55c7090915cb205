import type { SQSClient } from '@aws-sdk/client-sqs';
import { dynamodb, dynamodbLedger, type DeliveryLedger, type QueueEvent, type SubscriptionStore } from '../../../lambda';
import {
  silentLogger, startLocalGateway, type LocalGateway, type LocalQueue, type ManagementFault, type ManagementRequest,
} from '../../../lambda/local';
import { appSubscriptions } from '../../fixtures/router';
import { quietLogger } from '../../reliability/support/env';
import { createTestTable, type TestTable } from '../../support/dynamodb';
import { roomSubscribers, waitFor } from '../support/harness';
import { addVirtualSubscribers, framesOf, startWorkerQueue, type WorkerQueue } from '../support/queue-harness';

/**
 * The queued path end to end: `enqueue()` through the real SQS client to the local queue, the
 * fan-out worker splitting into delivery batches and posting through the local gateway, on
 * DynamoDB Local. Real `@trpc/client` clients for a few subscribers, virtual connections for the
 * many. Every matching subscriber gets each event exactly once, with faults and crashes.
 */
let table: TestTable;
let gateway: LocalGateway;
let queue: LocalQueue;
let workerQueue: WorkerQueue;
let store: SubscriptionStore;
let ledger: DeliveryLedger;
let sqsClient: SQSClient;
let faults: (request: ManagementRequest) => ManagementFault | undefined;
/** Runs around each worker invocation (crash injection). */
let around: (event: QueueEvent, run: () => Promise<unknown>) => Promise<unknown>;
const logger = quietLogger();
const closers: Array<() => void> = [];

beforeEach(async () => {
  // A table per test: a broadcast to room `r` must not also reach (and clean up) the previous test's subscribers.
  table = await createTestTable('queue');
  faults = () => undefined;
  around = (_event, run) => run();
  logger.entries.length = 0;
  store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
  ledger = dynamodbLedger({ tableName: table.tableName, dynamoDBClient: table.client });
  gateway = await startLocalGateway({
    handlers: {
      connect: appSubscriptions.connect({ store, logger }),
      handler: appSubscriptions.handler({ store, logger }),
      disconnect: appSubscriptions.disconnect({ store, logger }),
    },
    faults: (request) => faults(request),
    logger: silentLogger,
  });
  // The lease is shorter than the visibility timeout, so a crashed worker's batch is taken over.
  workerQueue = await startWorkerQueue(({ url, sqsClient: client }) => appSubscriptions.worker({
    store,
    ledger,
    logger,
    sqsClient: client,
    queueUrl: url,
    endpoint: gateway.endpoint,
    deliveryBatchSize: 7,
    maxAttempts: 2,
    leaseMs: 250,
    events: (event, routes) => (event['detail-type'] === 'RoomMessage'
      ? routes.onMessage.publish({
        data: { text: String((event.detail as { text: string }).text), at: new Date(0), from: 'events' },
        filter: { name: 'byRoom', input: { room: 'r' } },
      })
      : undefined),
  }), { around: (event, run) => around(event, run) });
  ({ queue, sqsClient } = workerQueue);
});
afterEach(async () => {
  closers.splice(0).forEach((close) => close());
  await workerQueue.close();
  await gateway.close();
  table.client.destroy();
});

/** Real clients subscribed to room `r`; resolves once all are started. */
function realSubscribers(count: number): Promise<{ inboxes: string[][]; connectionIds: string[] }> {
  return roomSubscribers(gateway, count, (close) => closers.push(close));
}

/** Virtual connections with one stored subscription (id 1) to room `r` each; `jsonrpc` for those it picks. */
function virtualSubscribers(count: number, jsonrpc: (index: number) => boolean = () => false): Promise<string[]> {
  const filters = [{ name: 'byRoom', values: ['r'] }, { name: 'byUserAndRoom', values: ['v', 'r'] }];
  return addVirtualSubscribers(gateway, store, count, { path: 'onMessage', filters, jsonrpc });
}

/** The texts a virtual connection received. */
function textsOf(connectionId: string): string[] {
  return framesOf(gateway, connectionId).map((frame) => {
    expect(frame.id).toBe(1);
    return (frame.result.data as { json: { text: string } }).json.text;
  });
}

function enqueue(text: string, excludeConnectionId?: string) {
  return appSubscriptions.publisher({ queueUrl: queue.url, sqsClient, store })
    .routes.onMessage.enqueue({ data: { text, at: new Date(0), from: 's' }, filter: { name: 'byRoom', input: { room: 'r' } }, excludeConnectionId });
}

test('an enqueued publish reaches every matching subscriber exactly once, in parallel delivery batches', async () => {
  const [{ inboxes, connectionIds }, virtual] = await Promise.all([realSubscribers(3), virtualSubscribers(60)]);
  const queued = await enqueue('hello', connectionIds[0]);
  expect(queued.messageId).toMatch(/[0-9a-f-]{36}/);
  await queue.drained();
  await waitFor(() => inboxes[1].length > 0 && inboxes[2].length > 0);
  expect(inboxes).toEqual([[], ['hello'], ['hello']]);
  for (const id of virtual) expect(textsOf(id)).toEqual(['hello']);
  // 62 targets in batches of 7: the first is delivered by the splitting worker, 8 more were queued.
  expect(queue.stats()).toMatchObject({ sent: 1 + 8, deleted: 9, deadLettered: 0 });
  expect(logger.entries.filter((entry) => entry.level === 'error')).toEqual([]);
});

test('subscriptions whose request carried jsonrpc get frames echoing it, in the first batch and in queued ones', async () => {
  const virtual = await virtualSubscribers(20, (index) => index % 2 === 0);
  const sentBefore = queue.stats().sent;
  await enqueue('rpc');
  await queue.drained();
  virtual.forEach((id, index) => {
    const frames = framesOf(gateway, id);
    expect(frames).toHaveLength(1);
    expect(frames[0].jsonrpc).toBe(index % 2 === 0 ? '2.0' : undefined);
  });
  // More than one batch of 7: delivery messages went through the queue (their targets carry jsonrpc).
  expect(queue.stats().sent - sentBefore).toBeGreaterThan(1);
  expect(queue.deadLetters()).toEqual([]);
});

test('429s and 500s: throttled and failed posts are retried by the queue; each target gets the event once', async () => {
  const virtual = await virtualSubscribers(40);
  const posts = new Map<string, number>();
  faults = ({ method, connectionId }) => {
    if (method !== 'POST') return undefined;
    const n = (posts.get(connectionId) ?? 0) + 1;
    posts.set(connectionId, n);
    const slot = virtual.indexOf(connectionId) % 4;
    if (slot === 1 && n <= 3) return { status: 429, errorType: 'LimitExceededException' };
    if (slot === 2 && n <= 1) return { status: 500, errorType: 'InternalServerErrorException' };
    return undefined;
  };
  await enqueue('storm');
  await queue.drained();
  for (const id of virtual) expect(textsOf(id)).toEqual(['storm']);
  expect(queue.deadLetters()).toEqual([]);
  // Some batches needed another receive: only their undelivered targets were posted again.
  expect(queue.stats().received).toBeGreaterThan(queue.stats().sent);
});

test('a worker that crashes after delivering: SQS hands the batch out again, the ledger sends nothing twice', async () => {
  const virtual = await virtualSubscribers(30);
  let crashes = 0;
  around = async (event, run) => {
    const response = await run();
    if (crashes < 3 && event.Records.some((record) => record.body.includes('"kind":"deliver"'))) {
      crashes++;
      throw new Error('injected crash after delivery');
    }
    return response;
  };
  await enqueue('once');
  await queue.drained();
  expect(crashes).toBe(3);
  for (const id of virtual) expect(textsOf(id)).toEqual(['once']);
});

test('a connection failing every attempt: its batch ends in the dead-letter queue, the rest of the batch was delivered once', async () => {
  const virtual = await virtualSubscribers(10);
  const broken = virtual[3];
  faults = ({ method, connectionId }) => (method === 'POST' && connectionId === broken ? { status: 500, errorType: 'InternalServerErrorException' } : undefined);
  await enqueue('partial');
  await queue.drained();
  for (const id of virtual) expect(textsOf(id)).toEqual(id === broken ? [] : ['partial']);
  const dead = queue.deadLetters();
  expect(dead).toHaveLength(1);
  expect(JSON.parse(dead[0].body)).toMatchObject({ kind: 'deliver' });
  expect(JSON.parse(dead[0].body).targets).toContainEqual([broken, 1]);
});

test('an EventBridge event on the queue is mapped by `events` to a typed publish', async () => {
  const { inboxes } = await realSubscribers(2);
  queue.send(JSON.stringify({ 'version': '0', 'id': 'e1', 'detail-type': 'RoomMessage', 'source': 'app.chat', 'detail': { text: 'from events' } }));
  queue.send(JSON.stringify({ 'version': '0', 'id': 'e2', 'detail-type': 'Ignored', 'source': 'app.chat', 'detail': {} }));
  await queue.drained();
  await waitFor(() => inboxes.every((inbox) => inbox.length > 0));
  expect(inboxes).toEqual([['from events'], ['from events']]);
  expect(queue.deadLetters()).toEqual([]);
});

test('EventBridge delivers at least once: a copy of an event (same id, another SQS message) publishes nothing again, at once or later', async () => {
  const virtual = await virtualSubscribers(20);
  const event = (id: string) => JSON.stringify({ 'version': '0', id, 'detail-type': 'RoomMessage', 'source': 'app.chat', 'detail': { text: 'at least once' } });
  // Two copies at once (one invocation, or two in parallel), then a third once the first is delivered.
  queue.send(event('9f3c1c3e-dup'));
  queue.send(event('9f3c1c3e-dup'));
  await queue.drained();
  queue.send(event('9f3c1c3e-dup'));
  await queue.drained();
  for (const id of virtual) expect(textsOf(id)).toEqual(['at least once']);
  // Another event with the same content is another publish.
  queue.send(event('5d0e2a71-other'));
  await queue.drained();
  for (const id of virtual) expect(textsOf(id)).toEqual(['at least once', 'at least once']);
  expect(queue.deadLetters()).toEqual([]);
  expect(logger.entries.filter((entry) => entry.level === 'error')).toEqual([]);
});

test('enqueue refuses what publish refuses, before sending', async () => {
  const publisher = appSubscriptions.publisher({ queueUrl: queue.url, sqsClient, store });
  await expect(publisher.routes.onMessage.enqueue({
    data: { text: 'x', at: new Date(0), from: 's' },
    filter: { name: 'nope' as 'byRoom', input: { room: 'r' } },
  })).rejects.toThrow(/nope/);
  await expect(appSubscriptions.publisher({ store, sqsClient }).routes.onMessage.enqueue({ data: { text: 'x', at: new Date(0), from: 's' } }))
    .rejects.toThrow(/TRPC_SUBSCRIPTIONS_QUEUE_URL/);
  expect(queue.stats().sent).toBe(0);
});
