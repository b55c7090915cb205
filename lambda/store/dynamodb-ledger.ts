/**
 * The {@link DeliveryLedger} on the subscriptions table, expiring with TTL:
 * - one row per delivery batch (`QUEUE#{batchId}` / `BATCH`) holding a lease, the delivered
 *   target indexes (a number set) and a done flag: two writes per batch (claim, record), no reads;
 * - per publish, its split (`QUEUE#{publishId}` / `SPLIT`: a lease and a done flag) and the
 *   targets of each batch it cut (`CUT#{index}`, JSON): two writes per publish, one write per
 *   batch (BatchWriteItem, one request per 10 batches), and one Query only when a split is retried.
 */
import {
  BatchWriteItemCommand, DynamoDBClient, QueryCommand, UpdateItemCommand, type AttributeValue, type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { PARTITION_KEY, SORT_KEY, TABLE_NAME_ENV, TTL_ATTRIBUTE } from '../constants';
import { CUT_SORT_PREFIX, cutLedgerKey, deliveryLedgerKey, splitLedgerKey, splitLedgerPartition, type TableKey } from './keys';
import type { CutBatch, DeliveryClaim, DeliveryLedger, SplitClaim } from './ledger';
import type { DeliveryTarget } from '../queue/messages';
import { backoff } from '../util/backoff';
import { requestHandlerOptions, settleTimeouts, withDeadline, type TimeoutOptions } from '../util/deadline';

/** Options of {@link dynamodbLedger}. */
export interface DynamoDBLedgerOptions {
  /**
   * Name of the subscriptions table.
   * @default - the `TRPC_SUBSCRIPTIONS_TABLE_NAME` environment variable, read at first use
   */
  readonly tableName?: string;
  /**
   * The client to call DynamoDB with.
   * @default - one `DynamoDBClient` per Lambda runtime and `timeouts`, created at first use
   */
  readonly dynamoDBClient?: DynamoDBClient;
  /**
   * Timeouts of the ledger's DynamoDB calls, so that none can hang: connection and request
   * timeouts of the default client, and a deadline for every call (retries included).
   * @default - connection 1 s, request 3 s, whole call 6 s
   */
  readonly timeouts?: TimeoutOptions;
}

/** BatchWriteItem takes at most 25 requests. */
const BATCH_WRITE_LIMIT = 25;
/** Attempts of a BatchWriteItem whose items DynamoDB left unprocessed. */
const MAX_BATCH_WRITE_ATTEMPTS = 8;
/** How long a claimed row lives when its holder never records (a crash): past SQS's retries of it. */
const CLAIM_RETENTION_SECONDS = 24 * 3600;

const sharedClients = new Map<string, DynamoDBClient>();

const NAMES = { lease: 'leaseUntil', delivered: 'delivered', done: 'done', targets: 'targets' } as const;

/** The delivery ledger of the fan-out worker on the subscriptions table. */
export function dynamodbLedger(options: DynamoDBLedgerOptions = {}): DeliveryLedger {
  const timeouts = settleTimeouts(options.timeouts);
  const client = () => options.dynamoDBClient ?? defaultClient(timeouts);
  const tableName = () => {
    const name = options.tableName ?? process.env[TABLE_NAME_ENV];
    if (!name) throw new Error(`dynamodbLedger() has no table name: pass \`tableName\` or set ${TABLE_NAME_ENV}`);
    return name;
  };
  // Every call within its deadline, whatever the client's HTTP layer does.
  const send = ((command: object) => withDeadline(
    timeouts.callTimeoutMs, `the fan-out ledger's ${command.constructor.name.replace(/Command$/, '')}`,
    (abortSignal) => client().send(command as never, { abortSignal }),
  )) as DynamoDBClient['send'];
  const key = ({ pk, sk }: TableKey) => marshall({ [PARTITION_KEY]: pk, [SORT_KEY]: sk });
  const expiry = (seconds: number) => Math.floor(Date.now() / 1000) + seconds;

  /** Takes a lease on a row unless a live one exists (or, with `unlessDone`, the row is done); the row as it was. */
  const lease = async (rowKey: TableKey, leaseMs: number, unlessDone: boolean): Promise<{ taken: boolean; row?: Record<string, unknown> }> => {
    const now = Date.now();
    try {
      const output = await send(new UpdateItemCommand({
        TableName: tableName(),
        Key: key(rowKey),
        UpdateExpression: 'SET #lease = :until, #exp = if_not_exists(#exp, :exp)',
        ConditionExpression: `(attribute_not_exists(#lease) OR #lease < :now)${unlessDone ? ' AND attribute_not_exists(#done)' : ''}`,
        ExpressionAttributeNames: { '#lease': NAMES.lease, '#exp': TTL_ATTRIBUTE, ...(unlessDone ? { '#done': NAMES.done } : {}) },
        ExpressionAttributeValues: marshall({ ':until': now + leaseMs, ':now': now, ':exp': expiry(CLAIM_RETENTION_SECONDS) }),
        ReturnValues: 'ALL_OLD',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }));
      return { taken: true, ...(output.Attributes ? { row: unmarshall(output.Attributes) } : {}) };
    } catch (error) {
      if ((error as Error | undefined)?.name !== 'ConditionalCheckFailedException') throw error;
      const item = (error as { Item?: Record<string, AttributeValue> }).Item;
      return { taken: false, ...(item ? { row: unmarshall(item) } : {}) };
    }
  };

  /** Releases a row's lease, keeps it `retentionSeconds` more, marks it done when `done`, adds delivered indexes. */
  const release = async (rowKey: TableKey, done: boolean, retentionSeconds: number, delivered: readonly number[] = []) => {
    const sets = ['#exp = :exp', ...(done ? ['#done = :true'] : [])];
    await send(new UpdateItemCommand({
      TableName: tableName(),
      Key: key(rowKey),
      UpdateExpression: `SET ${sets.join(', ')} REMOVE #lease${delivered.length > 0 ? ' ADD #delivered :delivered' : ''}`,
      ExpressionAttributeNames: {
        '#lease': NAMES.lease,
        '#exp': TTL_ATTRIBUTE,
        ...(done ? { '#done': NAMES.done } : {}),
        ...(delivered.length > 0 ? { '#delivered': NAMES.delivered } : {}),
      },
      ExpressionAttributeValues: marshall({
        ':exp': expiry(retentionSeconds),
        ...(done ? { ':true': true } : {}),
        ...(delivered.length > 0 ? { ':delivered': new Set(delivered) } : {}),
      }),
    }));
  };

  /** One BatchWriteItem of at most 25 puts, retrying what DynamoDB left unprocessed. */
  const writeBatch = async (writes: WriteRequest[]) => {
    let requests = writes;
    for (let attempt = 0; ; attempt++) {
      const output = await send(new BatchWriteItemCommand({
        RequestItems: { [tableName()]: requests },
      }));
      requests = output.UnprocessedItems?.[tableName()] ?? [];
      if (requests.length === 0) return;
      if (attempt + 1 >= MAX_BATCH_WRITE_ATTEMPTS) {
        throw new Error(`the fan-out ledger's cut: ${requests.length} batches still unprocessed by DynamoDB after ${attempt + 1} attempts`);
      }
      await backoff(attempt);
    }
  };

  return {
    async claim(batchId, leaseMs): Promise<DeliveryClaim> {
      const { taken, row } = await lease(deliveryLedgerKey(batchId), leaseMs, false);
      return { busy: !taken, ...progressOf(row) };
    },
    async record(batchId, delivered, done, retentionSeconds) {
      await release(deliveryLedgerKey(batchId), done, retentionSeconds, delivered);
    },
    async claimSplit(publishId, leaseMs): Promise<SplitClaim> {
      const { taken, row } = await lease(splitLedgerKey(publishId), leaseMs, true);
      const done = row?.[NAMES.done] === true;
      return { busy: !taken && !done, done, resumed: row !== undefined };
    },
    async saveCut(publishId, batches, retentionSeconds) {
      const expireAt = expiry(retentionSeconds);
      const writes: WriteRequest[] = batches.map(({ index, targets }) => {
        const { pk, sk } = cutLedgerKey(publishId, index);
        // JSON text: a list of lists would be larger and slower to (un)marshall, and is never queried into.
        const item = { [PARTITION_KEY]: pk, [SORT_KEY]: sk, [NAMES.targets]: JSON.stringify(targets), [TTL_ATTRIBUTE]: expireAt };
        return { PutRequest: { Item: marshall(item) } };
      });
      const groups: WriteRequest[][] = [];
      for (let i = 0; i < writes.length; i += BATCH_WRITE_LIMIT) groups.push(writes.slice(i, i + BATCH_WRITE_LIMIT));
      await Promise.all(groups.map((group) => writeBatch(group)));
    },
    async readCut(publishId) {
      const batches: CutBatch[] = [];
      let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
      do {
        const page = await send(new QueryCommand({
          TableName: tableName(),
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :cut)',
          ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY, '#targets': NAMES.targets },
          ExpressionAttributeValues: marshall({ ':pk': splitLedgerPartition(publishId), ':cut': CUT_SORT_PREFIX }),
          ProjectionExpression: '#sk, #targets',
          ConsistentRead: true,
          ExclusiveStartKey,
        }));
        for (const item of page.Items ?? []) {
          const row = unmarshall(item);
          const index = Number(String(row[SORT_KEY]).slice(CUT_SORT_PREFIX.length));
          batches.push({ index, targets: JSON.parse(String(row[NAMES.targets])) as DeliveryTarget[] });
        }
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      // Sort keys order `CUT#10` before `CUT#2`.
      return batches.sort((a, b) => a.index - b.index);
    },
    async finishSplit(publishId, done, retentionSeconds) {
      await release(splitLedgerKey(publishId), done, retentionSeconds);
    },
  };
}

/** One client per timeout setting, created at first use, reused across invocations. */
function defaultClient(timeouts: Required<TimeoutOptions>): DynamoDBClient {
  const cacheKey = JSON.stringify(timeouts);
  let client = sharedClients.get(cacheKey);
  if (!client) {
    client = new DynamoDBClient({ requestHandler: requestHandlerOptions(timeouts) });
    sharedClients.set(cacheKey, client);
  }
  return client;
}

function progressOf(row: Record<string, unknown> | undefined): Omit<DeliveryClaim, 'busy'> {
  if (!row) return { done: false, delivered: new Set() };
  const delivered = row[NAMES.delivered] instanceof Set ? new Set([...(row[NAMES.delivered] as Set<unknown>)].map(Number)) : new Set<number>();
  return { done: row[NAMES.done] === true, delivered };
}
