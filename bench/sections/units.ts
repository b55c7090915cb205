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
import { itemBytes, meterDynamoDB, requestSummary, type MeterReading } from '../support/dynamodb-meter';
import { runBounded, type BenchEnv } from '../support/env';
import { exampleHandlers, seedRoomSubscriber } from '../support/example-app';
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
    await step('connect', '1 WCU (1 row)', 'none', () => new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    }));
    const room = 'room-1000';
    await step('subscribe, F=2 (onMessage: byRoom, byUserAndRoom)', '4 WCU (subscription row, unfiltered row, 2 filter rows), 1 RCU (connection row for ctx)', 'atomic transaction: 2 WCU per action, plus an Update of the connection row that counts its subscriptions for the cap (no orphan rows after a concurrent $disconnect)',
      () => frame({ id: 1, method: 'subscription', params: { path: 'onMessage', input: { json: { room } } } }, '"started"'));
    await step('subscribe, F=1 (chat.onTyping: byUser)', '3 WCU, 1 RCU', 'as above',
      () => frame({ id: 2, method: 'subscription', params: { path: 'chat.onTyping', input: {} } }, '"started"'));
    await step('subscribe, F=0 (onNotification)', '2 WCU, 1 RCU', 'as above',
      () => frame({ id: 3, method: 'subscription', params: { path: 'onNotification', input: {} } }, '"started"'));
    await step('stop, F=2', '4 WCU (4 deletes), 1 RCU (the subscription row lists its index keys)', "deletes in one transaction (2 WCU each) so a stop never leaves index rows behind, then an UpdateItem releasing the connection's slot (1 WCU)",
      () => frame({ id: 1, method: 'subscription.stop' }, '"stopped"'));
    await step('disconnect, 2 subscriptions left (F=1, F=0: 5 rows + connection row)', '6 WCU, 1 RCU (one consistent Query page)', 'none',
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
  let written = 0;
  let indexRowBytes = 0;
  let keyOnlyRowBytes = 0;
  for (const n of counts) {
    await runBounded(n - written, 64, async () => {
      const connectionId = apiGatewayStyleId();
      await seedRoomSubscriber(store, connectionId, 'room-1000');
    });
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
