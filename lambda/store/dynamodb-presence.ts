/**
 * The requests of room presence in the DynamoDB store (docs/table-design.md "Room presence"): a
 * member row per member of a room (`PRES#…` partition, one per room), a pointer row per
 * subscription (`PRESREF#{conn}` partition). Every change of a member row is conditional on the
 * row's revision (`rev`), so concurrent joins and releases of one member never lose an update.
 */
import {
  DeleteItemCommand,
  GetItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
  type ConsumedCapacity,
  type DynamoDBClient,
  type TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from '../constants';
import { subscriptionKey, type TableKey } from './keys';
import {
  memberKey,
  memberRef,
  MEMBER_SORT_PREFIX,
  pointerKey,
  pointerPartitionKey,
  refExpireAt,
  type PresenceJoin,
  type PresenceJoinResult,
  type PresenceMemberRow,
  type PresenceRows,
  type ReleasedMember,
  type RoomKey,
} from './presence';
import type { FilterValue, RequestId } from './store';
import { backoff } from '../util/backoff';

/** What the presence requests need from the store. */
export interface PresenceRequests {
  readonly client: Pick<DynamoDBClient, 'send'>;
  readonly tableName: () => string;
  readonly pageSize?: number;
  /** Reports consumed capacity (the store's `onConsumedCapacity`), when it asks for it. */
  readonly report?: (operation: string, command: string, capacity: ConsumedCapacity | ConsumedCapacity[] | undefined) => void;
}

type Item = Record<string, AttributeValue>;

const KEY = 'key';
const MEMBER = 'member';
const PRESENT = 'present';
const VERSION = 'v';
const REVISION = 'rev';
const REFS = 'refs';
const ROOM = 'room';
const REF = 'ref';
const PATH = 'path';
const VALUES = 'values';
/** Attempts of a join whose member row changed between its read and its write. */
const MAX_JOIN_ATTEMPTS = 8;

/** Presence over a DynamoDB table with the construct's schema. */
export function dynamodbPresence(requests: PresenceRequests): PresenceRows {
  const { client } = requests;
  const capacity = requests.report ? { ReturnConsumedCapacity: 'TOTAL' as const } : {};
  const report = (operation: string, command: string, consumed: ConsumedCapacity | ConsumedCapacity[] | undefined) =>
    requests.report?.(operation, command, consumed);

  const readMember = async (key: TableKey): Promise<Record<string, unknown> | undefined> => {
    const output = await client.send(new GetItemCommand({
      TableName: requests.tableName(), Key: toItem({ ...key }), ConsistentRead: true, ...capacity,
    }));
    report('presenceJoin', 'GetItem', output.ConsumedCapacity);
    return output.Item ? unmarshall(output.Item) : undefined;
  };

  return {
    async join(join: PresenceJoin): Promise<PresenceJoinResult> {
      const key = memberKey(join.room, join.key);
      const ref = memberRef(join.connectionId, join.subscriptionId, join.expireAt);
      for (let attempt = 0; ; attempt++) {
        const old = await readMember(key);
        const wasPresent = old?.[PRESENT] === true && Number(old[TTL_ATTRIBUTE]) * 1000 > Date.now();
        const version = wasPresent ? Number(old![VERSION]) : nextVersion(old);
        const expireAt = Math.max(join.expireAt, wasPresent ? Number(old![TTL_ATTRIBUTE]) : 0);
        const row = {
          key: join.key, member: join.member, present: true, version, liveUntil: expireAt,
        } satisfies PresenceMemberRow;
        try {
          const output = await client.send(new TransactWriteItemsCommand({
            TransactItems: [
              {
                ConditionCheck: {
                  TableName: requests.tableName(),
                  Key: toItem({ ...subscriptionKey(join.connectionId, join.subscriptionId) }),
                  ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#stopped)',
                  ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#stopped': 'stopped' },
                },
              },
              {
                Update: {
                  TableName: requests.tableName(),
                  Key: toItem({ ...key }),
                  UpdateExpression: 'SET #key = :key, #member = :member, #present = :true, #v = :v, #exp = :exp ADD #refs :ref, #rev :one',
                  ConditionExpression: old === undefined ? 'attribute_not_exists(#pk)' : '#rev = :rev',
                  ExpressionAttributeNames: {
                    '#key': KEY,
                    '#member': MEMBER,
                    '#present': PRESENT,
                    '#v': VERSION,
                    '#exp': TTL_ATTRIBUTE,
                    '#refs': REFS,
                    '#rev': REVISION,
                    ...(old === undefined ? { '#pk': PARTITION_KEY } : {}),
                  },
                  ExpressionAttributeValues: toItem({
                    ':key': join.key,
                    ':member': join.member,
                    ':true': true,
                    ':v': version,
                    ':exp': expireAt,
                    ':ref': new Set([ref]),
                    ':one': 1,
                    ...(old === undefined ? {} : { ':rev': old[REVISION] }),
                  }),
                },
              },
              {
                Put: {
                  TableName: requests.tableName(),
                  Item: toItem({
                    ...pointerKey(join.connectionId, join.subscriptionId),
                    [ROOM]: join.room,
                    [PATH]: join.path,
                    [VALUES]: JSON.stringify(join.values),
                    [KEY]: join.key,
                    [REF]: ref,
                    [TTL_ATTRIBUTE]: join.expireAt,
                  }),
                },
              },
            ],
            ...capacity,
          }));
          report('presenceJoin', 'TransactWriteItems', output.ConsumedCapacity);
          return { outcome: 'stored', joined: !wasPresent, row };
        } catch (error) {
          const reasons = cancellationReasons(error);
          if (!reasons) throw error;
          if (reasons[0]?.Code === 'ConditionalCheckFailed') return { outcome: 'subscription-gone' };
          // The member row changed since it was read (another tab joined or left): read it again.
          if (attempt + 1 >= MAX_JOIN_ATTEMPTS) throw new Error(`Presence join of "${join.key}": the member row kept changing (${reasons.map((r) => r.Code).join(', ')})`);
          await backoff(attempt);
        }
      }
    },

    async release(connectionId: string, subscriptionId?: RequestId): Promise<ReleasedMember[]> {
      const pointers = subscriptionId === undefined
        // The keys only (named attributes: what a publisher's grant allows); the delete returns the rest.
        ? await queryAll(requests, capacity, report, 'presenceRelease', {
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY },
          ExpressionAttributeValues: toItem({ ':pk': pointerPartitionKey(connectionId) }),
          ProjectionExpression: '#pk, #sk',
        })
        : [pointerKey(connectionId, subscriptionId)];
      const released: ReleasedMember[] = [];
      for (const pointer of pointers) {
        // Whoever deletes the pointer releases its ref: concurrent removals (a stop and the
        // connection's $disconnect, a 410) release it once.
        let deleted: Record<string, unknown> | undefined;
        try {
          const output = await client.send(new DeleteItemCommand({
            TableName: requests.tableName(),
            Key: toItem({ pk: pointer.pk, sk: pointer.sk }),
            ConditionExpression: 'attribute_exists(#pk)',
            ExpressionAttributeNames: { '#pk': PARTITION_KEY },
            ReturnValues: 'ALL_OLD',
            ...capacity,
          }));
          report('presenceRelease', 'DeleteItem', output.ConsumedCapacity);
          deleted = output.Attributes ? unmarshall(output.Attributes) : undefined;
        } catch (error) {
          if ((error as Error)?.name === 'ConditionalCheckFailedException') continue;
          throw error;
        }
        if (!deleted) continue;
        const room = deleted[ROOM] as RoomKey;
        const key = deleted[KEY] as string;
        const output = await client.send(new UpdateItemCommand({
          TableName: requests.tableName(),
          Key: toItem({ ...memberKey(room, key) }),
          UpdateExpression: 'DELETE #refs :ref ADD #rev :one',
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#refs': REFS, '#rev': REVISION },
          ExpressionAttributeValues: toItem({ ':ref': new Set([deleted[REF] as string]), ':one': 1 }),
          ReturnValues: 'ALL_NEW',
          ...capacity,
        })).catch((error: unknown) => {
          if ((error as Error)?.name === 'ConditionalCheckFailedException') return undefined;
          throw error;
        });
        report('presenceRelease', 'UpdateItem', output?.ConsumedCapacity);
        const row = output?.Attributes ? unmarshall(output.Attributes) : undefined;
        if (row && row[PRESENT] === true && liveRefs(row).length === 0) {
          const values = JSON.parse(deleted[VALUES] as string) as FilterValue[];
          released.push({ room, path: deleted[PATH] as string, values, key, version: Number(row[VERSION]), revision: Number(row[REVISION]) });
        }
      }
      return released;
    },

    async leave(released: ReleasedMember): Promise<PresenceMemberRow | undefined> {
      try {
        const output = await client.send(new UpdateItemCommand({
          TableName: requests.tableName(),
          Key: toItem({ ...memberKey(released.room, released.key) }),
          UpdateExpression: 'SET #present = :false, #v = :next ADD #rev :one',
          // Unchanged since the release found no live ref (no join came back meanwhile).
          ConditionExpression: '#rev = :rev AND #present = :true',
          ExpressionAttributeNames: { '#present': PRESENT, '#v': VERSION, '#rev': REVISION },
          ExpressionAttributeValues: toItem({
            ':false': false, ':true': true, ':next': Math.max(released.version + 1, Date.now()), ':rev': released.revision, ':one': 1,
          }),
          ReturnValues: 'ALL_NEW',
          ...capacity,
        }));
        report('presenceLeave', 'UpdateItem', output.ConsumedCapacity);
        return output.Attributes ? toRow(unmarshall(output.Attributes)) : undefined;
      } catch (error) {
        if ((error as Error)?.name === 'ConditionalCheckFailedException') return undefined;
        throw error;
      }
    },

    async members(room: RoomKey): Promise<PresenceMemberRow[]> {
      // Named attributes only: what a publisher's grant allows (PUBLISHER_TABLE_ACCESS).
      const items = await queryAll(requests, capacity, report, 'presenceMembers', {
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: {
          '#pk': PARTITION_KEY, '#sk': SORT_KEY, '#key': KEY, '#member': MEMBER, '#present': PRESENT, '#v': VERSION, '#exp': TTL_ATTRIBUTE,
        },
        ExpressionAttributeValues: toItem({ ':pk': room, ':prefix': MEMBER_SORT_PREFIX }),
        ProjectionExpression: '#key, #member, #present, #v, #exp',
      });
      return items.map(toRow);
    },
  };
}

