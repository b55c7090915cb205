import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** What the meter counted since the last reset. */
export interface MeterReading {
  /** Requests per DynamoDB API name, e.g. `{ Query: 3 }`. */
  readonly requests: Record<string, number>;
  readonly totalRequests: number;
  /** Read units as DynamoDB (Local) reported them. */
  readonly readUnits: number;
  /** Write units as DynamoDB (Local) reported them (transactions: see `transactionWriteUnits`). */
  readonly writeUnits: number;
  /**
   * Write units of TransactWriteItems as the service bills them: 2 per action for items up to
   * 1 KB (DynamoDB Local reports a flat figure for most transactions, so the actions are counted).
   */
  readonly transactionWriteUnits: number;
  /** Actions of the TransactWriteItems requests. */
  readonly transactionActions: number;
  /** Write units per partition key (transactions: 2 per action; other writes: 1 per item). */
  readonly writeUnitsByPartition: ReadonlyMap<string, number>;
}

/** Counts requests and consumed capacity of one DynamoDBClient (bench only). */
export interface DynamoDBMeter {
  reset(): void;
  read(): MeterReading;
}

/** Commands whose input accepts `ReturnConsumedCapacity`. */
const CAPACITY_COMMANDS = new Set([
  'GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'Scan', 'BatchGetItem', 'BatchWriteItem',
  'TransactWriteItems', 'TransactGetItems',
]);

interface CapacityEntry {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}

const READ_COMMANDS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);

/**
 * Adds a middleware to `client` that sets `ReturnConsumedCapacity: TOTAL` on every request and
 * sums what DynamoDB reports, so the library's store and the naive baseline are metered the same way.
 */
export function meterDynamoDB(client: DynamoDBClient): DynamoDBMeter {
  let requests: Record<string, number> = {};
  let readUnits = 0;
  let writeUnits = 0;
  let transactionActions = 0;
  let transactionWriteUnits = 0;
  let byPartition = new Map<string, number>();
  const addPartition = (key: unknown, units: number) => {
    const pk = (key as { pk?: { S?: string } } | undefined)?.pk?.S;
    if (pk !== undefined) byPartition.set(pk, (byPartition.get(pk) ?? 0) + units);
  };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName ?? 'Unknown').replace(/Command$/, '');
      const input = args.input as Record<string, unknown>;
      if (CAPACITY_COMMANDS.has(command)) input.ReturnConsumedCapacity = 'TOTAL';
      requests[command] = (requests[command] ?? 0) + 1;
      const result = await next(args);
      const output = result.output as { ConsumedCapacity?: CapacityEntry | CapacityEntry[] };
      const entries = output.ConsumedCapacity === undefined ? [] : ([] as CapacityEntry[]).concat(output.ConsumedCapacity);
      if (command === 'TransactWriteItems') {
        for (const item of (input.TransactItems ?? []) as Array<Record<string, { Item?: unknown; Key?: unknown } | undefined>>) {
          const action = item.Put ?? item.Update ?? item.Delete ?? item.ConditionCheck;
          addPartition(action?.Item ?? action?.Key, 2);
        }
        const actions = (input.TransactItems as unknown[] | undefined)?.length ?? 0;
        transactionActions += actions;
        transactionWriteUnits += 2 * actions;
        return result;
      }
      if (command === 'PutItem') addPartition(input.Item, 1);
      if (command === 'UpdateItem' || command === 'DeleteItem') addPartition(input.Key, 1);
      for (const entry of entries) {
        const total = entry.CapacityUnits ?? 0;
        if (READ_COMMANDS.has(command)) readUnits += entry.ReadCapacityUnits ?? total;
        else writeUnits += entry.WriteCapacityUnits ?? total;
      }
      return result;
    },
    { step: 'initialize', name: 'benchCapacityMeter' },
  );
  return {
    reset: () => {
      requests = {};
      readUnits = 0;
      writeUnits = 0;
      transactionActions = 0;
      transactionWriteUnits = 0;
      byPartition = new Map();
    },
    read: () => ({
      requests: { ...requests },
      totalRequests: Object.values(requests).reduce((sum, n) => sum + n, 0),
      readUnits,
      writeUnits,
      transactionWriteUnits,
      transactionActions,
      writeUnitsByPartition: new Map(byPartition),
    }),
  };
}

/** DynamoDB's item size: attribute names plus values (strings UTF-8, numbers ~1 byte per 2 digits + 1). */
export function itemBytes(item: Record<string, AttributeValue>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) {
    bytes += Buffer.byteLength(name);
    if (value.S !== undefined) bytes += Buffer.byteLength(value.S);
    else if (value.N !== undefined) bytes += Math.ceil(value.N.replace(/[-.]/g, '').replace(/^0+/, '').length / 2) + 1;
    else bytes += 1 + Buffer.byteLength(JSON.stringify(value));
  }
  return bytes;
}

/** The requests of a reading, e.g. `2 Query + BatchWriteItem`. */
export function requestSummary(reading: MeterReading): string {
  return Object.entries(reading.requests).map(([command, count]) => (count > 1 ? `${count} ${command}` : command)).join(' + ') || 'none';
}
