/**
 * 7. Event history: what `.routes.<path>.history()` adds to a publish, and what a resume reads per
 * missed event, on DynamoDB Local with every request metered. The floor of a replay is the history
 * rows it must read (their bytes / 4 KB, strongly consistent); the budget is a ratio to that floor.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { initTRPC } from '@trpc/server';
import { WebSocket } from 'ws';
import * as z from 'zod/mini';
import { dynamodb, initSubscriptions } from '../../lambda';
import { createSubscriptionTable, silentLogger, startLocalGateway } from '../../lambda/local';
import { historyPartitionKey } from '../../lambda/store/history';
import type { Budget } from '../support/budget';
import { itemBytes, meterDynamoDB, requestSummary, type MeterReading } from '../support/dynamodb-meter';
import type { BenchEnv } from '../support/env';
import { fmt, table } from '../support/stats';

const subscriptions = initSubscriptions();
const t = initTRPC.create();
const router = t.router({
  onEvent: t.procedure
    .input(z.object({ room: z.optional(z.string()), lastEventId: z.nullish(z.string()) }))
    .subscription(subscriptions.trackedResolver<{ readonly text: string; readonly at: number }>()),
});
const withoutHistory = subscriptions.router({ router }).routes.onEvent.filter({ name: 'byRoom', input: { room: true } });
const withHistory = withoutHistory.routes.onEvent.history({ retentionSeconds: 3600 });

export interface HistoryRow {
  readonly operation: string;
  readonly reading: MeterReading;
  readonly note: string;
}

export interface HistoryResult {
  readonly rows: HistoryRow[];
  /** Missed events per measured resume. */
  readonly missed: number[];
  /** Read units of the replay reads per missed event, and the floor, per resume. */
  readonly replay: { missed: number; readUnits: number; floorUnits: number }[];
  readonly publishWritesOff: number;
  readonly publishWritesOn: number;
  readonly eventRowBytes: number;
}


export async function runHistory(env: BenchEnv): Promise<HistoryResult> {
  const client = env.client();
  const meter = meterDynamoDB(client);
  const tableName = 'bench-history';
  await createSubscriptionTable({ client, tableName });
  const store = dynamodb({ tableName, dynamoDBClient: client });
  const handlerApp = withHistory.store({ store });
  const gateway = await startLocalGateway({
    handlers: {
      connect: handlerApp.connect({ logger: env.logger }),
      handler: handlerApp.handler({ logger: env.logger }),
      disconnect: handlerApp.disconnect({ logger: env.logger }),
    },
    logger: silentLogger,
  });
  const rows: HistoryRow[] = [];
  const data = (i: number) => ({ text: `message ${i} `.padEnd(160, '.'), at: 1_764_000_000_000 + i });
  const off = withoutHistory.store({ store }).publisher({ endpoint: gateway.endpoint });
  const on = withHistory.store({ store }).publisher({ endpoint: gateway.endpoint });
  const filter = { name: 'byRoom' as const, input: { room: 'bench' } };
  try {
    // Warm the history's sequence (the first publish of an instance reads the route's last id).
    let last = (await on.routes.onEvent.publish({ data: data(-1), filter })).eventId!;
    meter.reset();
    await off.routes.onEvent.publish({ data: data(0), filter, id: 'x' });
    const offReading = meter.read();
    rows.push({ operation: 'publish, no subscriber, history off', reading: offReading, note: 'the subscriber query only' });
    meter.reset();
    last = (await on.routes.onEvent.publish({ data: data(0), filter })).eventId!;
    const onReading = meter.read();
    rows.push({ operation: 'publish, no subscriber, history on', reading: onReading, note: 'plus one conditional PutItem of the event row (its id is the next free one)' });

    const missedCounts = env.quick ? [10, 200] : [10, 200, 1_000];
    const replay: HistoryResult['replay'] = [];
    let eventRowBytes = 0;
    for (const missed of missedCounts) {
      const from = last;
      for (let i = 0; i < missed; i++) last = (await on.routes.onEvent.publish({ data: data(i), filter })).eventId!;
      if (eventRowBytes === 0) {
        const sample = await client.send(new ScanCommand({ TableName: tableName, Limit: 50 }));
        const row = (sample.Items ?? []).find((item) => item.pk?.S === historyPartitionKey('onEvent'));
        if (!row) throw new Error('history: no event row found');
        eventRowBytes = itemBytes(row);
      }
      // The replay's reads alone (the history Query pages), then the resume end to end.
      meter.reset();
      let read = 0;
      for await (const page of store.readEvents!('onEvent', from)) read += page.length;
      if (read !== missed + 1) throw new Error(`history: read ${read} events, expected ${missed + 1}`);
      const readReading = meter.read();
      replay.push({ missed, readUnits: readReading.readUnits, floorUnits: Math.ceil(((missed + 1) * eventRowBytes) / 4096) });
      rows.push({ operation: `replay reads, ${fmt(missed, 0)} missed events`, reading: readReading, note: `floor ${fmt(Math.ceil(((missed + 1) * eventRowBytes) / 4096), 0)} RCU: ${fmt(missed + 1, 0)} rows x ${eventRowBytes} B / 4 KB (the client's last event is read too, to prove nothing expired)` });
      meter.reset();
      await resume(gateway.url, from, missed);
      rows.push({ operation: `resume end to end, ${fmt(missed, 0)} missed events`, reading: meter.read(), note: 'connect row + connection read + replay reads + the fenced subscribe transaction (+ disconnect)' });
    }
    return {
      rows,
      missed: missedCounts,
      replay,
      publishWritesOff: offReading.writeUnits + offReading.transactionWriteUnits,
      publishWritesOn: onReading.writeUnits + onReading.transactionWriteUnits,
      eventRowBytes,
    };
  } finally {
    await gateway.close();
  }
}

