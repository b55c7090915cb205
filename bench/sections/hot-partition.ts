/**
 * 6. Flash crowd on one route: the busiest partition key's write units per second when 1,000
 * subscriptions per second arrive on one route (API Gateway admits 500 new connections per second;
 * a client may subscribe more than once). DynamoDB Local does not throttle, so the write units are
 * metered per partition key and projected to 1,000 subscribes per second; a DynamoDB partition
 * takes about 1,000 WCU/s.
 */
import { cpus, loadavg } from 'node:os';
import { dynamodb } from '../../lambda';
import { createSubscriptionTable } from '../../lambda/local';
import type { Budget } from '../support/budget';
import { meterDynamoDB } from '../support/dynamodb-meter';
import { runBounded, type BenchEnv } from '../support/env';
import { fmt, table } from '../support/stats';

interface HotPartitionResult {
  readonly subscribes: number;
  readonly rooms: number;
  readonly measuredPerSecond: number;
  readonly busiest: string;
  readonly busiestUnits: number;
  readonly projectedPerSecond: number;
  readonly partitions: number;
  readonly load: string;
}

const TARGET_RATE = 1_000;

export async function runHotPartition(env: BenchEnv): Promise<HotPartitionResult[]> {
  const results: HotPartitionResult[] = [];
  const subscribes = env.quick ? 400 : 3_000;
  // Many rooms (a chat app), and a single room (one broadcast audience): the filter partition of
  // one value cannot be spread without making exact publishes read every shard.
  for (const rooms of [100, 1]) {
    const client = env.client();
    const tableName = `bench-hot-${rooms}`;
    await createSubscriptionTable({ client, tableName });
    const meter = meterDynamoDB(client);
    const store = dynamodb({ tableName, dynamoDBClient: client });
    meter.reset();
    const t0 = Date.now();
    const expireAt = Math.floor(Date.now() / 1000) + 7800;
    // Distinct users (a flash crowd), with the example's two filters of onMessage.
    await runBounded(subscribes, 32, async (i) => {
      const connectionId = `hot-${rooms}-${i}`;
      const room = `room-${i % rooms}`;
      await store.putConnection({ connectionId, connectedAt: Date.now(), expireAt, awaitingConnectionParams: false, connect: {} });
      await store.addSubscription({
        connectionId,
        subscriptionId: 1,
        path: 'onMessage',
        expireAt,
        filters: [{ name: 'byRoom', values: [room] }, { name: 'byUserAndRoom', values: [`user-${i}`, room] }],
      });
    });
    const seconds = (Date.now() - t0) / 1000;
    const byPartition = [...meter.read().writeUnitsByPartition].filter(([pk]) => pk.startsWith('ROUTE#'));
    const [busiest, busiestUnits] = byPartition.sort((a, b) => b[1] - a[1])[0];
    results.push({
      subscribes,
      rooms,
      measuredPerSecond: subscribes / seconds,
      busiest,
      busiestUnits,
      projectedPerSecond: (busiestUnits / subscribes) * TARGET_RATE,
      partitions: byPartition.length,
      load: `${loadavg()[0].toFixed(2)} / ${cpus().length} cores`,
    });
  }
  return results;
}

export function renderHotPartition(results: HotPartitionResult[]): { markdown: string; budgets: Budget[] } {
  const rows = results.map((r) => [
    fmt(r.subscribes, 0), fmt(r.rooms, 0), fmt(r.measuredPerSecond, 0), fmt(r.partitions, 0), `\`${r.busiest}\``,
    fmt(r.busiestUnits, 0), fmt(r.projectedPerSecond, 0), r.load,
  ]);
  const manyRooms = results.find((r) => r.rooms > 1)!;
  const budgets: Budget[] = [[
    `busiest index partition at ${fmt(TARGET_RATE, 0)} subscribes/s to one route (${manyRooms.rooms} rooms): < 1,000 WCU/s`,
    `${fmt(manyRooms.projectedPerSecond, 0)} WCU/s`,
    manyRooms.projectedPerSecond < 1_000,
  ]];
  const markdown = table(
    ['subscribes', 'rooms', 'measured subscribes/s', 'index partitions written', 'busiest partition', 'its WCU', `its WCU/s at ${fmt(TARGET_RATE, 0)} subscribes/s`, 'load avg / cores'],
    rows,
  ) + '\n\nWrite units per partition key: 2 per transactional row. One room: every subscriber has the same filter value, whose rows share one shard by design (docs/table-design.md, "Shards").';
  return { markdown, budgets };
}
