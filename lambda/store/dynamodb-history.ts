/**
 * The requests of a route's event history in the DynamoDB store (`HIST#{path}` partitions, one
 * row per event). Event ids come from the rows themselves: an append writes the row of the next
 * id with `attribute_not_exists`, so the ids of a route are dense and ordered by commit, and the
 * absence of the row after an id is the single condition a resuming subscription goes live on.
 */
import {
  PutItemCommand,
  QueryCommand,
  type AttributeValue,
  type ConsumedCapacity,
  type DynamoDBClient,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from '../constants';
import {
  eventIdOfSortKey,
  firstSequence,
  formatEventId,
  historyEventKey,
  historyEventSortKey,
  historyPartitionKey,
  nextEventId,
  type HistoryAppend,
  type HistoryEventRecord,
  type HistoryFence,
} from './history';
import type { FilterEntry } from './store';

/** What the history requests need from the store. */
export interface HistoryRequests {
  readonly client: Pick<DynamoDBClient, 'send'>;
  readonly tableName: string;
  readonly returnConsumedCapacity: 'TOTAL' | undefined;
  readonly pageSize: number | undefined;
  report(operation: 'appendEvent' | 'readEvents', command: string, capacity: ConsumedCapacity | undefined): void;
}

const FILTER = 'filter';
const RESULT = 'result';
/** Appends that lose the race for an id before the store reads the route's last id again. */
const GUESSES_BEFORE_READ = 3;
/** Attempts of one append (each a conditional write; a lost race is retried at once). */
const MAX_APPEND_ATTEMPTS = 64;

/** The last sequence number in a route's history (consistent read), if it holds any row. */
async function lastSequence(rq: HistoryRequests, path: string): Promise<number | undefined> {
  const output = await rq.client.send(new QueryCommand({
    TableName: rq.tableName,
    KeyConditionExpression: '#pk = :pk',
    ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY },
    ExpressionAttributeValues: marshall({ ':pk': historyPartitionKey(path) }),
    ProjectionExpression: '#sk',
    Select: 'SPECIFIC_ATTRIBUTES',
    ScanIndexForward: false,
    Limit: 1,
    ConsistentRead: true,
    ReturnConsumedCapacity: rq.returnConsumedCapacity,
  }));
  rq.report('appendEvent', 'Query', output.ConsumedCapacity);
  const item = output.Items?.[0];
  return item ? Number(eventIdOfSortKey(unmarshall(item)[SORT_KEY] as string)) : undefined;
}

/**
 * Writes the event at the next free id of its route. `sequences` remembers the last id this
 * instance saw per route, so a lone publisher writes once per event; a publisher that lost the
 * race for an id tries the next ones, then reads the route's last id again.
 */
export async function appendHistoryEvent(rq: HistoryRequests, sequences: Map<string, number>, event: HistoryAppend): Promise<string> {
  const { path, filter, expireAt } = event;
  let seq = sequences.get(path);
  for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
    if (seq === undefined || (attempt > 0 && attempt % GUESSES_BEFORE_READ === 0)) {
      seq = (await lastSequence(rq, path)) ?? firstSequence(Date.now()) - 1;
    }
    const eventId = formatEventId(seq + 1);
    const key = historyEventKey(path, eventId);
    try {
      const output = await rq.client.send(new PutItemCommand({
        TableName: rq.tableName,
        Item: marshall({
          [PARTITION_KEY]: key.pk,
          [SORT_KEY]: key.sk,
          ...(filter ? { [FILTER]: { name: filter.name, values: [...filter.values] } } : {}),
          [RESULT]: event.encode(eventId),
          [TTL_ATTRIBUTE]: expireAt,
        }, { removeUndefinedValues: true }),
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': PARTITION_KEY },
        ReturnConsumedCapacity: rq.returnConsumedCapacity,
      }));
      rq.report('appendEvent', 'PutItem', output.ConsumedCapacity);
      sequences.set(path, seq + 1);
      return eventId;
    } catch (error) {
      if ((error as Error | undefined)?.name !== 'ConditionalCheckFailedException') throw error;
      seq += 1;
    }
  }
  throw new Error(`appendEvent: no free event id in the history of "${path}" after ${MAX_APPEND_ATTEMPTS} attempts (too many concurrent publishers)`);
}

/** Streams a route's history from `fromEventId` (inclusive), in id order, strongly consistent. */
export async function* readHistoryEvents(rq: HistoryRequests, path: string, fromEventId: string): AsyncIterable<readonly HistoryEventRecord[]> {
  let exclusiveStartKey: Record<string, AttributeValue> | undefined;
  do {
    const output = await rq.client.send(new QueryCommand({
      TableName: rq.tableName,
      KeyConditionExpression: '#pk = :pk AND #sk >= :from',
      ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY, '#filter': FILTER, '#result': RESULT, '#ttl': TTL_ATTRIBUTE },
      ExpressionAttributeValues: marshall({ ':pk': historyPartitionKey(path), ':from': historyEventSortKey(fromEventId) }),
      ProjectionExpression: '#sk, #filter, #result, #ttl',
      Select: 'SPECIFIC_ATTRIBUTES',
      ConsistentRead: true,
      ExclusiveStartKey: exclusiveStartKey,
      Limit: rq.pageSize,
      ReturnConsumedCapacity: rq.returnConsumedCapacity,
    }));
    rq.report('readEvents', 'Query', output.ConsumedCapacity);
    yield (output.Items ?? []).map((raw) => {
      const item = unmarshall(raw);
      const filter = item[FILTER] as FilterEntry | undefined;
      return {
        eventId: eventIdOfSortKey(item[SORT_KEY] as string),
        ...(filter ? { filter } : {}),
        result: item[RESULT] as string,
        expireAt: item[TTL_ATTRIBUTE] as number,
      };
    });
    exclusiveStartKey = output.LastEvaluatedKey;
  } while (exclusiveStartKey);
}

/** The last event of a route's history (its id and expiry; consistent read), if it holds any row. */
export async function readLastHistoryEvent(rq: HistoryRequests, path: string): Promise<Pick<HistoryEventRecord, 'eventId' | 'expireAt'> | undefined> {
  const output = await rq.client.send(new QueryCommand({
    TableName: rq.tableName,
    KeyConditionExpression: '#pk = :pk',
    ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY, '#ttl': TTL_ATTRIBUTE },
    ExpressionAttributeValues: marshall({ ':pk': historyPartitionKey(path) }),
    ProjectionExpression: '#sk, #ttl',
    Select: 'SPECIFIC_ATTRIBUTES',
    ScanIndexForward: false,
    Limit: 1,
    ConsistentRead: true,
    ReturnConsumedCapacity: rq.returnConsumedCapacity,
  }));
  rq.report('readEvents', 'Query', output.ConsumedCapacity);
  const item = output.Items?.[0] ? unmarshall(output.Items[0]) : undefined;
  return item ? { eventId: eventIdOfSortKey(item[SORT_KEY] as string), expireAt: item[TTL_ATTRIBUTE] as number } : undefined;
}

/** The transaction item of a {@link HistoryFence}: the row of the id after the fence is absent. */
export function historyFenceCheck(tableName: string, fence: HistoryFence): TransactWriteItem {
  const key = historyEventKey(fence.path, nextEventId(fence.afterEventId));
  return {
    ConditionCheck: {
      TableName: tableName,
      Key: marshall({ [PARTITION_KEY]: key.pk, [SORT_KEY]: key.sk }),
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': PARTITION_KEY },
    },
  };
}
