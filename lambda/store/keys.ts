/**
 * Key design of the single subscriptions table (pk/sk strings, no GSI). Pure functions, shared by
 * the DynamoDB store, the memory store and the tests. docs/table-design.md explains every choice.
 *
 * Rows (pk / sk):
 * - connection:   `CONN#{conn}` / `CONN`
 * - subscription: `CONN#{conn}` / `SUB#{id}` (a stop tombstone has the same key)
 * - filter index: `ROUTE#{path}#F#{filter}#{shard of v1}` / `{v1}{v2}...#C#{conn}#S#{id}`
 * - unfiltered:   `ROUTE#{path}#ALL#{shard of conn}` / `C#{conn}#S#{id}`
 *
 * Every filter value `{v}` is self-delimiting (type tag, escaped body, terminator), so a
 * `begins_with` on the encoded values of a leading prefix of a filter's fields matches exactly
 * the subscriptions whose leading values are equal: `u1` never matches `u10`, `"1"` never matches
 * `1`, and no value can forge a separator.
 */
import { createHash } from 'node:crypto';
import { AGE_PARTITION_PREFIX, CONNECTION_PARTITION_PREFIX, KEY_PARTITION_PREFIX, ROUTE_PARTITION_PREFIX } from '../constants';
import type { FilterEntry, FilterValue, RequestId, SubscriberQuery } from './store';

/**
 * DynamoDB's limit for a sort key value (UTF-8 bytes).
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-partition-sort-keys
 */
export const MAX_SORT_KEY_BYTES = 1024;

/** DynamoDB's limit for a partition key value (UTF-8 bytes). */
export const MAX_PARTITION_KEY_BYTES = 2048;

/**
 * An encoded filter value, connection id or subscription id longer than this (UTF-8 bytes) is
 * replaced in sort keys by a tagged SHA-256 digest (45 bytes). Small enough that a filter with
 * {@link MAX_GUARANTEED_FILTER_FIELDS} fields always fits the 1024-byte sort key.
 */
export const MAX_INLINE_SORT_KEY_PART_BYTES = 64;

/** A procedure path or filter name longer than this (UTF-8 bytes, escaped) is digested in the partition key. */
export const MAX_INLINE_PARTITION_KEY_PART_BYTES = 512;

/** A connection id longer than this (UTF-8 bytes, escaped) is digested in the `CONN#` partition key. */
export const MAX_INLINE_CONNECTION_PARTITION_BYTES = 1024;

/** Sort key of the connection row. */
export const CONNECTION_SORT_KEY = 'CONN';

/** Sort key prefix of subscription rows (and their stop tombstones). */
export const SUBSCRIPTION_SORT_KEY_PREFIX = 'SUB#';


/** The escape character of every key part. */
const ESCAPE = '\\';
/** Ends every encoded filter value. */
const TERMINATOR = ';';
/** Separates the parts of a key. */
const SEPARATOR = '#';

/** Type tags of encoded filter values. */
const TAG = {
  string: 's',
  number: 'n',
  true: 't',
  false: 'f',
  null: 'z',
  /** A value whose inline encoding was too long: the SHA-256 of that encoding. */
  digest: 'h',
} as const;

/** Length of `#C#` + `#S#` around the connection and subscription parts of an index sort key. */
const SUFFIX_SEPARATOR_BYTES = 6;

/**
 * Number of filter fields that always fit a sort key, whatever their values:
 * `(1024 - 6 - 2 * 64) / 64` = 13.
 */
export const MAX_GUARANTEED_FILTER_FIELDS = /* @__PURE__ */ Math.floor(
  (MAX_SORT_KEY_BYTES - SUFFIX_SEPARATOR_BYTES - 2 * MAX_INLINE_SORT_KEY_PART_BYTES) / MAX_INLINE_SORT_KEY_PART_BYTES,
);

/** A primary key of the table. */
export interface TableKey {
  readonly pk: string;
  readonly sk: string;
}

