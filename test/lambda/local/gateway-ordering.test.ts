import { connectClient, sleep, waitUntil } from './helpers';
import { startLocalGateway, type LocalGateway, type LocalGatewayOptions } from '../../../lambda/local';
import { seeded } from '../../support/seeded';

const MESSAGES = 20;

/** Send MESSAGES numbered frames on one connection; report start order and peak concurrency. */
async function run(unordered: LocalGatewayOptions['unordered']): Promise<{ startOrder: number[]; peakConcurrency: number; gateway: LocalGateway }> {
  const startOrder: number[] = [];
  let running = 0;
  let peakConcurrency = 0;
  const gateway = await startLocalGateway({
    unordered,
    handlers: {
      connect: async () => ({ statusCode: 200 }),
      handler: async (event) => {
        startOrder.push(Number(event.body));
        running++;
        peakConcurrency = Math.max(peakConcurrency, running);
        await sleep(2);
        running--;
        return { statusCode: 200, body: `done ${event.body}` };
      },
      disconnect: async () => ({ statusCode: 200 }),
    },
  });
  const client = await connectClient(gateway.url);
  for (let i = 0; i < MESSAGES; i++) client.socket.send(String(i));
  await waitUntil(() => client.received.length === MESSAGES, 10_000, 'all route responses');
  client.socket.close();
  await gateway.close();
  return { startOrder, peakConcurrency, gateway };
}

const sendOrder = Array.from({ length: MESSAGES }, (_, i) => i);

describe('local gateway: ordering of a connection\'s messages', () => {
  test('by default, invocations run one at a time in arrival order', async () => {
    const { startOrder, peakConcurrency } = await run(undefined);
    expect(startOrder).toEqual(sendOrder);
    expect(peakConcurrency).toBe(1);
  });

  test('unordered mode (seeded) runs them concurrently and out of order, each exactly once', async () => {
    const { startOrder, peakConcurrency } = await run({ maxDelayMs: 20, random: seeded(42) });
    expect(startOrder).not.toEqual(sendOrder);
    expect([...startOrder].sort((a, b) => a - b)).toEqual(sendOrder);
    expect(peakConcurrency).toBeGreaterThan(1);
  });

  test('unordered: true (Math.random) reorders within a few tries', async () => {
    // 20 uniform delays in 0..25 ms come out sorted with negligible probability; allow 5 tries.
    let reordered = false;
    for (let attempt = 0; attempt < 5 && !reordered; attempt++) {
      const { startOrder } = await run(true);
      expect([...startOrder].sort((a, b) => a - b)).toEqual(sendOrder);
      reordered = startOrder.some((value, index) => value !== index);
    }
    expect(reordered).toBe(true);
  });
});