/**
 * The version of a member's next join or leave: above its last one and at least the clock's
 * milliseconds, so that a member row deleted by TTL and written again still orders after
 * every event a client saw of it.
 */
function nextVersion(old: Record<string, unknown> | undefined): number {
  return Math.max(old === undefined ? 0 : Number(old[VERSION]) + 1, Date.now());
}

function refsOf(row: Record<string, unknown>): string[] {
  const refs = row[REFS];
  return refs instanceof Set ? [...refs as Set<string>] : [];
}

/** Refs whose connection has not expired (a silently dropped connection's ref expires with it). */
function liveRefs(row: Record<string, unknown>): string[] {
  const now = Date.now() / 1000;
  return refsOf(row).filter((ref) => refExpireAt(ref) > now);
}

function toRow(item: Record<string, unknown>): PresenceMemberRow {
  return {
    key: item[KEY] as string,
    member: item[MEMBER] as string,
    present: item[PRESENT] === true,
    version: Number(item[VERSION]),
    liveUntil: Number(item[TTL_ATTRIBUTE] ?? 0),
  };
}

async function queryAll(
  requests: PresenceRequests,
  capacity: { ReturnConsumedCapacity?: 'TOTAL' },
  report: (operation: string, command: string, consumed: ConsumedCapacity | undefined) => void,
  operation: string,
  query: {
    KeyConditionExpression: string; ExpressionAttributeNames: Record<string, string>; ExpressionAttributeValues: Item; ProjectionExpression?: string;
  },
): Promise<Array<Record<string, unknown> & TableKey>> {
  const items: Array<Record<string, unknown> & TableKey> = [];
  let ExclusiveStartKey: Item | undefined;
  do {
    const page = await requests.client.send(new QueryCommand({
      TableName: requests.tableName(), ...query, ConsistentRead: true, ExclusiveStartKey, Limit: requests.pageSize, ...capacity,
    }));
    report(operation, 'Query', page.ConsumedCapacity);
    items.push(...(page.Items ?? []).map((item) => unmarshall(item) as Record<string, unknown> & TableKey));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

function cancellationReasons(error: unknown): TransactionCanceledException['CancellationReasons'] | undefined {
  if ((error as Error | undefined)?.name !== 'TransactionCanceledException') return undefined;
  return (error as TransactionCanceledException).CancellationReasons ?? [];
}

function toItem(value: Record<string, unknown>): Item {
  return marshall(value, { removeUndefinedValues: true });
}
