import { SQSClient } from '@aws-sdk/client-sqs';
import { dynamodb, dynamodbLedger, type SubscriptionStore } from '../../../lambda';
import { LOCAL_AWS_SETTINGS, silentLogger, startLocalGateway, startLocalQueue, type LocalGateway, type LocalQueue } from '../../../lambda/local';
import { evenBatchSizes } from '../../../lambda/worker/split';
import { appSubscriptions } from '../../fixtures/router';
import { quietLogger } from '../../reliability/support/env';
import { createTestTable, type TestTable } from '../../support/dynamodb';

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
  let queue: LocalQueue;
  let store: SubscriptionStore;
  let sqsClient: SQSClient;
  const batches: number[] = [];
  const logger = quietLogger();

  beforeAll(async () => {
    table = await createTestTable('evencut');
    store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
    gateway = await startLocalGateway({
      handlers: {
        connect: appSubscriptions.connect({ store }),
        handler: appSubscriptions.handler({ store }),
        disconnect: appSubscriptions.disconnect({ store }),
      },
      logger: silentLogger,
    });
    let worker: ReturnType<typeof appSubscriptions.worker> | undefined;
    queue = await startLocalQueue({
      handler: async (event) => {
        for (const record of event.Records) {
          const body = JSON.parse(record.body) as { kind: string; targets?: unknown[] };
          if (body.kind === 'deliver') batches.push(body.targets!.length);
        }
        return worker!(event);
      },
      concurrency: 4,
      logger: silentLogger,
    });
    sqsClient = new SQSClient({ endpoint: queue.endpoint, ...LOCAL_AWS_SETTINGS });
    worker = appSubscriptions.worker({
      store,
      ledger: dynamodbLedger({ tableName: table.tableName, dynamoDBClient: table.client }),
      logger,
      sqsClient,
      queueUrl: queue.url,
      endpoint: gateway.endpoint,
      deliveryBatchSize: 50,
      instances: 4,
    });
  });
  afterAll(async () => {
    await queue.close();
    await gateway.close();
    sqsClient.destroy();
    table.client.destroy();
  });

  test('is cut into a multiple of 4 even batches, and every subscriber gets the event once', async () => {
    const ids = gateway.virtualConnections.add(230);
    const expireAt = Math.floor(Date.now() / 1000) + 3600;
    for (const connectionId of ids) {
      await store.putConnection({ connectionId, connectedAt: Date.now(), expireAt, awaitingConnectionParams: false, connect: {} });
      await store.addSubscription({
        connectionId, subscriptionId: 1, path: 'onMessage', expireAt, filters: [{ name: 'byRoom', values: ['even'] }, { name: 'byUserAndRoom', values: ['v', 'even'] }],
      });
    }
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
