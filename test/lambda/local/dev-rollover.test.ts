import { existsSync, readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { silentLogger, startDevServer } from '../../../lambda/local';
import { rolloverLogFile } from '../../fixtures/dev-app/rollover';
import { waitFor } from '../support/harness';

const ENTRY = resolve(__dirname, '../../fixtures/dev-app/rollover.ts');

function runs(): string[] {
  return existsSync(rolloverLogFile()) ? readFileSync(rolloverLogFile(), 'utf8').trim().split('\n') : [];
}

test('the dev server runs the module\'s rollover export on its schedule, and stops on close', async () => {
  const savedEnv = { ...process.env };
  rmSync(rolloverLogFile(), { force: true });
  const server = await startDevServer({ entry: ENTRY, store: 'memory', watch: false, rolloverIntervalMs: 50, logger: silentLogger });
  try {
    await waitFor(() => runs().length >= 2, 5000, 'two rollover runs');
    expect(JSON.parse(runs()[0])).toEqual({ source: 'cdk-trpc-subscriptions.dev' });
  } finally {
    await server.close();
    process.env = savedEnv;
  }
  const count = runs().length;
  await new Promise((resolveDelay) => setTimeout(resolveDelay, 200));
  expect(runs()).toHaveLength(count);
  rmSync(rolloverLogFile(), { force: true });
});
