/**
 * The two systems under test, each on its own local gateway and DynamoDB Local table: the library
 * (the example app's handlers with the `dynamodb()` store) and the naive baseline of ./naive.
 */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { BatchWriteItemCommand } from '@aws-sdk/client-dynamodb';
import { bulkSeed, checkBulkRows } from './bulk';
import { meterDynamoDB, type DynamoDBMeter } from './dynamodb-meter';
import { runBounded, type BenchEnv } from './env';
import { exampleHandlers } from './example-app';
import { appSubscriptions } from '../../example/app-router';
import { dynamodb, type SubscriptionStore } from '../../lambda';
import { createSubscriptionTable, silentLogger, startLocalGateway, type LocalGateway, type LocalGatewayHandlers } from '../../lambda/local';
import { apiGatewayStyleId } from '../../lambda/local/ids';
import { createNaiveTable, naiveHandlers, naiveItem, naivePublish } from '../naive/baseline';

export type SystemName = 'library' | 'naive';

/** What one publish did. */
export interface PublishOutcome {
  readonly matched: number;
  readonly delivered: number;
}

/** A system on a gateway, with its meters. */
export interface SystemUnderTest {
  readonly name: SystemName;
  readonly gateway: LocalGateway;
  readonly meter: DynamoDBMeter;
  /** Management API requests the gateway served, by method. */
  readonly management: { POST: number; GET: number; DELETE: number };
  /** The store, for the library. */
  readonly store?: SubscriptionStore;
  /** Writes `count` more non-matching subscribers straight into the table (no socket). */
  populate(count: number, room: (index: number) => string): Promise<void>;
  /** Publishes one chat message to the subscribers of `room` (`onMessage`, filter byRoom). */
  publish(room: string): Promise<PublishOutcome>;
  close(): Promise<void>;
}

const PATH = 'onMessage';

/** Wraps handlers so that `$disconnect` can be skipped while tearing down a throw-away table. */
function drainable(handlers: LocalGatewayHandlers): { handlers: LocalGatewayHandlers; drain(): void } {
  let draining = false;
  return {
    // Two parameters and a promise: the local gateway waits for a callback when a handler declares three.
    handlers: {
      ...handlers,
      disconnect: async (event, context) => (draining ? { statusCode: 200 } : handlers.disconnect(event, context, () => undefined)),
    },
    drain: () => { draining = true; },
  };
}

let tables = 0;

export async function startSystem(env: BenchEnv, name: SystemName): Promise<SystemUnderTest> {
  const client = env.client();
  const meter = meterDynamoDB(client);
  const tableName = `bench-${name}-${++tables}`;
  const management = { POST: 0, GET: 0, DELETE: 0 };
  let handlers: LocalGatewayHandlers;
  let store: SubscriptionStore | undefined;
  if (name === 'library') {
    await checkBulkRows(client, String(tables));
    await createSubscriptionTable({ client, tableName });
    store = dynamodb({ tableName, dynamoDBClient: client });
    handlers = exampleHandlers(store, env.logger);
  } else {
    await createNaiveTable(client, tableName);
    handlers = naiveHandlers(client, tableName);
  }
  const wrapped = drainable(handlers);
  const gateway = await startLocalGateway({
    handlers: wrapped.handlers,
    logger: silentLogger,
    faults: (request) => {
      management[request.method]++;
      return undefined;
    },
  });
  const managementClient = new ApiGatewayManagementApiClient({ endpoint: gateway.endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  const publisher = store ? appSubscriptions.publisher({ endpoint: gateway.endpoint, store, logger: env.logger }) : undefined;
  let populated = 0;
  const data = () => ({ text: 'hello', at: new Date(), from: 'bench' });

  return {
    name,
    gateway,
    meter,
    management,
    store,
    async populate(count, room) {
      const start = populated;
      populated += count;
      if (store) {
        // Exactly the rows the store writes (checked by checkBulkRows), 25 per BatchWriteItem.
        await bulkSeed(client, tableName, Array.from({ length: count }, (_, i) => ({ connectionId: apiGatewayStyleId(), room: room(start + i) })));
      } else {
        const batches = Math.ceil(count / 25);
        await runBounded(batches, 8, async (b) => {
          const items = Array.from({ length: Math.min(25, count - b * 25) }, (_, i) => naiveItem(apiGatewayStyleId(), 1, PATH, room(start + b * 25 + i), 'anon'));
          let requests = items.map((Item) => ({ PutRequest: { Item } }));
          for (let attempt = 0; requests.length > 0 && attempt < 10; attempt++) {
            const output = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }));
            requests = (output.UnprocessedItems?.[tableName] ?? []) as typeof requests;
          }
          if (requests.length > 0) throw new Error('naive populate: unprocessed items left after 10 attempts');
        });
      }
    },
    async publish(room) {
      if (publisher) {
        const result = await publisher.routes.onMessage.publish({ data: data(), filter: { name: 'byRoom', input: { room } } });
        if (result.failed > 0) throw new Error(`library publish: ${result.failed} failed (${result.failures[0]?.message})`);
        return result;
      }
      const result = await naivePublish(client, tableName, managementClient, PATH, room, data());
      if (result.failed > 0) throw new Error(`naive publish: ${result.failed} failed`);
      return result;
    },
    async close() {
      wrapped.drain();
      await gateway.close();
      managementClient.destroy();
    },
  };
}
