/**
 * `npm run demo`: runs the example app locally (DynamoDB Local, the API Gateway emulator, real
 * tRPC clients), prints who received which publish and exits 0 only when every delivery was right.
 *
 * Options: `--store memory` uses the in-memory store (no Java needed).
 */
import { parseArgs } from 'node:util';
import { runDemo, type DemoStoreKind } from './demo-run';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { store: { type: 'string', default: 'dynamodb' } } });
  if (values.store !== 'dynamodb' && values.store !== 'memory') {
    console.error(`--store must be dynamodb or memory, got: ${values.store}`);
    return 2;
  }
  const store = values.store as DemoStoreKind;
  try {
    const report = await runDemo({ store, log: (line) => console.log(line) });
    return report.ok ? 0 : 1;
  } catch (error) {
    console.error(`\nThe demo could not run: ${error instanceof Error ? error.message : String(error)}`);
    if (store === 'dynamodb') console.error('Without Java 17, try the in-memory store: npm run demo -- --store memory');
    return 1;
  }
}

void main().then((code) => {
  process.exitCode = code;
});