/** The partition and optional sort key prefix that a publish queries. */
export interface SubscriberQueryKey {
  /** Partition to query. */
  readonly pk: string;
  /** `begins_with` prefix of the sort key; undefined reads the whole partition. */
  readonly skPrefix?: string;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const NEEDS_ESCAPE = /[\\#;]/g;

/**
 * Escape a string so that it contains no bare `#` or `;` and every `\` starts a two-character
 * escape (`\\`, `\#`, `\;`) or a lone-surrogate escape (`\uD800`). Injective. Lone surrogates
 * are escaped because DynamoDB stores UTF-8, where they would all become U+FFFD and collide.
 */
export function escapeKeyPart(value: string): string {
  return value
    .replace(NEEDS_ESCAPE, (char) => ESCAPE + char)
    .replace(LONE_SURROGATE, (char) => `${ESCAPE}u${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** UTF-8 length of a string. */
export function utf8Length(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

function digest(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url');
}

/**
 * A string as one part of a key: escaped, or `\h{sha256}` when longer than `maxBytes`. The
 * digest form never collides with an escaped string (escaping never yields `\h`).
 */
export function keyPart(value: string, maxBytes: number): string {
  const escaped = escapeKeyPart(value);
  return utf8Length(escaped) <= maxBytes ? escaped : `${ESCAPE}h${digest(escaped)}`;
}

/**
 * Encode one filter value (or subscription id): type tag + escaped body + `;`. Values whose
 * encoding exceeds {@link MAX_INLINE_SORT_KEY_PART_BYTES} become `h{sha256 of the encoding};`,
 * which keeps exact-match semantics. The code is prefix-free: no encoded value is a prefix of
 * another, so concatenations compare value by value.
 *
 * @throws TypeError for anything but a string, finite or non-finite number, boolean or null
 *   (`undefined` is encoded as null)
 */
export function encodeValue(value: FilterValue | undefined): string {
  const inline = inlineValue(value);
  return utf8Length(inline) <= MAX_INLINE_SORT_KEY_PART_BYTES ? inline : `${TAG.digest}${digest(inline)}${TERMINATOR}`;
}

function inlineValue(value: FilterValue | undefined): string {
  if (value === null || value === undefined) return TAG.null + TERMINATOR;
  switch (typeof value) {
    case 'string':
      return TAG.string + escapeKeyPart(value) + TERMINATOR;
    case 'number':
      // String(-0) is '0': -0 and 0 are the same filter value, as `===` says.
      return TAG.number + escapeKeyPart(String(value)) + TERMINATOR;
    case 'boolean':
      return (value ? TAG.true : TAG.false) + TERMINATOR;
    default:
      throw new TypeError(
        `A filter value must be a string, number, boolean or null, got: ${typeof value === 'object' ? 'an object' : typeof value}`,
      );
  }
}

/**
 * Encode the values of a filter, in the filter's declared order (ctx fields first, then input
 * fields). The encoding of a leading prefix of the values is a string prefix of the encoding of
 * all values, which is what a publish with a partial filter queries with `begins_with`.
 */
export function encodeFilterValues(values: readonly (FilterValue | undefined)[]): string {
  return values.map(encodeValue).join('');
}

/** Partition key of a connection's rows (connection row, subscription rows, tombstones). */
export function connectionPartitionKey(connectionId: string): string {
  return CONNECTION_PARTITION_PREFIX + keyPart(connectionId, MAX_INLINE_CONNECTION_PARTITION_BYTES);
}

/** Key of the connection row. */
export function connectionKey(connectionId: string): TableKey {
  return { pk: connectionPartitionKey(connectionId), sk: CONNECTION_SORT_KEY };
}

/** Key of a subscription row and of its stop tombstone. */
export function subscriptionKey(connectionId: string, subscriptionId: RequestId): TableKey {
  return { pk: connectionPartitionKey(connectionId), sk: SUBSCRIPTION_SORT_KEY_PREFIX + encodeValue(subscriptionId) };
}

function routePartition(path: string): string {
  return ROUTE_PARTITION_PREFIX + keyPart(path, MAX_INLINE_PARTITION_KEY_PART_BYTES);
}

/** Partition of the unfiltered index rows of a path: one row per subscription. */
export function unfilteredPartitionKey(path: string): string {
  return `${routePartition(path)}${SEPARATOR}ALL`;
}

/** Partition of the index rows of one named filter of a path. */
export function filterPartitionKey(path: string, filterName: string): string {
  return `${routePartition(path)}${SEPARATOR}F${SEPARATOR}${keyPart(filterName, MAX_INLINE_PARTITION_KEY_PART_BYTES)}`;
}

/** `C#{conn}#S#{id}`: identifies the subscription inside an index partition. */
function subscriberSuffix(connectionId: string, subscriptionId: RequestId): string {
  return `C${SEPARATOR}${keyPart(connectionId, MAX_INLINE_SORT_KEY_PART_BYTES)}${SEPARATOR}S${SEPARATOR}${encodeValue(subscriptionId)}`;
}

/**
 * Index partitions per route and per filter. Every subscribe writes one row to the unfiltered
 * partition of its route and one per filter; spread over this many shards, a flash crowd of 1,000
 * subscribes per second to one route puts about 250 WCU/s (2 per transactional row) on each
 * unfiltered shard, below a DynamoDB partition's 1,000 WCU/s. Changing it moves every index row:
 * it is part of the table format (docs/table-design.md, "Shards").
 */
export const INDEX_SHARDS = 8;

/** The shard of a key part (a connection id, an encoded first filter value). */
export function shardOf(part: string): number {
  // The first 32 bits of SHA-256: stable across versions and runtimes, evenly spread.
  return createHash('sha256').update(part, 'utf8').digest().readUInt32BE(0) % INDEX_SHARDS;
}

/** A shard of an index partition: `{partition}#{shard}` (partition parts are escaped, so it cannot collide). */
export function shardedPartitionKey(partition: string, shard: number): string {
  return `${partition}${SEPARATOR}${shard}`;
}

/** Key of the unfiltered index row of a subscription: sharded by the connection id. */
export function unfilteredIndexKey(path: string, connectionId: string, subscriptionId: RequestId): TableKey {
  return { pk: shardedPartitionKey(unfilteredPartitionKey(path), shardOf(connectionId)), sk: subscriberSuffix(connectionId, subscriptionId) };
}

/**
 * Key of the index row of a subscription under one filter.
 * @throws RangeError when the sort key would exceed DynamoDB's 1024 bytes (only possible with
 *   more than {@link MAX_GUARANTEED_FILTER_FIELDS} fields)
 */
export function filterIndexKey(
  path: string,
  filter: FilterEntry,
  connectionId: string,
  subscriptionId: RequestId,
): TableKey {
  const sk = `${encodeFilterValues(filter.values)}${SEPARATOR}${subscriberSuffix(connectionId, subscriptionId)}`;
  const bytes = utf8Length(sk);
  if (bytes > MAX_SORT_KEY_BYTES) {
    throw new RangeError(
      `Filter '${filter.name}' of '${path}' has too many long values for a DynamoDB sort key ` +
        `(${filter.values.length} fields, ${bytes} bytes encoded, limit ${MAX_SORT_KEY_BYTES}); ` +
        `up to ${MAX_GUARANTEED_FILTER_FIELDS} fields always fit`,
    );
  }
  return { pk: shardedPartitionKey(filterPartitionKey(path, filter.name), filterShard(filter.values)), sk };
}

/**
 * The shard of a filter's index rows: by the encoded first value, so a publish that gives at
 * least the first value reads one shard.
 */
function filterShard(values: readonly (FilterValue | undefined)[]): number {
  return values.length === 0 ? 0 : shardOf(encodeValue(values[0]));
}

/** Every index key a subscription owns: the unfiltered row first, then one per filter. */
export function indexKeys(
  path: string,
  filters: readonly FilterEntry[],
  connectionId: string,
  subscriptionId: RequestId,
): TableKey[] {
  return [
    unfilteredIndexKey(path, connectionId, subscriptionId),
    ...filters.map((filter) => filterIndexKey(path, filter, connectionId, subscriptionId)),
  ];
}

/**
 * What a publish queries: every shard of the unfiltered partition (each subscription exactly
 * once), or the one shard of the filter's first value with `begins_with` on the encoded leading
 * values. An empty value list reads every shard of the filter partition, which also holds each
 * subscription exactly once.
 */
export function subscriberQueryKeys(query: SubscriberQuery): SubscriberQueryKey[] {
  const allShards = (partition: string) => Array.from({ length: INDEX_SHARDS }, (_, shard) => ({ pk: shardedPartitionKey(partition, shard) }));
  if (!query.filter) return allShards(unfilteredPartitionKey(query.path));
  const partition = filterPartitionKey(query.path, query.filter.name);
  if (query.filter.values.length === 0) return allShards(partition);
  return [{ pk: shardedPartitionKey(partition, filterShard(query.filter.values)), skPrefix: encodeFilterValues(query.filter.values) }];
}

/**
 * What a publish queried before the index was sharded (the unsharded partitions): read with
 * `dynamodb({ unshardedIndexReads: true })` while rows written by an older version live.
 */
export function subscriberQueryKey(query: SubscriberQuery): SubscriberQueryKey {
  if (!query.filter) return { pk: unfilteredPartitionKey(query.path) };
  const prefix = encodeFilterValues(query.filter.values);
  return { pk: filterPartitionKey(query.path, query.filter.name), ...(prefix ? { skPrefix: prefix } : {}) };
}

/** Partition prefix of the fan-out worker's ledger rows (delivery batches, and the splits of publishes). */
const QUEUE_PARTITION_PREFIX = 'QUEUE#';

/** Key of the ledger row of a delivery batch: `QUEUE#{batchId}` / `BATCH`. */
export function deliveryLedgerKey(batchId: string): TableKey {
  return { pk: QUEUE_PARTITION_PREFIX + keyPart(batchId, MAX_INLINE_PARTITION_KEY_PART_BYTES), sk: 'BATCH' };
}

/**
 * Partition of a publish's split: its `SPLIT` row (lease, done) and one `CUT#{index}` row per
 * delivery batch cut, so that a retried split reads what an earlier attempt cut with one Query.
 * Never a batch's partition: a batch id is `{publishId}#{index}`, whose `#` is escaped.
 */
export function splitLedgerPartition(publishId: string): string {
  return QUEUE_PARTITION_PREFIX + keyPart(publishId, MAX_INLINE_PARTITION_KEY_PART_BYTES);
}

/** Key of the row of a publish's split: `QUEUE#{publishId}` / `SPLIT`. */
export function splitLedgerKey(publishId: string): TableKey {
  return { pk: splitLedgerPartition(publishId), sk: 'SPLIT' };
}

/** Sort key prefix of the rows holding the targets of a publish's cut batches. */
export const CUT_SORT_PREFIX = 'CUT#';

/** Key of the row holding the targets of batch `index` of a publish: `QUEUE#{publishId}` / `CUT#{index}`. */
export function cutLedgerKey(publishId: string, index: number): TableKey {
  return { pk: splitLedgerPartition(publishId), sk: `${CUT_SORT_PREFIX}${index}` };
}

/** Width of an `AGE#` bucket: connections are indexed by the minute they opened. */
export const AGE_BUCKET_MS = 60_000;

/** A connection key longer than this (UTF-8 bytes, escaped) is digested in the `KEY#` partition key. */
export const MAX_INLINE_KEY_PARTITION_BYTES = 1024;

/** Sort key of a connection's row in a `KEY#` or `AGE#` partition: `C#{conn}`. */
export function connectionRefSortKey(connectionId: string): string {
  return `C${SEPARATOR}${keyPart(connectionId, MAX_INLINE_SORT_KEY_PART_BYTES)}`;
}

/** Partition of the connections of one app-chosen connection key (`connectionKey(ctx)`). */
export function keyPartitionKey(key: string): string {
  return KEY_PARTITION_PREFIX + keyPart(key, MAX_INLINE_KEY_PARTITION_BYTES);
}

/** Key of a connection's row in its connection key's partition. */
export function keyIndexKey(key: string, connectionId: string): TableKey {
  return { pk: keyPartitionKey(key), sk: connectionRefSortKey(connectionId) };
}

/** The minute bucket of a connect time (epoch milliseconds). */
export function ageBucket(connectedAt: number): number {
  return Math.floor(connectedAt / AGE_BUCKET_MS);
}

/** Partition of the connections opened during one minute bucket. */
export function agePartitionKey(bucket: number): string {
  return `${AGE_PARTITION_PREFIX}${bucket}`;
}

/** Key of a connection's row in the bucket of the minute it opened. */
export function ageIndexKey(connectedAt: number, connectionId: string): TableKey {
  return { pk: agePartitionKey(ageBucket(connectedAt)), sk: connectionRefSortKey(connectionId) };
}

/** The buckets that hold the connections opened from `from` to `to` (epoch ms, inclusive), oldest first. */
export function ageBuckets(from: number, to: number): number[] {
  const buckets: number[] = [];
  for (let bucket = ageBucket(from); bucket <= ageBucket(to); bucket++) buckets.push(bucket);
  return buckets;
}
