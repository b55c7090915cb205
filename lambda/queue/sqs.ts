/**
 * Sends queue messages with the AWS SDK's SQS client: one `SendMessage`, or `SendMessageBatch`
 * requests of at most 10 entries and 256 KiB, retrying the entries SQS reports as failed.
 */
import type { SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import { MAX_QUEUE_MESSAGE_BYTES } from '../constants';
import { backoff } from '../util/backoff';

/** SendMessageBatch takes at most 10 entries. */
const BATCH_ENTRIES = 10;
/** Attempts for the entries of a batch that SQS did not accept. */
const MAX_BATCH_ATTEMPTS = 5;

/**
 * The SQS client module, loaded on first use: the `$connect`/`$default`/`$disconnect` handlers
 * share the bundle with the worker, and their cold start should not pay for a client they never use.
 */
const sqsModule = () => import('@aws-sdk/client-sqs');

let sharedClient: Promise<SQSClient> | undefined;

/** One SQS client per Lambda instance, created at first use (the SDK's standard retries apply). */
export function defaultSqsClient(): Promise<SQSClient> {
  sharedClient ??= sqsModule().then(({ SQSClient: Client }) => new Client({}));
  return sharedClient;
}

/** Thrown when a message body would exceed SQS's message size. */
export class QueueMessageTooLargeError extends Error {
  constructor(readonly bytes: number) {
    super(`A queue message is ${bytes} bytes, SQS accepts at most ${MAX_QUEUE_MESSAGE_BYTES}`);
    this.name = 'QueueMessageTooLargeError';
  }
}

function assertSize(body: string): number {
  const bytes = Buffer.byteLength(body);
  if (bytes > MAX_QUEUE_MESSAGE_BYTES) throw new QueueMessageTooLargeError(bytes);
  return bytes;
}

/** Sends one message; resolves with its SQS message id once SQS has stored it. */
export async function sendQueueMessage(client: SQSClient, queueUrl: string, body: string): Promise<string> {
  assertSize(body);
  const { SendMessageCommand } = await sqsModule();
  const output = await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
  return output.MessageId ?? '';
}

/**
 * Sends many messages in batches (10 entries, 256 KiB per request), retrying failed entries with
 * backoff; throws when some are still refused after the last attempt.
 */
export async function sendQueueMessages(client: SQSClient, queueUrl: string, bodies: readonly string[]): Promise<void> {
  const groups: string[][] = [];
  let group: string[] = [];
  let groupBytes = 0;
  for (const body of bodies) {
    const bytes = assertSize(body);
    if (group.length === BATCH_ENTRIES || groupBytes + bytes > MAX_QUEUE_MESSAGE_BYTES) {
      groups.push(group);
      group = [];
      groupBytes = 0;
    }
    group.push(body);
    groupBytes += bytes;
  }
  if (group.length > 0) groups.push(group);
  await Promise.all(groups.map((entries) => sendBatch(client, queueUrl, entries)));
}

async function sendBatch(client: SQSClient, queueUrl: string, bodies: readonly string[]): Promise<void> {
  const { SendMessageBatchCommand } = await sqsModule();
  let entries: SendMessageBatchRequestEntry[] = bodies.map((body, index) => ({ Id: String(index), MessageBody: body }));
  for (let attempt = 1; ; attempt++) {
    const output = await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    const failed = new Set((output.Failed ?? []).map((entry) => entry.Id));
    entries = entries.filter((entry) => failed.has(entry.Id));
    if (entries.length === 0) return;
    if (attempt >= MAX_BATCH_ATTEMPTS) {
      const reasons = (output.Failed ?? []).map((entry) => `${entry.Code}: ${entry.Message}`).join('; ');
      throw new Error(`SendMessageBatch: ${entries.length} messages refused after ${attempt} attempts (${reasons})`);
    }
    await backoff(attempt);
  }
}
