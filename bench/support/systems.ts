/**
 * The two systems under test, each on its own local gateway and DynamoDB Local table: the library
 * (the example app's handlers with the `dynamodb()` store) and the naive baseline of ./naive.
 */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { BatchWriteItemCommand, QueryCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { bulkSeed, checkBulkRows } from './bulk';
import { meterDynamoDB, type DynamoDBMeter } from './dynamodb-meter';
import { runBounded, type BenchEnv } from './env';
import { exampleHandlers } from './example-app';
import { appSubscriptions } from '../../example/app-router';
import { dynamodb, type SubscriberQuery, type SubscriptionStore } from '../../lambda';
import { createSubscriptionTable, silentLogger, startLocalGateway, type LocalGateway, type LocalGatewayHandlers } from '../../lambda/local';
import { apiGatewayStyleId } from '../../lambda/local/ids';
import { subscriberQueryKeys } from '../../lambda/store/keys';
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
  /**
   * The key design's minimum read units for a query: the bytes of the index rows it matches,
   * rounded up to 4 KB per partition read (strongly consistent).
   */
  minReadUnits(query: SubscriberQuery): Promise<number>;
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
  // As the seeds create it: the SDK's defaults (3 attempts), so a post the busy local gateway resets is retried.
  const managementClient = new ApiGatewayManagementApiClient({ endpoint: gateway.endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const publisher = store ? appSubscriptions.publisher({ endpoint: gateway.endpoint, store, logger: env.logger }) : undefined;
  let populated = 0;
  const data = () => ({ text: 'hello', at: new Date(), from: 'bench' });

  return {
    name,
    gateway,
    meter,
    management,
    store,
    async minReadUnits(query) {
      let units = 0;
      for (const { pk, skPrefix } of subscriberQueryKeys(query)) {
        let bytes = 0;
        let start: Record<string, AttributeValue> | undefined;
        do {
          const output = await client.send(new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: skPrefix === undefined ? 'pk = :pk' : 'pk = :pk AND begins_with(sk, :prefix)',
            ExpressionAttributeValues: { ':pk': { S: pk }, ...(skPrefix === undefined ? {} : { ':prefix': { S: skPrefix } }) },
            ExclusiveStartKey: start,
          }));
          for (const item of output.Items ?? []) bytes += itemBytes(item);
          start = output.LastEvaluatedKey;
        } while (start);
        units += Math.max(1, Math.ceil(bytes / 4096));
      }
      return units;
    },
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
      if (result.failed > 0) throw new Error(`naive publish: ${result.failed} failed (${result.firstError})`);
      return result;
    },
    async close() {
      wrapped.drain();
      await gateway.close();
      managementClient.destroy();
    },
  };
}

/**
 * An item's size as DynamoDB bills it: attribute names plus values (strings in UTF-8 bytes,
 * numbers about one byte per two digits plus one).
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
 */
function itemBytes(item: Record<string, AttributeValue>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) {
    bytes += Buffer.byteLength(name);
    if (value.S !== undefined) bytes += Buffer.byteLength(value.S);
    else if (value.N !== undefined) bytes += Math.ceil(value.N.replace(/^-|\.|^0+/g, '').length / 2) + 1;
    else bytes += 1;
  }
  return bytes;
}
