/**
 * Every DynamoDB helper of the tests, in one place: fresh tables in the run's DynamoDB Local,
 * clients for it, reading rows back, checking their consistency, and injecting faults.
 */
import { randomUUID } from 'node:crypto';
import {
  DynamoDBClient,
  InternalServerError,
  ProvisionedThroughputExceededException,
  ScanCommand,
  TransactionCanceledException,
  type BatchWriteItemCommandInput,
  type BatchWriteItemCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { createSubscriptionTable, LOCAL_AWS_SETTINGS } from '../../lambda/local/dynamodb-local';
import { connectionKey, subscriptionKey } from '../../lambda/store/keys';

/** A fresh table with the construct's schema in the run's DynamoDB Local. */
export interface TestTable {
  readonly tableName: string;
  readonly client: DynamoDBClient;
  readonly endpoint: string;
}

/** Create a uniquely named subscriptions table in the DynamoDB Local started by global setup. */
export async function createTestTable(prefix = 'test'): Promise<TestTable> {
  const endpoint = process.env.DYNAMODB_ENDPOINT;
  if (!endpoint) throw new Error('DYNAMODB_ENDPOINT is not set: is test/setup/global-setup.ts configured?');
  const client = localDynamoDBClient(endpoint);
  const tableName = `${prefix}-${randomUUID()}`;
  await createSubscriptionTable({ client, tableName });
  return { tableName, client, endpoint };
}

/** A client for the run's DynamoDB Local at `endpoint` (SDK retries as configured, default 3 attempts). */
export function localDynamoDBClient(endpoint: string, maxAttempts?: number): DynamoDBClient {
  return new DynamoDBClient({ endpoint, ...LOCAL_AWS_SETTINGS, ...(maxAttempts === undefined ? {} : { maxAttempts }) });
}

/** One row of the table, unmarshalled. */
export type Row = Record<string, unknown> & { pk: string; sk: string };

/** Every row of a test table (a Scan is fine in a test; the runtime never scans). */
export async function scanRows(client: DynamoDBClient, tableName: string): Promise<Row[]> {
  const rows: Row[] = [];
  let ExclusiveStartKey: Record<string, any> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey, ConsistentRead: true }));
    rows.push(...(page.Items ?? []).map((item) => unmarshall(item) as Row));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return rows;
}

const keyString = (key: { pk: string; sk: string }) => `${key.pk}\u0000${key.sk}`;

/** The subscriptions stored for a connection (not stop tombstones), read from the rows. */
export function subscriptionsIn(rows: readonly Row[], connectionId: string): { subscriptionId: string | number; path: string }[] {
  return rows
    .filter((row) => row.connectionId === connectionId && row.sk.startsWith('SUB#') && row.stopped !== true)
    .map((row) => ({ subscriptionId: row.subscriptionId as string | number, path: row.path as string }));
}

/**
 * Rows nothing owns any more, or subscriptions missing part of their index: a connection's rows
 * without its connection row, index rows without their subscription row (or under a tombstone),
 * and subscription rows whose index rows are not all present. Empty for a consistent table.
 */
export function inconsistentRows(rows: readonly Row[]): string[] {
  const byKey = new Map(rows.map((row) => [keyString(row), row]));
  const problems: string[] = [];
  for (const row of rows) {
    if (row.sk === 'CONN') continue;
    const connectionId = row.connectionId as string | undefined;
    if (connectionId === undefined) {
      problems.push(`row without owner: ${row.pk} ${row.sk}`);
      continue;
    }
    if (!byKey.has(keyString(connectionKey(connectionId)))) problems.push(`orphan (connection ${connectionId} is gone): ${row.pk} ${row.sk}`);
    if (row.pk.startsWith('ROUTE#')) {
      const owner = byKey.get(keyString(subscriptionKey(connectionId, row.subscriptionId as string | number)));
      if (!owner || owner.stopped === true) problems.push(`orphan index row (no subscription ${connectionId}/${String(row.subscriptionId)}): ${row.pk} ${row.sk}`);
    } else if (row.sk.startsWith('SUB#') && row.stopped !== true) {
      for (const key of (row.indexKeys ?? []) as { pk: string; sk: string }[]) {
        if (!byKey.has(keyString(key))) problems.push(`partial subscription ${connectionId}/${String(row.subscriptionId)}: missing ${key.pk} ${key.sk}`);
      }
    }
  }
  return problems;
}

