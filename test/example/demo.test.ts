import { runDemo, type DemoReport } from '../../example/demo-run';

/**
 * `npm run demo` end to end: DynamoDB Local (its own, as the command starts it), the local API
 * Gateway emulator, the example's handlers module, producer Lambda and real `@trpc/client`s.
 * The expected recipients are spelled out here, independently of the demo's own expectations.
 */
const EXPECTED_RECIPIENTS: readonly (readonly string[])[] = [
  // 1. producer Lambda -> onMessage byRoom { room: 'lobby' }: not dave in 'lobby-2'
  ['alice (laptop) onMessage lobby', 'bob onMessage lobby'],
  // 2. byUserAndRoom { userId: 'carol' } + { room: 'garden' }: not alice's phone in 'garden'
  ['carol onMessage garden'],
  // 3. byUserAndRoom { userId: 'alice' } (prefix): both of alice's devices, in any room
  ['alice (laptop) onMessage lobby', 'alice (phone) onMessage garden'],
  // 4. no filter: every onMessage subscription exactly once
  ['alice (laptop) onMessage lobby', 'alice (phone) onMessage garden', 'bob onMessage lobby', 'carol onMessage garden', 'dave onMessage lobby-2'],
  // 5. chat.onTyping byUser { userId: 'bob' }
  ['bob chat.onTyping'],
  // 6. bob's sendMessage mutation to 'lobby': everyone in 'lobby' but bob
  ['alice (laptop) onMessage lobby'],
];

function recipients(report: DemoReport): string[][] {
  return report.steps.map((step) => [...step.received].sort());
}

function expectCorrectDeliveries(report: DemoReport, lines: string[]): void {
  expect(report.problems).toEqual([]);
  expect(recipients(report)).toEqual(EXPECTED_RECIPIENTS.map((ids) => [...ids].sort()));
  expect(report.steps.map((step) => step.outcome?.delivered)).toEqual(EXPECTED_RECIPIENTS.map((ids) => ids.length));
  expect(report.ok).toBe(true);
  // The printed matrix: one row per subscription, one column per publish, and the verdict.
  const row = lines.find((line) => line.includes('dave') && line.includes("onMessage { room: 'lobby-2' }") && line.includes('yes'));
  expect(row?.trim().split(/\s{2,}/)).toEqual(['dave', "onMessage { room: 'lobby-2' }", '-', '-', '-', 'yes', '-', '-']);
  expect(lines.at(-1)).toMatch(/^OK: all 6 publishes reached exactly the expected subscriptions \(12 deliveries/);
}

test('GIVEN DynamoDB Local and the example handlers WHEN the demo runs THEN each publish reaches exactly its subscribers', async () => {
  const lines: string[] = [];

  const report = await runDemo({ log: (line) => lines.push(line) });

  expect(report.store).toBe('dynamodb');
  // 5 connection rows + their 5 age bucket rows + 7 subscription rows + 5 x 3 onMessage index rows + 2 x 2 onTyping index rows.
  expect(report.tableItems).toBe(36);
  expectCorrectDeliveries(report, lines);
});

test('GIVEN the memory store WHEN the demo runs THEN the deliveries are the same', async () => {
  const lines: string[] = [];

  const report = await runDemo({ store: 'memory', log: (line) => lines.push(line) });

  expect(report.tableItems).toBeUndefined();
  expectCorrectDeliveries(report, lines);
});
