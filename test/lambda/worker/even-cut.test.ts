import { dynamodb, dynamodbLedger, type SubscriptionStore } from '../../../lambda';
import { silentLogger, startLocalGateway, type LocalGateway } from '../../../lambda/local';
import { evenBatchSizes } from '../../../lambda/worker/split';
import { appSubscriptions } from '../../fixtures/router';
import { quietLogger } from '../../reliability/support/env';
import { createTestTable, type TestTable } from '../../support/dynamodb';
import { addVirtualSubscribers, startWorkerQueue, type WorkerQueue } from '../support/queue-harness';

/**
 * The even cut of a small queued publish: read whole, then cut into a multiple of the worker
 * instances, so that every instance posts the same share (no last round left to a few).
 */
describe('evenBatchSizes', () => {
  test.each([
    // count, max size, instances, expected batches
    [2_000, 100, 8, 24],
    [2_000, 100, 20, 20],
    [1_600, 100, 8, 16],
    [100, 100, 8, 4],
    [10, 100, 8, 1],
    [0, 100, 8, 0],
    [999, 100, 1, 10],
  ])('%i targets, batches of at most %i, %i instances: %i batches', (count, maxSize, instances, batches) => {
    const sizes = evenBatchSizes(count, maxSize, instances);
    expect(sizes).toHaveLength(batches);
    expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(count);
    if (count === 0) return;
    expect(Math.max(...sizes)).toBeLessThanOrEqual(maxSize);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });
});

describe('a queued publish to a few hundred subscribers with 4 instances', () => {
  let table: TestTable;
  let gateway: LocalGateway;
  let workerQueue: WorkerQueue;
  let store: SubscriptionStore;
  const batches: number[] = [];
  const logger = quietLogger();

  beforeAll(async () => {
    table = await createTestTable('evencut');
    store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
    // Virtual connections only: the handlers never run.
    const unused = appSubscriptions.handler({ store });
    gateway = await startLocalGateway({ handlers: { connect: unused, handler: unused, disconnect: unused }, logger: silentLogger });
    workerQueue = await startWorkerQueue(({ url, sqsClient }) => appSubscriptions.worker({
      store,
      ledger: dynamodbLedger({ tableName: table.tableName, dynamoDBClient: table.client }),
      logger,
      sqsClient,
      queueUrl: url,
      endpoint: gateway.endpoint,
      deliveryBatchSize: 50,
      instances: 4,
    }), {
      around: (event, run) => {
        for (const record of event.Records) {
          const body = JSON.parse(record.body) as { kind: string; targets?: unknown[] };
          if (body.kind === 'deliver') batches.push(body.targets!.length);
        }
        return run();
      },
    });
  });
  afterAll(async () => {
    await workerQueue.close();
    await gateway.close();
    table.client.destroy();
  });

  test('is cut into a multiple of 4 even batches, and every subscriber gets the event once', async () => {
    const ids = await addVirtualSubscribers(gateway, store, 230, {
      path: 'onMessage', filters: [{ name: 'byRoom', values: ['even'] }, { name: 'byUserAndRoom', values: ['v', 'even'] }],
    });
    const { queue, sqsClient } = workerQueue;
    await appSubscriptions.publisher({ queueUrl: queue.url, sqsClient, store })
      .routes.onMessage.enqueue({ data: { text: 'even', at: new Date(0), from: 's' }, filter: { name: 'byRoom', input: { room: 'even' } } });
    await queue.drained();
    for (const id of ids) expect(gateway.virtualConnections.received(id)).toHaveLength(1);
    // 230 targets, at most 50 a batch: 5 would do, 8 (two rounds of 4 instances) of 28-29 are cut.
    // The first is delivered by the splitting worker; the queue carried the other 7.
    expect(batches.sort((a, b) => a - b)).toEqual([28, 28, 29, 29, 29, 29, 29]);
    expect(logger.entries.filter((entry) => entry.level === 'error')).toEqual([]);
  });
});
