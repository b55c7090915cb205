/**
 * The naive baseline, written the way seeds 002 and 004 do it: a table keyed by `connectionId`,
 * `$connect` stores the id, the message handler stores what the client subscribed to on that
 * item, and a publish Scans the whole table, filters in memory and sends with an unbounded
 * `Promise.all` of PostToConnection.
 *
 * Two changes make it correct enough to compare, both in its favour for correctness, none for
 * speed: the Scan is paginated (the seeds read one page and silently drop everyone past 1 MB),
 * and it answers the tRPC `started`/data frames so the same clients can use it.
 */
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import {
  CreateTableCommand,
  DeleteItemCommand,
  PutItemCommand,
  ScanCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import superjson from 'superjson';
import type { LocalGatewayHandlers } from '../../lambda/local';

/** Creates the seeds' table: partition key `connectionId`, on demand. */
export async function createNaiveTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(new CreateTableCommand({
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: 'connectionId', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'connectionId', KeyType: 'HASH' }],
  }));
}

/** The item of a connection that subscribed (what a publish needs to filter in memory). */
export function naiveItem(
  connectionId: string, subscriptionId: number | string, path: string, room: string, userId: string,
): Record<string, AttributeValue> {
  return {
    connectionId: { S: connectionId },
    subscriptionId: typeof subscriptionId === 'number' ? { N: String(subscriptionId) } : { S: subscriptionId },
    path: { S: path },
    room: { S: room },
    userId: { S: userId },
  };
}

interface SubscribeFrame {
  id?: number | string;
  method?: string;
  params?: { path?: string; input?: { json?: { room?: string } } };
}

/** `$connect`, `$default` and `$disconnect` of the naive design. */
export function naiveHandlers(client: DynamoDBClient, tableName: string): LocalGatewayHandlers {
  return {
    connect: async (event: { requestContext: { connectionId: string } }) => {
      await client.send(new PutItemCommand({ TableName: tableName, Item: { connectionId: { S: event.requestContext.connectionId } } }));
      return { statusCode: 200 };
    },
    handler: async (event: { body?: string; requestContext: { connectionId: string } }) => {
      if (event.body === 'PING') return { statusCode: 200, body: 'PONG' };
      let frame: SubscribeFrame;
      try {
        frame = JSON.parse(event.body ?? '') as SubscribeFrame;
      } catch {
        return { statusCode: 400, body: 'Invalid JSON' };
      }
      if (frame.method !== 'subscription' || frame.id === undefined) return { statusCode: 200 };
      const room = frame.params?.input?.json?.room ?? '';
      await client.send(new PutItemCommand({
        TableName: tableName,
        Item: naiveItem(event.requestContext.connectionId, frame.id, frame.params?.path ?? '', room, 'anon'),
      }));
      return { statusCode: 200, body: JSON.stringify({ id: frame.id, result: { type: 'started' } }) };
    },
    disconnect: async (event: { requestContext: { connectionId: string } }) => {
      await client.send(new DeleteItemCommand({ TableName: tableName, Key: { connectionId: { S: event.requestContext.connectionId } } }));
      return { statusCode: 200 };
    },
  };
}

/** Outcome of a naive publish. */
export interface NaivePublishResult {
  readonly scanned: number;
  readonly matched: number;
  readonly delivered: number;
  readonly failed: number;
  /** The first failed post's error. */
  readonly firstError?: string;
}

/** Scan everything, filter in memory, `Promise.all` every PostToConnection at once. */
export async function naivePublish(
  client: DynamoDBClient, tableName: string, management: ApiGatewayManagementApiClient, path: string, room: string, data: unknown,
): Promise<NaivePublishResult> {
  const items: Record<string, AttributeValue>[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: startKey }));
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  const matching = items.filter((item) => item.path?.S === path && item.room?.S === room);
  const serialized = JSON.stringify(superjson.serialize(data));
  let failed = 0;
  let firstError: string | undefined;
  await Promise.all(matching.map(async (item) => {
    const id = item.subscriptionId?.N ?? JSON.stringify(item.subscriptionId?.S);
    try {
      await management.send(new PostToConnectionCommand({
        ConnectionId: item.connectionId.S,
        Data: Buffer.from(`{"id":${id},"result":{"type":"data","data":${serialized}}}`),
      }));
    } catch (error) {
      failed++;
      firstError ??= String(error);
    }
  }));
  return { scanned: items.length, matched: matching.length, delivered: matching.length - failed, failed, firstError };
}
