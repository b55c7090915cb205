import { dynamodb } from '../../lambda';
import { runLoad, type LoadSize } from './support/load';
import { createTestTable } from '../support/dynamodb';

/**
 * Load through the local gateway (loopback only): many concurrent clients, each with 1-3
 * subscriptions, and publishes mixing filtered, prefix and broadcast. Every client must receive
 * exactly the messages its filters match, once, and nothing else. `npm test` runs a reduced but
 * still concurrent size; `npm run test:load` (LOAD_FULL=1) runs 2,000 clients and 200 publishes.
 * The figures are printed; docs/security.md keeps those of a full run.
 */
const FULL = process.env.LOAD_FULL === '1';
const size: LoadSize = FULL
  ? { clients: 2000, trpcClients: 20, publishes: 200, seed: 7 }
  : { clients: 200, trpcClients: 5, publishes: 40, seed: 7 };

test(`${size.clients} clients, ${size.publishes} publishes: exactly the matching messages, once each`, async () => {
  const table = await createTestTable('load');
  const store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
  const figures = await runLoad(size, store);
  table.client.destroy();
  process.stdout.write(`\nload figures (${FULL ? 'full' : 'reduced'}):\n${JSON.stringify({ ...figures, missing: figures.missing.length, unexpected: figures.unexpected.length, duplicates: figures.duplicates.length }, null, 2)}\n`);

  expect(figures.missing.slice(0, 10)).toEqual([]);
  expect(figures.unexpected.slice(0, 10)).toEqual([]);
  expect(figures.duplicates.slice(0, 10)).toEqual([]);
  expect(figures.receivedDeliveries).toBe(figures.expectedDeliveries);
  expect(figures.reportedDelivered).toBe(figures.expectedDeliveries);
  expect(figures.failures).toBe(0);
  // Every kind of publish ran and something was delivered for filtered ones too.
  expect(Object.keys(figures.byKind).sort()).toEqual(['broadcast', 'room', 'typing-broadcast', 'typing-user', 'user-prefix', 'user-room']);
  // Memory stays bounded: once everything is closed the heap is back near where it started.
  expect(figures.memory.closed.heapUsedMB - figures.memory.baseline.heapUsedMB).toBeLessThan(FULL ? 128 : 64);
}, FULL ? 900_000 : 120_000);
