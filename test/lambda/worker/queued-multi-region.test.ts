import { dynamodb, dynamodbLedger, type DeliveryLedger, type SubscriptionStore } from '../../../lambda';
import type { LocalQueue } from '../../../lambda/local';
import type { DeliverMessage } from '../../../lambda/queue/messages';
import { quietLogger } from '../../reliability/support/env';
import { createTestTable, type TestTable } from '../../support/dynamodb';
import { eventually, startRegions, subscribeClient, type Region, type RegionClient } from '../multi-region/harness';
import { addVirtualSubscribers, framesOf, startWorkerQueue, type WorkerQueue } from '../support/queue-harness';

/**
 * The queued path in a multi-region set-up: two local gateways act as two Regions over one
 * DynamoDB Local table (the global table's replicas); Europe's fan-out worker posts each target
 * through its connection's Region, one lane per Region, exactly once; a Region that is down leaves
 * only its own targets undelivered.
 */
let table: TestTable;
let regions: Map<string, Region>;
let eu: Region;
let us: Region;
let store: SubscriptionStore;
let ledger: DeliveryLedger;
let workerQueue: WorkerQueue;
let queue: LocalQueue;
const clients: RegionClient[] = [];
const logger = quietLogger();

beforeEach(async () => {
  table = await createTestTable('queued-multi-region');
  regions = await startRegions(['eu', 'us'], table);
  eu = regions.get('eu')!;
  us = regions.get('us')!;
  store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
  ledger = dynamodbLedger({ tableName: table.tableName, dynamoDBClient: table.client });
  logger.entries.length = 0;
  // Europe's worker: the Regions and endpoints come from the app's `.regions()`, as the publisher's do.
  workerQueue = await startWorkerQueue(({ url, sqsClient }) => eu.app.subscriptions.worker({
    ledger, logger, sqsClient, queueUrl: url, deliveryBatchSize: 5, maxAttempts: 2, leaseMs: 250,
  }));
  queue = workerQueue.queue;
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await workerQueue.close();
  await Promise.all([...regions.values()].map((region) => region.gateway.close()));
  table.client.destroy();
});

async function subscribe(region: Region, room: string): Promise<RegionClient> {
  const client = await subscribeClient(() => region.gateway.url, room);
  clients.push(client);
  return client;
}

/** Virtual subscribers of room `a` connected to `region` (their rows carry it). */
function virtualSubscribers(region: Region, count: number): Promise<string[]> {
  return addVirtualSubscribers(region.gateway, store, count, { path: 'onMessage', filters: [{ name: 'byRoom', values: ['a'] }], region: region.name });
}

/** The message ids a virtual connection of `region` received. */
function idsOf(region: Region, connectionId: string): string[] {
  return framesOf(region.gateway, connectionId).map((frame) => (frame.result.data as { id: string }).id);
}

function enqueueFromEurope(id: string) {
  return eu.app.subscriptions.publisher({ queueUrl: queue.url, sqsClient: workerQueue.sqsClient })
    .routes.onMessage.enqueue({ data: { id, text: id }, filter: { name: 'byRoom', input: { room: 'a' } } });
}

test('a queued publish reaches the matching clients of both Regions exactly once, each through its own Region', async () => {
  const [euClient, usClient, euOther] = [await subscribe(eu, 'a'), await subscribe(us, 'a'), await subscribe(eu, 'b')];
  const euVirtual = await virtualSubscribers(eu, 6);
  const usVirtual = await virtualSubscribers(us, 6);

  await enqueueFromEurope('q1');
  await queue.drained();

  await eventually(() => euClient.countOf('q1') === 1 && usClient.countOf('q1') === 1, 'q1 on both real clients');
  // A connection id exists only on its own gateway: a post through the other Region would be a 410.
  for (const id of euVirtual) expect(idsOf(eu, id)).toEqual(['q1']);
  for (const id of usVirtual) expect(idsOf(us, id)).toEqual(['q1']);
  // 14 targets in batches of 5: the first delivered by the splitting worker, two through the queue.
  expect(queue.stats()).toMatchObject({ sent: 1 + 2, deadLettered: 0 });
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect([euClient.countOf('q1'), usClient.countOf('q1'), euOther.received.length]).toEqual([1, 1, 0]);
  expect(logger.entries.filter((entry) => entry.level === 'error')).toEqual([]);
});

test('a delivery message of the single-region shape (no Region in its targets) is still delivered, through this Region', async () => {
  const [euConnection] = await virtualSubscribers(eu, 1);
  const old: DeliverMessage = {
    v: 1, kind: 'deliver', batchId: 'old-shape#0', path: 'onMessage', result: '{"type":"data","data":{"id":"old","text":"old"}}', targets: [[euConnection, 1]],
  };

  queue.send(JSON.stringify(old));
  await queue.drained();

  expect(idsOf(eu, euConnection)).toEqual(['old']);
  expect(queue.deadLetters()).toEqual([]);
});

test('while one Region is down, the other Region\'s targets are delivered once and only the down Region\'s are left failed', async () => {
  const euClient = await subscribe(eu, 'a');
  const euVirtual = await virtualSubscribers(eu, 4);
  const usVirtual = await virtualSubscribers(us, 4);
  us.down = true;
  await us.gateway.close();

  await enqueueFromEurope('down');
  await queue.drained();

  await eventually(() => euClient.countOf('down') === 1, 'the European client got it');
  for (const id of euVirtual) expect(idsOf(eu, id)).toEqual(['down']);
  // Every batch holding a US target was retried until the dead-letter queue; its ledger entry
  // holds exactly the European targets as delivered.
  const dead = queue.deadLetters().map((letter) => JSON.parse(letter.body) as DeliverMessage);
  expect(dead.length).toBeGreaterThan(0);
  const deadTargets = dead.flatMap((message) => message.targets);
  expect(deadTargets.filter((target) => target[3] === 'us').map((target) => target[0]).sort()).toEqual([...usVirtual].sort());
  for (const message of dead) {
    const claim = await ledger.claim(message.batchId, 1);
    const europeanIndexes = message.targets.flatMap((target, index) => (target[3] === 'eu' ? [index] : []));
    expect([...claim.delivered].sort((a, b) => a - b)).toEqual(europeanIndexes);
  }
  const failures = logger.entries.filter((entry) => entry.message === 'publish could not be delivered');
  expect(failures.length).toBeGreaterThan(0);
  expect(new Set(failures.map((entry) => entry.details?.region))).toEqual(new Set(['us']));
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(euClient.countOf('down')).toBe(1);
});
