/**
 * The requests every operation of the DynamoDB store is built from: the table (its name, the client
 * within the call deadline, capacity reports) and GetItem, TransactWriteItems, paginated Query and
 * BatchWriteItem with their bounded retries. Plain functions over a {@link DynamoDBTable}, so that
 * a function bundled for one role keeps only those its operations call (docs/runtime.md).
 */
import {
  BatchWriteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  type AttributeValue,
  type CancellationReason,
  type ConsumedCapacity,
  type QueryCommandInput,
  type TransactWriteItem,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { PARTITION_KEY, SORT_KEY, TABLE_NAME_ENV } from '../constants';
import type { TableKey } from './keys';
import type { SubscriptionStore } from './store';
import { backoff } from '../util/backoff';
import { requestHandlerOptions, settleTimeouts, withDeadline, type TimeoutOptions } from '../util/deadline';
import { forEachBounded } from '../util/pool';

/** The store operations, as named in {@link ConsumedCapacityReport}. */
export type StoreOperation = keyof SubscriptionStore;

/** Capacity DynamoDB reported for one request of a store operation. */
export interface ConsumedCapacityReport {
  /** The store method that sent the request. */
  readonly operation: StoreOperation;
  /** The DynamoDB API called, e.g. `TransactWriteItems`. */
  readonly command: string;
  /** Units consumed by the request, summed over its tables. */
  readonly readCapacityUnits: number;
  readonly writeCapacityUnits: number;
  /** DynamoDB's report as returned. */
  readonly consumedCapacity: readonly ConsumedCapacity[];
}

/** Options of {@link dynamodb}. */
export interface DynamoDBStoreOptions {
  /**
   * Name of the subscriptions table.
   * @default - the `TRPC_SUBSCRIPTIONS_TABLE_NAME` environment variable, read at first use
   */
  readonly tableName?: string;
  /**
   * The client to call DynamoDB with. Its retry strategy handles throttling; the store adds
   * bounded retries for unprocessed batch items and cancelled transactions. Its own HTTP
   * timeouts apply; `timeouts.callTimeoutMs` bounds every call of the store whatever the client.
   * @default - one `DynamoDBClient` per Lambda runtime and `timeouts`, created at first use
   */
  readonly dynamoDBClient?: DynamoDBClient;
  /**
   * Timeouts of DynamoDB calls, so that none can hang: connection and request timeouts of the
   * default client's HTTP handler, and a deadline for every call (retries included), after which
   * the operation fails with a `TimeoutError`.
   * @default - connection 1 s, request 3 s, whole call 6 s
   */
  readonly timeouts?: TimeoutOptions;
  /**
   * Read subscribers with strongly consistent reads, so that a publish issued after the client
   * saw `started` always finds the new subscription. Eventually consistent reads cost half.
   * @default true
   */
  readonly consistentPublishReads?: boolean;
  /**
   * Items per Query page (DynamoDB `Limit`) in `findSubscribers` and `removeConnection`.
   * @default - no limit: DynamoDB's 1 MB pages
   */
  readonly pageSize?: number;
  /**
   * Called with the capacity of every request; setting it adds `ReturnConsumedCapacity: TOTAL`
   * to every request (used by the cost measurements of docs/table-design.md and the benchmark).
   * @default - capacity is not requested
   */
  readonly onConsumedCapacity?: (report: ConsumedCapacityReport) => void;
  /**
   * Attempts for a transaction cancelled by a conflict or throttling, and for unprocessed batch
   * items, before the operation fails.
   * @default 8
   */
  readonly maxAttempts?: number;
  /**
   * Also read the unsharded index partitions of versions before the index was sharded, so that
   * publishes find subscriptions made before an upgrade. Turn it on for the upgrade and off once
   * the old rows expired (`rowTtl` after the deployment, 2 h 10 min by default): it costs one
   * more Query per publish (docs/table-design.md, "Shards").
   * @default false
   */
  readonly unshardedIndexReads?: boolean;
}

const sharedClients = new Map<string, DynamoDBClient>();

/**
 * Created lazily so that importing this module has no side effect; one per timeout setting,
 * reused across invocations.
 */
function defaultClient(timeouts: Required<TimeoutOptions>): DynamoDBClient {
  const key = JSON.stringify(timeouts);
  let client = sharedClients.get(key);
  if (!client) {
    client = new DynamoDBClient({ requestHandler: requestHandlerOptions(timeouts) });
    sharedClients.set(key, client);
  }
  return client;
}

/** What the store calls DynamoDB with: `send` within the call deadline. */
type DeadlineClient = Pick<DynamoDBClient, 'send'>;

/** One store's table and settled options, shared by its operations. */
export interface DynamoDBTable {
  readonly options: DynamoDBStoreOptions;
  readonly maxAttempts: number;
  /** The last event id this store saw per route with a history. */
  readonly sequences: Map<string, number>;
  /** The client (created at first use), each call within `timeouts.callTimeoutMs`. */
  readonly client: DeadlineClient;
  /** The table's name (read at first use). */
  readonly tableName: string;
  /** `TOTAL` when `onConsumedCapacity` is set. */
  readonly returnConsumedCapacity: 'TOTAL' | undefined;
}

/**
 * Settles a store's options (a bad one fails here, when the store is created); the client and
 * the table name are resolved at first use.
 */
export function dynamodbTable(options: DynamoDBStoreOptions): DynamoDBTable {
  const timeouts = settleTimeouts(options.timeouts);
  const maxAttempts = options.maxAttempts ?? 8;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new RangeError(`\`maxAttempts\` must be a positive integer, got: ${String(options.maxAttempts)}`);
  }
  if (options.pageSize !== undefined && (!Number.isInteger(options.pageSize) || options.pageSize < 1)) {
    throw new RangeError(`\`pageSize\` must be a positive integer, got: ${String(options.pageSize)}`);
  }
  let resolvedClient: DeadlineClient | undefined;
  let resolvedTableName: string | undefined;
  return {
    options,
    maxAttempts,
    sequences: new Map(),
    get client(): DeadlineClient {
      if (!resolvedClient) {
        const client = options.dynamoDBClient ?? defaultClient(timeouts);
        const { callTimeoutMs } = timeouts;
        const send = (command: { constructor: { name: string } }) => withDeadline(
          callTimeoutMs, command.constructor.name.replace(/Command$/, ''), (abortSignal) => client.send(command as never, { abortSignal }),
        );
        resolvedClient = { send: send as DynamoDBClient['send'] };
      }
      return resolvedClient;
    },
    get tableName(): string {
      resolvedTableName ??= options.tableName ?? process.env[TABLE_NAME_ENV];
      if (!resolvedTableName) {
        throw new Error(
          `dynamodb() store has no table name: pass \`tableName\` or set the ${TABLE_NAME_ENV} environment variable ` +
            '(TrpcSubscriptionApi sets it on the handlers and on functions given grantPublish)',
        );
      }
      return resolvedTableName;
    },
    get returnConsumedCapacity(): 'TOTAL' | undefined {
      return options.onConsumedCapacity ? 'TOTAL' : undefined;
    },
  };
}

