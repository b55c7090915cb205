/**
 * Child process holding fan-out worker instances (`slots` of them, each with its own handler,
 * settings and pacing gate, as a Lambda instance of the worker has), on an event loop of their
 * own, away from the gateway's. Driven over IPC by ./worker-pool.ts.
 */
import './process-env';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { WorkerCommand, WorkerReply } from './worker-pool';
import { appSubscriptions } from '../../example/app-router';
import { dynamodb, dynamodbLedger } from '../../lambda';
import { LOCAL_AWS_SETTINGS } from '../../lambda/local';
import { managementClientFactory } from '../../lambda/management/client';
import { deliverTo } from '../../lambda/publisher/fan-out';
import type { SubscriptionStore } from '../../lambda/store/store';
import { createRateGate } from '../../lambda/util/rate-gate';
import { workerCallSettings } from '../../lambda/worker/settings';

type QueueHandler = ReturnType<typeof appSubscriptions.worker>;

let handlers: QueueHandler[] = [];
let configured: Extract<WorkerCommand, { type: 'configure' }> | undefined;
let store: SubscriptionStore | undefined;
let clients: Array<{ destroy(): void }> = [];
let throttled = 0;
const errors: string[] = [];

function reply(message: WorkerReply): void {
  process.send?.(message);
}

function configure(command: Extract<WorkerCommand, { type: 'configure' }>): void {
  for (const client of clients) client.destroy();
  const dynamoDBClient = new DynamoDBClient({ endpoint: command.dynamodbEndpoint, ...LOCAL_AWS_SETTINGS });
  const sqsClient = new SQSClient({ endpoint: command.queueEndpoint, ...LOCAL_AWS_SETTINGS });
  clients = [dynamoDBClient, sqsClient];
  configured = command;
  store = dynamodb({ tableName: command.tableName, dynamoDBClient });
  throttled = 0;
  errors.length = 0;
  handlers = Array.from({ length: command.slots }, () => appSubscriptions.worker({
    store,
    ledger: dynamodbLedger({ tableName: command.tableName, dynamoDBClient }),
    endpoint: command.gatewayEndpoint,
    queueUrl: command.queueUrl,
    sqsClient,
    maxPostsPerSecond: command.maxPostsPerSecond,
    instances: command.instances,
    ...(command.deliveryBatchSize ? { deliveryBatchSize: command.deliveryBatchSize } : {}),
    logger: {
      error: (message, details) => {
        // A post answered 429 after its retries is counted, not an error: the batch is retried.
        if (/could not be delivered/.test(message) && (details as { statusCode?: number } | undefined)?.statusCode === 429) throttled++;
        else errors.push(`${message} ${JSON.stringify(details, (_key, value: unknown) => (value instanceof Error ? value.message : value))}`);
      },
      warn: () => undefined,
    },
  }));
}

process.on('message', (command: WorkerCommand) => {
  switch (command.type) {
    case 'configure':
      configure(command);
      reply({ type: 'configured' });
      return;
    case 'invoke': {
      const handler = handlers[command.slot];
      const run = handler
        ? handler(command.event as Parameters<QueueHandler>[0], undefined)
        : Promise.reject(new Error('worker process: invoked before configure'));
      run.then(
        (response) => reply({ type: 'invoked', id: command.id, response }),
        (error: unknown) => reply({ type: 'invoked', id: command.id, error: String(error) }),
      );
      return;
    }
    case 'floor':
      postFloor(command).then(
        (delivered) => reply({ type: 'floor', delivered }),
        (error: unknown) => {
          errors.push(`posting floor failed: ${String(error)}`);
          reply({ type: 'floor', delivered: 0 });
        },
      );
      return;
    case 'report':
      reply({ type: 'report', throttled, errors: errors.splice(0), cpuMs: cpuMs() });
      return;
    case 'close':
      for (const client of clients) client.destroy();
      process.disconnect?.();
      return;
  }
});

/**
 * Posts one frame to each connection as a delivery batch does (the same client settings, 50 in
 * flight, a fresh gate at the instance's pace), without the ledger, the queue or any read.
 */
async function postFloor(command: Extract<WorkerCommand, { type: 'floor' }>): Promise<number> {
  if (!configured || !store) throw new Error('worker process: floor before configure');
  // The worker's own call settings (its default 5 attempts) and default concurrency.
  const calls = workerCallSettings(5);
  const client = managementClientFactory(calls)(configured.gatewayEndpoint);
  const { slots, maxPostsPerSecond } = configured;
  const share = Math.ceil(command.connectionIds.length / slots);
  // Each instance of this process posts its share through its own gate, as in a delivery batch.
  const results = await Promise.all(Array.from({ length: slots }, (_, slot) => deliverTo(
    {
      store: store!,
      client,
      logger: { error: () => undefined, warn: () => undefined },
      concurrency: 50,
      callTimeoutMs: calls.timeouts.callTimeoutMs,
      gate: createRateGate({ maxPerSecond: maxPostsPerSecond }),
    },
    {
      path: 'onMessage',
      frameFor: () => command.frame,
      targets: [command.connectionIds.slice(slot * share, (slot + 1) * share).map((connectionId) => ({ connectionId, subscriptionId: 1 }))],
    },
  )));
  return results.reduce((sum, result) => sum + result.delivered, 0);
}

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

reply({ type: 'ready' });
