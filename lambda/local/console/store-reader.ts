/**
 * How the console reads what it shows from the store: the connection row (`getConnection`, the
 * store contract) and each subscription's filter values. The memory store lists a connection's
 * subscriptions itself (`subscriptionsOf`); on DynamoDB the console Queries the connection's
 * partition (`CONN#{id}`, rows `SUB#...`) and decodes the values from the rows' index keys
 * (docs/table-design.md). Reads only, for display; never on the publish path.
 */
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { PARTITION_KEY, SORT_KEY, TABLE_NAME_ENV } from '../../constants';
import { connectionPartitionKey, SUBSCRIPTION_SORT_KEY_PREFIX, type TableKey } from '../../store/keys';
import type { MemoryStore } from '../../store/memory';
import type { ConnectionRecord, RequestId, SubscriptionStore } from '../../store/store';
import { LOCAL_AWS_SETTINGS } from '../dynamodb-local';
import { filtersFromEntries, filtersFromIndexKeys } from './filter-values';
import type { FilterFieldView } from './view';

/** A stored subscription as the console shows it. */
export interface StoredSubscription {
  readonly id: RequestId;
  readonly path: string;
  readonly filters: ReadonlyArray<{ readonly name: string; readonly values: readonly FilterFieldView[] }>;
}

/** A route's filter as the console reads it: its name and its fields in declared order (ctx first). */
export interface RouteFilter {
  readonly name: string;
  readonly ctx: readonly string[];
  readonly input: readonly string[];
}

/** Reads connections and subscriptions for display. */
export interface ConsoleStoreReader {
  /** The connection row. */
  connection(connectionId: string): Promise<ConnectionRecord | undefined>;
  /**
   * The connection's stored subscriptions with their filter values (`routes`: the filters of each path).
   * `undefined` when this store cannot list them (the console then shows what the wire told it).
   */
  subscriptions(connectionId: string, routes: ReadonlyMap<string, readonly RouteFilter[]>): Promise<StoredSubscription[] | undefined>;
  /** Releases what the reader opened (a client it created). */
  close?(): void;
}

/** Where a DynamoDB reader reads. */
export interface DynamoDBReaderOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
}

/** A reader of the memory store (its `subscriptionsOf` inspection helper). */
export function memoryStoreReader(store: MemoryStore): ConsoleStoreReader {
  return {
    connection: (connectionId) => store.getConnection(connectionId),
    subscriptions: async (connectionId, routes) => store.subscriptionsOf(connectionId).map((subscription) => ({
      id: subscription.subscriptionId,
      path: subscription.path,
      filters: filtersFromEntries(routes.get(subscription.path) ?? [], subscription.filters),
    })),
  };
}

/** A reader of the DynamoDB table: `getConnection` through `store`, subscriptions by Query of the connection's partition. */
export function dynamodbStoreReader(store: SubscriptionStore, options: DynamoDBReaderOptions): ConsoleStoreReader {
  return {
    connection: (connectionId) => store.getConnection(connectionId),
    subscriptions: async (connectionId, routes) => {
      const subscriptions: StoredSubscription[] = [];
      let exclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await options.client.send(new QueryCommand({
          TableName: options.tableName,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :sub)',
          ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY },
          ExpressionAttributeValues: { ':pk': { S: connectionPartitionKey(connectionId) }, ':sub': { S: SUBSCRIPTION_SORT_KEY_PREFIX } },
          ConsistentRead: true,
          ...(exclusiveStartKey ? { ExclusiveStartKey: exclusiveStartKey as never } : {}),
        }));
        for (const item of page.Items ?? []) {
          const row = unmarshall(item) as { path?: unknown; subscriptionId?: RequestId; indexKeys?: TableKey[] };
          // Stop tombstones share the key but carry no path.
          if (typeof row.path !== 'string' || row.subscriptionId === undefined) continue;
          const filters = filtersFromIndexKeys(row.path, routes.get(row.path) ?? [], row.indexKeys ?? []);
          subscriptions.push({ id: row.subscriptionId, path: row.path, filters });
        }
        exclusiveStartKey = page.LastEvaluatedKey;
      } while (exclusiveStartKey);
      return subscriptions;
    },
  };
}

/** A reader of any store: connection rows only; subscriptions come from the wire. */
export function connectionRowReader(store: SubscriptionStore): ConsoleStoreReader {
  return { connection: (connectionId) => store.getConnection(connectionId), subscriptions: async () => undefined };
}

/**
 * The reader for `store`: the memory store's own listing, else DynamoDB when this process's
 * environment names the table and a local endpoint (what `dev` sets), else connection rows only.
 */
export function defaultStoreReader(store: SubscriptionStore): ConsoleStoreReader {
  if (typeof (store as Partial<MemoryStore>).subscriptionsOf === 'function') return memoryStoreReader(store as MemoryStore);
  const tableName = process.env[TABLE_NAME_ENV];
  const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  if (tableName && endpoint) {
    const client = new DynamoDBClient({ ...LOCAL_AWS_SETTINGS, endpoint });
    return { ...dynamodbStoreReader(store, { client, tableName }), close: () => client.destroy() };
  }
  return connectionRowReader(store);
}
