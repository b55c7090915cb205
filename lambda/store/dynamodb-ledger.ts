/**
 * The {@link DeliveryLedger} on the subscriptions table: one row per delivery batch
 * (`QUEUE#{batchId}` / `BATCH`) holding a lease, the delivered target indexes (a number set) and
 * a done flag, expiring with TTL. Two writes per batch (claim, record), no reads.
 */
import { DynamoDBClient, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { PARTITION_KEY, SORT_KEY, TABLE_NAME_ENV, TTL_ATTRIBUTE } from '../constants';
import { deliveryLedgerKey } from './keys';
import type { DeliveryClaim, DeliveryLedger } from './ledger';

/** Options of {@link dynamodbLedger}. */
export interface DynamoDBLedgerOptions {
  /**
   * Name of the subscriptions table.
   * @default - the `TRPC_SUBSCRIPTIONS_TABLE_NAME` environment variable, read at first use
   */
  readonly tableName?: string;
  /**
   * The client to call DynamoDB with.
   * @default - one `new DynamoDBClient({})` per Lambda runtime, created at first use
   */
  readonly dynamoDBClient?: DynamoDBClient;
}

let sharedClient: DynamoDBClient | undefined;

/** The delivery ledger of the fan-out worker on the subscriptions table. */
export function dynamodbLedger(options: DynamoDBLedgerOptions = {}): DeliveryLedger {
  const client = () => options.dynamoDBClient ?? (sharedClient ??= new DynamoDBClient({}));
  const tableName = () => {
    const name = options.tableName ?? process.env[TABLE_NAME_ENV];
    if (!name) throw new Error(`dynamodbLedger() has no table name: pass \`tableName\` or set ${TABLE_NAME_ENV}`);
    return name;
  };
  const key = (batchId: string) => {
    const { pk, sk } = deliveryLedgerKey(batchId);
    return marshall({ [PARTITION_KEY]: pk, [SORT_KEY]: sk });
  };
  const names = { '#lease': 'leaseUntil', '#delivered': 'delivered', '#done': 'done', '#exp': TTL_ATTRIBUTE };
  return {
    async claim(batchId, leaseMs): Promise<DeliveryClaim> {
      const now = Date.now();
      try {
        const output = await client().send(new UpdateItemCommand({
          TableName: tableName(),
          Key: key(batchId),
          UpdateExpression: 'SET #lease = :until, #exp = if_not_exists(#exp, :exp)',
          ConditionExpression: 'attribute_not_exists(#lease) OR #lease < :now',
          ExpressionAttributeNames: { '#lease': names['#lease'], '#exp': names['#exp'] },
          ExpressionAttributeValues: marshall({ ':until': now + leaseMs, ':now': now, ':exp': Math.floor(now / 1000) + 24 * 3600 }),
          ReturnValues: 'ALL_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }));
        return { busy: false, ...progressOf(output.Attributes) };
      } catch (error) {
        if ((error as Error | undefined)?.name !== 'ConditionalCheckFailedException') throw error;
        return { busy: true, ...progressOf((error as { Item?: Record<string, AttributeValue> }).Item) };
      }
    },
    async record(batchId, delivered, done, retentionSeconds) {
      const sets = ['#exp = :exp', ...(done ? ['#done = :true'] : [])];
      await client().send(new UpdateItemCommand({
        TableName: tableName(),
        Key: key(batchId),
        UpdateExpression: `SET ${sets.join(', ')} REMOVE #lease${delivered.length > 0 ? ' ADD #delivered :delivered' : ''}`,
        ExpressionAttributeNames: {
          '#lease': names['#lease'],
          '#exp': names['#exp'],
          ...(done ? { '#done': names['#done'] } : {}),
          ...(delivered.length > 0 ? { '#delivered': names['#delivered'] } : {}),
        },
        ExpressionAttributeValues: marshall({
          ':exp': Math.floor(Date.now() / 1000) + retentionSeconds,
          ...(done ? { ':true': true } : {}),
          ...(delivered.length > 0 ? { ':delivered': new Set(delivered) } : {}),
        }),
      }));
    },
  };
}

function progressOf(item: Record<string, AttributeValue> | undefined): Omit<DeliveryClaim, 'busy'> {
  if (!item) return { done: false, delivered: new Set() };
  const row = unmarshall(item);
  const delivered = row.delivered instanceof Set ? new Set([...row.delivered].map(Number)) : new Set<number>();
  return { done: row.done === true, delivered };
}