/** The connection's id, on its rows and on index rows (attribute names of the store's rows follow). */
export const CONNECTION_ID = 'connectionId';
/** The subscription's id (its request id), on subscription and index rows. */
export const SUBSCRIPTION_ID = 'subscriptionId';
/** The keys of a subscription's index rows, on its subscription row. */
export const INDEX_KEYS = 'indexKeys';
/** On a stop tombstone (a stop that arrived before its subscribe). */
export const STOPPED = 'stopped';
/** On the index rows of a subscription resumed from a history: the last event replayed to it. */
export const LIVE_AFTER = 'liveAfter';
/** When the connection opened (epoch ms), on connection, age and key rows. */
export const CONNECTED_AT = 'connectedAt';
/** The app's key of a connection, on its connection row. */
export const CONNECTION_KEY = 'connectionKey';
/** The serialized error of a refused connection, on its connection row. */
export const REFUSAL = 'refusal';
/** On index rows of a subscription whose request carried `jsonrpc: "2.0"`. */
export const JSONRPC = 'jsonrpc';
/** Live subscriptions of a connection, on its connection row. */
export const SUBSCRIPTION_COUNT = 'subscriptionCount';
/** A transaction item whose condition failed. */
export const CONDITION_FAILED = 'ConditionalCheckFailed';
/** BatchWriteItem takes at most 25 requests. */
const BATCH_WRITE_LIMIT = 25;
/** Concurrent BatchWriteItem requests of one batch delete. */
const DELETE_CONCURRENCY = 4;
/** Transaction cancellation reasons worth another attempt. */
const RETRYABLE_REASONS = new Set(['TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded']);