/** Opens a socket, resumes after `from` and waits for the missed events and `started`, then closes. */
async function resume(url: string, from: string, missed: number): Promise<void> {
  const socket = new WebSocket(url);
  let frames = 0;
  let started = false;
  await new Promise<void>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`history: resume got ${frames} frames of ${missed + 1}`)), 30_000);
    socket.on('message', (raw) => {
      frames++;
      if (raw.toString().includes('"started"')) started = true;
      if (started && frames >= missed + 1) {
        clearTimeout(deadline);
        resolve();
      }
    });
    socket.once('error', reject);
    socket.once('open', () => socket.send(JSON.stringify({ id: 1, method: 'subscription', params: { path: 'onEvent', input: { room: 'bench', lastEventId: from } } })));
  });
  await new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    socket.close();
  });
}

export function renderHistory(result: HistoryResult): { markdown: string; budgets: Budget[] } {
  const markdown = table(
    ['operation', 'DynamoDB requests', 'RCU', 'WCU', 'note'],
    result.rows.map(({ operation, reading, note }) => [
      operation, requestSummary(reading), fmt(reading.readUnits, 1), fmt(reading.writeUnits + reading.transactionWriteUnits, 1), note,
    ]),
  ) + '\n\n' + table(
    ['missed events', 'replay RCU', 'RCU per missed event', 'floor RCU (rows x bytes / 4 KB)'],
    result.replay.map(({ missed, readUnits, floorUnits }) => [fmt(missed, 0), fmt(readUnits, 1), fmt(readUnits / missed, 3), fmt(floorUnits, 0)]),
  );
  const largest = result.replay[result.replay.length - 1];
  const budgets: Budget[] = [
    ['history on: one more write per publish, none when off', `${fmt(result.publishWritesOff, 1)} -> ${fmt(result.publishWritesOn, 1)} WCU`,
      result.publishWritesOff === 0 && result.publishWritesOn > 0 && result.publishWritesOn <= Math.ceil(result.eventRowBytes / 1024)],
    [`replay of ${fmt(largest.missed, 0)} missed events: read units <= 1.25x the rows' floor`, `${fmt(largest.readUnits, 1)} RCU vs floor ${fmt(largest.floorUnits, 0)}`,
      largest.readUnits <= 1.25 * largest.floorUnits + 1],
  ];
  return { markdown, budgets };
}
