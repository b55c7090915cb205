/**
 * Child process holding one fan-out worker instance, as one Lambda instance of the worker holds
 * one: its own event loop, SDK clients and pacing gate. Driven over IPC by ./worker-pool.ts.
 */
import './process-env';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { WorkerCommand, WorkerReply } from './worker-pool';
import { appSubscriptions } from '../../example/app-router';
import { dynamodb, dynamodbLedger } from '../../lambda';
import { LOCAL_AWS_SETTINGS } from '../../lambda/local';

type QueueHandler = ReturnType<typeof appSubscriptions.worker>;

let handler: QueueHandler | undefined;
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
  throttled = 0;
  errors.length = 0;
  handler = appSubscriptions.worker({
    store: dynamodb({ tableName: command.tableName, dynamoDBClient }),
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
  });
}

process.on('message', (command: WorkerCommand) => {
  switch (command.type) {
    case 'configure':
      configure(command);
      reply({ type: 'configured' });
      return;
    case 'invoke': {
      const run = handler
        ? handler(command.event as Parameters<QueueHandler>[0], undefined)
        : Promise.reject(new Error('worker process: invoked before configure'));
      run.then(
        (response) => reply({ type: 'invoked', id: command.id, response }),
        (error: unknown) => reply({ type: 'invoked', id: command.id, error: String(error) }),
      );
      return;
    }
    case 'report':
      reply({ type: 'report', throttled, errors: errors.splice(0), cpuMs: cpuMs() });
      return;
    case 'close':
      for (const client of clients) client.destroy();
      process.disconnect?.();
      return;
  }
});

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

reply({ type: 'ready' });
