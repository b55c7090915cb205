/**
 * 4. Read and write units per operation, end to end through the handlers (a raw WebSocket client
 * on the local gateway, `dynamodb()` store on DynamoDB Local, every request metered), compared
 * with the minimum the key design allows.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { WebSocket } from 'ws';
import { dynamodb } from '../../lambda';
import { createSubscriptionTable, silentLogger, startLocalGateway } from '../../lambda/local';
import { apiGatewayStyleId } from '../../lambda/local/ids';
import { bulkSeed, checkBulkRows } from '../support/bulk';
import { itemBytes, meterDynamoDB, requestSummary, type MeterReading } from '../support/dynamodb-meter';
import type { BenchEnv } from '../support/env';
import { exampleHandlers } from '../support/example-app';
import { fmt, table } from '../support/stats';

export interface UnitsRow {
  readonly operation: string;
  readonly reading: MeterReading;
  /** What the key design needs at least, as text. */
  readonly minimum: string;
  readonly note: string;
}

export interface UnitsResult {
  readonly rows: UnitsRow[];
  /** Size of one `byRoom` index row as DynamoDB counts it, and of its key attributes plus TTL only. */
  readonly indexRowBytes: number;
  readonly keyOnlyRowBytes: number;
}


export async function runUnits(env: BenchEnv): Promise<UnitsResult> {
  const client = env.client();
  const meter = meterDynamoDB(client);
  const tableName = 'bench-units';
  await createSubscriptionTable({ client, tableName });
  const store = dynamodb({ tableName, dynamoDBClient: client });
  let disconnected: () => void = () => undefined;
  const handlers = exampleHandlers(store, env.logger);
  const gateway = await startLocalGateway({
    handlers: {
      ...handlers,
      disconnect: async (event, context, callback) => {
        const result = await handlers.disconnect(event, context, callback);
        disconnected();
        return result;
      },
    },
    logger: silentLogger,
  });
  const rows: UnitsRow[] = [];
  const step = async (operation: string, minimum: string, note: string, action: () => Promise<void>) => {
    meter.reset();
    await action();
    rows.push({ operation, reading: meter.read(), minimum, note });
  };
  const socket = new WebSocket(gateway.url);
  const frames: string[] = [];
  socket.on('message', (data) => frames.push(data.toString()));
  const frame = async (body: unknown, expect: string) => {
    const before = frames.length;
    socket.send(JSON.stringify(body));
    const deadline = Date.now() + 10_000;
    while (!frames.slice(before).some((f) => f.includes(expect))) {
      if (Date.now() > deadline) throw new Error(`units: no ${expect} frame for ${JSON.stringify(body)}: ${frames.slice(before).join(' ')}`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  };
  try {
    await step('connect', '1 BatchWriteItem: the connection row and its age bucket row (2 WCU)', 'none', () => new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    }));
    const room = 'room-1000';
    await step('subscribe, F=2 (onMessage: byRoom, byUserAndRoom)',
      '1 TransactWriteItems of 5 actions: the connection row\'s count, the subscription row, the unfiltered row, 2 filter rows (10 WCU billed); 1 RCU (connection row for ctx) on a connection\'s first request in an instance',
      'none: atomic (2 WCU per action), so that the cap holds and no rows are left after a concurrent $disconnect',
      () => frame({ id: 1, method: 'subscription', params: { path: 'onMessage', input: { json: { room } } } }, '"started"'));
    await step('subscribe, F=1 (chat.onTyping: byUser)', '1 TransactWriteItems of 4 actions (8 WCU billed)', 'none',
      () => frame({ id: 2, method: 'subscription', params: { path: 'chat.onTyping', input: {} } }, '"started"'));
    await step('subscribe, F=0 (onNotification)', '1 TransactWriteItems of 3 actions (6 WCU billed)', 'none',
      () => frame({ id: 3, method: 'subscription', params: { path: 'onNotification', input: {} } }, '"started"'));
    await step('stop, F=2', '1 TransactWriteItems of 5 actions: 4 deletes and the connection row\'s count (10 WCU billed); +1 GetItem (1 RCU) when another instance stored the subscription',
      'none: atomic, so a stop never leaves index rows behind and frees its slot exactly once',
      () => frame({ id: 1, method: 'subscription.stop' }, '"stopped"'));
    await step('disconnect, 2 subscriptions left (F=1, F=0: 5 rows + the connection and age bucket rows)',
      'Query, BatchWriteItem (connection, age bucket and index rows), a second Query, BatchWriteItem (subscription rows): 7 WCU, 1 RCU + 1 RCU',
      'none: the second Query, once the connection row is gone, sees the subscription rows as they are then (a subscribe or a stop may have committed since the first)',
      async () => {
        const done = new Promise<void>((resolve) => { disconnected = resolve; });
        socket.close();
        await done;
      });
  } finally {
    socket.terminate();
    await gateway.close();
  }

  // Publish read phase: N subscribers of one room (written through the store) found by the
  // publish query (findSubscribers), which is all the DynamoDB work a publish does.
  const counts = env.quick ? [100, 1_000] : [100, 1_000, 10_000];
  await checkBulkRows(client, 'units');
  let written = 0;
  let indexRowBytes = 0;
  let keyOnlyRowBytes = 0;
  for (const n of counts) {
    // Exactly the rows the store writes (checked by checkBulkRows above), 25 per BatchWriteItem and
    // 8 requests in flight: one store request per row at a high concurrency outran the store's
    // 6 s call deadline on a busy machine.
    await bulkSeed(client, tableName, Array.from({ length: n - written }, () => ({ connectionId: apiGatewayStyleId(), room: 'room-1000' })));
    written = n;
    if (indexRowBytes === 0) {
      const sample = await client.send(new ScanCommand({
        TableName: tableName,
        FilterExpression: 'begins_with(pk, :prefix)',
        ExpressionAttributeValues: { ':prefix': { S: 'ROUTE#onMessage#F#byRoom#' } },
      }));
      const row = (sample.Items ?? []).find((item) => /#F#byRoom#\d+$/.test(item.pk?.S ?? ''));
      if (!row) throw new Error('units: no byRoom index row found');
      indexRowBytes = itemBytes(row);
      keyOnlyRowBytes = itemBytes({ pk: row.pk, sk: row.sk, expireAt: row.expireAt });
    }
    const minimum = Math.ceil((n * indexRowBytes) / 4096);
    await step(`publish to N=${fmt(n, 0)} (filter byRoom), read phase`, `${fmt(minimum, 0)} RCU (${fmt(n, 0)} rows x ${indexRowBytes} B / 4 KB)`,
      `key-only rows (${keyOnlyRowBytes} B) would need ${fmt(Math.ceil((n * keyOnlyRowBytes) / 4096), 0)} RCU`, async () => {
        let found = 0;
        for await (const page of store.findSubscribers({ path: 'onMessage', filter: { name: 'byRoom', values: ['room-1000'] } })) found += page.length;
        if (found !== n) throw new Error(`units: found ${found} subscribers, expected ${n}`);
      });
  }
  return { rows, indexRowBytes, keyOnlyRowBytes };
}

export function renderUnits(result: UnitsResult): string {
  return table(
    ['operation', 'DynamoDB requests', 'RCU', 'WCU (reported)', 'WCU billed (transactions: 2 per action)', 'minimum the key design allows', 'why the difference'],
    result.rows.map(({ operation, reading, minimum, note }) => [
      operation, requestSummary(reading), fmt(reading.readUnits, 1), fmt(reading.writeUnits, 1),
      fmt(reading.writeUnits + reading.transactionWriteUnits, 1) + (reading.transactionActions ? ` (${reading.transactionActions} actions)` : ''),
      minimum, note,
    ]),
  );
}