/** A DynamoDB item in the wire format. */
export type Item = Record<string, AttributeValue>;

/** Condition: the row exists. */
export function exists() {
  return { ConditionExpression: 'attribute_exists(#pk)', ExpressionAttributeNames: { '#pk': PARTITION_KEY } };
}

/** Condition: the row does not exist. */
export function notExists() {
  return { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': PARTITION_KEY } };
}

/** Reports a request's consumed capacity to `onConsumedCapacity`, if set. */
export function report(
  t: DynamoDBTable, operation: StoreOperation, command: string, capacity: ConsumedCapacity | ConsumedCapacity[] | undefined,
): void {
  const hook = t.options.onConsumedCapacity;
  if (!hook || !capacity) return;
  const consumedCapacity = Array.isArray(capacity) ? capacity : [capacity];
  // DynamoDB reports only CapacityUnits for single-item reads/writes: attribute it by command.
  const isRead = command === 'GetItem' || command === 'Query';
  let readCapacityUnits = 0;
  let writeCapacityUnits = 0;
  for (const entry of consumedCapacity) {
    const total = entry.CapacityUnits ?? 0;
    const read = entry.ReadCapacityUnits ?? (isRead ? total : 0);
    const write = entry.WriteCapacityUnits ?? (isRead ? 0 : total - read);
    readCapacityUnits += read;
    writeCapacityUnits += write;
  }
  hook({ operation, command, readCapacityUnits, writeCapacityUnits, consumedCapacity });
}

/** One strongly consistent GetItem; the item unmarshalled, if any. */
export async function getItem(t: DynamoDBTable, operation: StoreOperation, key: TableKey): Promise<Record<string, unknown> | undefined> {
  const output = await t.client.send(
    new GetItemCommand({
      TableName: t.tableName,
      Key: toItem(keyAttributes(key)),
      ConsistentRead: true,
      ReturnConsumedCapacity: t.returnConsumedCapacity,
    }),
  );
  report(t, operation, 'GetItem', output.ConsumedCapacity);
  return output.Item ? unmarshall(output.Item) : undefined;
}

/** @returns undefined when committed, else the cancellation reasons (one per item) */
export async function transact(t: DynamoDBTable, operation: StoreOperation, items: TransactWriteItem[]): Promise<CancellationReason[] | undefined> {
  try {
    // A fresh command per attempt gets a fresh ClientRequestToken from the SDK, which keeps the
    // SDK's own retries of this attempt idempotent.
    const output = await t.client.send(
      new TransactWriteItemsCommand({ TransactItems: items, ReturnConsumedCapacity: t.returnConsumedCapacity }),
    );
    report(t, operation, 'TransactWriteItems', output.ConsumedCapacity);
    return undefined;
  } catch (error) {
    if (error instanceof TransactionCanceledException || (error as Error)?.name === 'TransactionCanceledException') {
      return (error as TransactionCanceledException).CancellationReasons ?? [];
    }
    throw error;
  }
}

/** Back off before another attempt when a reason is transient; otherwise fail with the reasons. */
export async function retryOrThrow(t: DynamoDBTable, operation: StoreOperation, reasons: CancellationReason[], attempt: number): Promise<void> {
  const transient = reasons.some((reason) => RETRYABLE_REASONS.has(reason.Code ?? ''));
  if (transient && attempt + 1 < t.maxAttempts) {
    await backoff(attempt);
    return;
  }
  const codes = reasons.map((reason) => reason.Code ?? 'unknown').join(', ');
  throw new Error(
    `${operation}: DynamoDB transaction cancelled (${codes || 'no reasons'})` +
      (transient ? ` after ${attempt + 1} attempts` : ''),
  );
}

/** Every page of a Query, unmarshalled. */
export async function* queryPages(t: DynamoDBTable, operation: StoreOperation, input: Omit<QueryCommandInput, 'TableName'>): AsyncGenerator<Record<string, unknown>[]> {
  let exclusiveStartKey: Item | undefined;
  do {
    const output = await t.client.send(
      new QueryCommand({
        ...input,
        TableName: t.tableName,
        ExclusiveStartKey: exclusiveStartKey,
        Limit: t.options.pageSize,
        ReturnConsumedCapacity: t.returnConsumedCapacity,
      }),
    );
    report(t, operation, 'Query', output.ConsumedCapacity);
    yield (output.Items ?? []).map((item) => unmarshall(item));
    exclusiveStartKey = output.LastEvaluatedKey;
  } while (exclusiveStartKey);
}

/** Delete keys in batches of 25, a few batches at a time, retrying unprocessed items. */
export async function batchDelete(t: DynamoDBTable, operation: StoreOperation, keys: readonly TableKey[]): Promise<void> {
  const unique = [...new Map(keys.map((key) => [`${key.pk}\u0000${key.sk}`, key])).values()];
  const batches: TableKey[][] = [];
  for (let i = 0; i < unique.length; i += BATCH_WRITE_LIMIT) batches.push(unique.slice(i, i + BATCH_WRITE_LIMIT));
  await forEachBounded([batches], DELETE_CONCURRENCY, (batch) => deleteBatch(t, operation, batch));
}

async function deleteBatch(t: DynamoDBTable, operation: StoreOperation, keys: TableKey[]): Promise<void> {
  await writeBatch(t, operation, keys.map((key) => ({ DeleteRequest: { Key: toItem(keyAttributes(key)) } })));
}

/** One BatchWriteItem (at most 25 requests), retrying unprocessed items with backoff. */
export async function writeBatch(t: DynamoDBTable, operation: StoreOperation, writes: WriteRequest[]): Promise<void> {
  let requests = writes;
  for (let attempt = 0; ; attempt++) {
    const output = await t.client.send(
      new BatchWriteItemCommand({
        RequestItems: { [t.tableName]: requests },
        ReturnConsumedCapacity: t.returnConsumedCapacity,
      }),
    );
    report(t, operation, 'BatchWriteItem', output.ConsumedCapacity);
    requests = output.UnprocessedItems?.[t.tableName] ?? [];
    if (requests.length === 0) return;
    if (attempt + 1 >= t.maxAttempts) {
      throw new Error(`${operation}: ${requests.length} writes still unprocessed by DynamoDB after ${attempt + 1} attempts`);
    }
    await backoff(attempt);
  }
}

/** The table's key attributes for a key (stored lists of index keys hold `{ pk, sk }` maps). */
export function keyAttributes(key: TableKey): Record<string, string> {
  return { [PARTITION_KEY]: key.pk, [SORT_KEY]: key.sk };
}

/** Marshalls a row, leaving out undefined attributes. */
export function toItem(value: Record<string, unknown>): Item {
  return marshall(value, { removeUndefinedValues: true });
}

/** Whether a single-item request failed its condition. */
export function isConditionalCheckFailed(error: unknown): boolean {
  return (error as Error | undefined)?.name === 'ConditionalCheckFailedException';
}