/** A fault thrown by one attempt of a DynamoDB call. */
export type DynamoFault = 'throttle' | 'internal' | 'transaction-throttled' | 'transaction-conflict';

/** Which calls fail. Commands are named without `Command`, e.g. `TransactWriteItems`. */
export interface FaultPlan {
  /**
   * Decides per attempt (every SDK attempt counts, from 1 per command on this client) whether to
   * fail it. Runs inside the SDK's retry loop, so throttling and 5xx faults are retried by the
   * SDK like real ones, up to the client's `maxAttempts`.
   */
  readonly attempt?: (command: string, attempt: number) => DynamoFault | undefined;
  /**
   * Decides per BatchWriteItem request (from 1) whether DynamoDB processes only half of it and
   * returns the rest as UnprocessedItems, as it does under load (the SDK does not retry those).
   */
  readonly unprocessedHalf?: (request: number) => boolean;
}

/** Attempts of each command seen by the injector, and the faults injected. */
export interface FaultLog {
  readonly attempts: Map<string, number>;
  readonly injected: string[];
}

function faultError(fault: DynamoFault, itemCount: number): Error {
  const $metadata = { httpStatusCode: 400 };
  switch (fault) {
    case 'throttle':
      return new ProvisionedThroughputExceededException({ message: 'injected: provisioned throughput exceeded', $metadata });
    case 'internal':
      return new InternalServerError({ message: 'injected: internal server error', $metadata: { httpStatusCode: 500 } });
    case 'transaction-throttled':
    case 'transaction-conflict':
      return new TransactionCanceledException({
        message: 'injected: transaction cancelled',
        $metadata,
        CancellationReasons: Array.from({ length: itemCount }, (_, index) => ({
          Code: index === 0 ? (fault === 'transaction-conflict' ? 'TransactionConflict' : 'ThrottlingError') : 'None',
        })),
      });
  }
}

/**
 * A DynamoDB client for DynamoDB Local whose middleware stack injects faults: thrown errors per
 * attempt (`finalizeRequest` step, inside the SDK's retry middleware) and partial BatchWriteItem
 * processing (`initialize` step). `maxAttempts` is the SDK's attempts per call (1: no SDK retry,
 * every fault reaches the store).
 */
export function faultyClient(endpoint: string, plan: FaultPlan, maxAttempts = 3): { client: DynamoDBClient; log: FaultLog } {
  const client = new DynamoDBClient({ endpoint, ...LOCAL_AWS_SETTINGS, maxAttempts });
  const log: FaultLog = { attempts: new Map(), injected: [] };
  let batchRequests = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName ?? '').replace(/Command$/, '');
      const attempt = (log.attempts.get(command) ?? 0) + 1;
      log.attempts.set(command, attempt);
      const fault = plan.attempt?.(command, attempt);
      if (!fault) return next(args);
      log.injected.push(`${command}#${attempt}:${fault}`);
      const items = (args.input as { TransactItems?: unknown[] }).TransactItems;
      throw faultError(fault, Array.isArray(items) ? items.length : 1);
    },
    { step: 'finalizeRequest', name: 'reliabilityFaultInjector', priority: 'low' },
  );
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'BatchWriteItemCommand' || !plan.unprocessedHalf?.(++batchRequests)) return next(args);
      const batch = args.input as BatchWriteItemCommandInput;
      const [table, requests] = Object.entries(batch.RequestItems ?? {})[0] ?? [];
      if (!table || !requests || requests.length < 2) return next(args);
      const half = Math.ceil(requests.length / 2);
      log.injected.push(`BatchWriteItem request ${batchRequests}: ${requests.length - half} unprocessed`);
      const sent = await next({ ...args, input: { ...batch, RequestItems: { [table]: requests.slice(0, half) } } });
      const output = sent.output as BatchWriteItemCommandOutput;
      return { ...sent, output: { ...output, UnprocessedItems: { [table]: requests.slice(half) } } };
    },
    { step: 'initialize', name: 'reliabilityUnprocessedItems', priority: 'high' },
  );
  return { client, log };
}
