/**
 * `npm run demo`: runs the example app locally (DynamoDB Local, the API Gateway emulator, real
 * tRPC clients), prints who received which publish and exits 0 only when every delivery was right.
 *
 * Options: `--store memory` uses the in-memory store (no Java needed). `--web` serves the web
 * example (example/web, a React chat) on the local stack instead, and runs until Ctrl+C.
 */
// First: before any module creates a handler or a publisher, which read the metrics setting.
import './metrics-off';
import { parseArgs } from 'node:util';
import { runDemo, type DemoStoreKind } from './demo-run';
import { DynamoDBLocalError } from '../lambda/local';
import { startWebExample } from './web/web-stack';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { store: { type: 'string', default: 'dynamodb' }, web: { type: 'boolean', default: false } } });
  if (values.store !== 'dynamodb' && values.store !== 'memory') {
    console.error(`--store must be dynamodb or memory, got: ${values.store}`);
    return 2;
  }
  const store = values.store as DemoStoreKind;
  if (values.web) return serveWeb(store);
  try {
    const report = await runDemo({ store, log: (line) => console.log(line) });
    return report.ok ? 0 : 1;
  } catch (error) {
    console.error(`\nThe demo could not run: ${error instanceof Error ? error.message : String(error)}`);
    if (error instanceof DynamoDBLocalError && error.reason === 'java-not-found') console.error('Without Java 17, try the in-memory store: npm run demo -- --store memory');
    return 1;
  }
}

/** Serves the web example until SIGINT / SIGTERM. */
async function serveWeb(store: DemoStoreKind): Promise<number> {
  let web;
  try {
    web = await startWebExample({
      store,
      onDynamoDBProgress: (elapsedMs) => console.log(`DynamoDB Local is still starting (${Math.round(elapsedMs / 1000)} s)…`),
    });
  } catch (error) {
    console.error(`The web example could not start: ${error instanceof Error ? error.message : String(error)}`);
    if (error instanceof DynamoDBLocalError && error.reason === 'java-not-found') console.error('Without Java 17, try the in-memory store: npm run demo -- --web --store memory');
    return 1;
  }
  console.log('cdk-trpc-subscriptions web example (example/web): a React chat on the local stack');
  console.log('');
  console.log(`  store     ${store === 'dynamodb' ? 'DynamoDB Local' : 'in memory (--store memory)'}`);
  console.log(`  gateway   ${web.gateway.url} (local API Gateway WebSocket emulator)`);
  console.log(`  console   ${web.consoleUrl} (connections, subscriptions, publishes and their outcomes)`);
  console.log('');
  console.log('Open two windows as two users in the same room:');
  console.log(`  ${web.url}?user=alice&room=lobby`);
  console.log(`  ${web.url}?user=bob&room=lobby`);
  console.log('');
  console.log('Ctrl+C stops everything.');
  await untilStopped();
  const connections = web.gateway.connections().length;
  await web.close();
  console.log(`\nStopped: ${connections} connection${connections === 1 ? '' : 's'} closed.`);
  return 0;
}

/**
 * Resolves on the first SIGINT or SIGTERM. Later ones are ignored while the stack closes: a Ctrl+C
 * reaches this process from the terminal and once more through npm, and the default action of a
 * second one would kill it before the connections' `$disconnect` handlers ran.
 */
function untilStopped(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => resolve();
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

void main().then((code) => {
  process.exitCode = code;
});
