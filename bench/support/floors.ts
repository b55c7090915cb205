/**
 * Floors of the connection lifecycle, measured in the same run as the library: for each
 * operation, the DynamoDB requests the key design needs at least (docs/performance.md, "The
 * minimum per operation"), sent bare from the bench process (a plain client: no library code, no
 * deadline, no meter) to the same DynamoDB Local, on rows shaped like the library's (the example
 * app's `onMessage` with its two filters, as `subscriberRows` writes them).
 */
import {
  BatchWriteItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  type DynamoDBClient,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { ageIndexKey, connectionKey, connectionPartitionKey, indexKeys, subscriptionKey, type TableKey } from '../../lambda/store/keys';

const PATH = 'onMessage';

/** A prepared bare request (built before the clock starts): sending it is the floor. */
export type FloorRequest = () => Promise<unknown>;

/** The example's filter entries for a subscriber of `room` without a user (ctx.userId 'anon'). */
export function roomFilters(room: string) {
  return [{ name: 'byRoom', values: [room] }, { name: 'byUserAndRoom', values: ['anon', room] }];
}

/** Bare requests on one table. */
export class LifecycleFloor {
  private readonly expireAt = Math.floor(Date.now() / 1000) + 7800;

  constructor(private readonly client: DynamoDBClient, private readonly tableName: string) {}

  /** `$connect`: the connection row and its age bucket row, one BatchWriteItem. */
  connect(connectionId: string): FloorRequest {
    const connectedAt = Date.now();
    const { expireAt } = this;
    const rows = [
      { ...connectionKey(connectionId), connectionId, connectedAt, expireAt, awaitingConnectionParams: false, connect: { sourceIp: '127.0.0.1' } },
      { ...ageIndexKey(connectedAt, connectionId), connectionId, connectedAt, expireAt },
    ];
    const command = new BatchWriteItemCommand({ RequestItems: { [this.tableName]: rows.map((row) => ({ PutRequest: { Item: marshall(row) } })) } });
    return () => this.client.send(command);
  }

  /**
   * A subscribe: one TransactWriteItems of the connection's count (conditioned on the row and the
   * cap), the subscription row (conditioned on being new) and its index rows.
   */
  subscribe(connectionId: string, subscriptionId: number, room: string): FloorRequest {
    const owned = indexKeys(PATH, roomFilters(room), connectionId, subscriptionId);
    const delivery = { connectionId, subscriptionId, expireAt: this.expireAt };
    const command = new TransactWriteItemsCommand({
      TransactItems: [
        {
          Update: {
            TableName: this.tableName,
            Key: marshall(connectionKey(connectionId)),
            UpdateExpression: 'SET subscriptionCount = if_not_exists(subscriptionCount, :zero) + :one',
            ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(subscriptionCount) OR subscriptionCount < :max)',
            ExpressionAttributeValues: marshall({ ':zero': 0, ':one': 1, ':max': 1_000_000 }),
          },
        },
        { Put: { TableName: this.tableName, Item: marshall({ ...subscriptionKey(connectionId, subscriptionId), ...delivery, path: PATH, indexKeys: owned }), ConditionExpression: 'attribute_not_exists(pk)' } },
        ...owned.map((key): TransactWriteItem => ({ Put: { TableName: this.tableName, Item: marshall({ ...key, ...delivery }) } })),
      ],
    });
    return () => this.client.send(command);
  }

  /** A stop whose index keys are known: one TransactWriteItems deleting the rows and freeing the slot. */
  stop(connectionId: string, subscriptionId: number, room: string): FloorRequest {
    const owned = indexKeys(PATH, roomFilters(room), connectionId, subscriptionId);
    const command = new TransactWriteItemsCommand({
      TransactItems: [
        { Delete: { TableName: this.tableName, Key: marshall(subscriptionKey(connectionId, subscriptionId)), ConditionExpression: 'attribute_exists(pk)' } },
        ...owned.map((key): TransactWriteItem => ({ Delete: { TableName: this.tableName, Key: marshall(key) } })),
        {
          Update: {
            TableName: this.tableName,
            Key: marshall(connectionKey(connectionId)),
            UpdateExpression: 'SET subscriptionCount = subscriptionCount - :one',
            ConditionExpression: 'attribute_exists(pk) AND subscriptionCount > :zero',
            ExpressionAttributeValues: marshall({ ':zero': 0, ':one': 1 }),
          },
        },
      ],
    });
    return () => this.client.send(command);
  }

  /**
   * `$disconnect`, with the key design's guarantees: the connection's rows are known only by
   * reading its partition (a strongly consistent Query); the connection row goes with the index
   * rows (one BatchWriteItem); a second Query, once nothing can be added, reads the subscription
   * rows as they are then, and they go last (so that index rows stay findable through them if
   * this dies midway).
   */
  disconnect(connectionId: string): FloorRequest {
    return async () => {
      const { first } = await this.readPartition(connectionId);
      await this.deleteKeys(first);
      const { rows } = await this.readPartition(connectionId);
      await this.deleteKeys(rows);
    };
  }

  /** `$disconnect` without those guarantees: one Query, then every row in one BatchWriteItem. */
  disconnectUnguarded(connectionId: string): FloorRequest {
    return async () => {
      const { first, rows } = await this.readPartition(connectionId);
      await this.deleteKeys([...first, ...rows]);
    };
  }

  private partitionQuery(connectionId: string): QueryCommand {
    return new QueryCommand({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: marshall({ ':pk': connectionPartitionKey(connectionId) }),
      ProjectionExpression: 'pk, sk, indexKeys, connectedAt',
      ConsistentRead: true,
    });
  }

  /** The partition's rows: `first` the connection row, its age bucket row and the index rows; `rows` the subscription rows. */
  private async readPartition(connectionId: string): Promise<{ first: TableKey[]; rows: TableKey[] }> {
    const output = await this.client.send(this.partitionQuery(connectionId));
    const first: TableKey[] = [];
    const rows: TableKey[] = [];
    for (const item of (output.Items ?? []).map((raw) => unmarshall(raw))) {
      const key = { pk: item.pk as string, sk: item.sk as string };
      if (typeof item.connectedAt === 'number') first.push(key, ageIndexKey(item.connectedAt, connectionId));
      else rows.push(key);
      first.push(...((item.indexKeys ?? []) as TableKey[]));
    }
    return { first, rows };
  }

  /** One BatchWriteItem deleting `keys` (at most 25). */
  private async deleteKeys(keys: readonly TableKey[]): Promise<void> {
    if (keys.length > 25) throw new Error(`floor: ${keys.length} rows do not fit one BatchWriteItem`);
    if (keys.length === 0) return;
    const deletes = keys.map((key) => ({ DeleteRequest: { Key: marshall(key) } }));
    await this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.tableName]: deletes } }));
  }
}
