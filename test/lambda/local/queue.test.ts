import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { MAX_QUEUE_MESSAGE_BYTES } from '../../../lambda/constants';
import { LOCAL_AWS_SETTINGS, silentLogger, startLocalQueue, type LocalQueue } from '../../../lambda/local';
import { sendQueueMessages } from '../../../lambda/queue/sqs';
import type { QueueBatchResponse, QueueEvent } from '../../../lambda/queue/sqs-event';

/**
 * The local queue's SQS semantics (visibility timeout, partial batch responses, redrive to the
 * dead-letter list) and its SQS JSON endpoint, driven by the real `@aws-sdk/client-sqs`.
 */
let queue: LocalQueue | undefined;
let client: SQSClient | undefined;
afterEach(async () => {
  await queue?.close();
  client?.destroy();
  queue = undefined;
});

async function start(handler: (event: QueueEvent) => Promise<QueueBatchResponse | void>, overrides = {}): Promise<LocalQueue> {
  queue = await startLocalQueue({ handler, visibilityTimeoutMs: 50, maxReceiveCount: 3, logger: silentLogger, ...overrides });
  client = new SQSClient({ endpoint: queue.endpoint, ...LOCAL_AWS_SETTINGS });
  return queue;
}

test('SendMessage and SendMessageBatch through the SDK (MD5 checked by the SDK) reach the handler', async () => {
  const bodies: string[] = [];
  const q = await start(async (event) => {
    bodies.push(...event.Records.map((record) => record.body));
  });
  const single = await client!.send(new SendMessageCommand({ QueueUrl: q.url, MessageBody: 'one' }));
  expect(single.MessageId).toMatch(/[0-9a-f-]{36}/);
  const batch = await client!.send(new SendMessageBatchCommand({
    QueueUrl: q.url,
    Entries: Array.from({ length: 10 }, (_, i) => ({ Id: `e${i}`, MessageBody: `b${i}` })),
  }));
  expect(batch.Successful?.map((entry) => entry.Id)).toEqual(Array.from({ length: 10 }, (_, i) => `e${i}`));
  await q.drained();
  expect(bodies.sort()).toEqual(['b0', 'b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7', 'b8', 'b9', 'one']);
});

test('the endpoint refuses what SQS refuses: 11 entries, an oversized batch, an unknown queue', async () => {
  const q = await start(async () => undefined);
  await expect(client!.send(new SendMessageBatchCommand({
    QueueUrl: q.url, Entries: Array.from({ length: 11 }, (_, i) => ({ Id: `e${i}`, MessageBody: 'x' })),
  }))).rejects.toThrow(/1 to 10 entries/);
  const big = 'x'.repeat(MAX_QUEUE_MESSAGE_BYTES / 2);
  await expect(client!.send(new SendMessageBatchCommand({
    QueueUrl: q.url, Entries: [{ Id: 'a', MessageBody: big }, { Id: 'b', MessageBody: big }, { Id: 'c', MessageBody: 'x' }],
  }))).rejects.toThrow(/at most 262144/);
  await expect(client!.send(new SendMessageCommand({ QueueUrl: `${q.url}-other`, MessageBody: 'x' }))).rejects.toThrow(/does not exist/);
  expect(q.stats().sent).toBe(0);
});

test('sendQueueMessages splits by 10 entries and by 256 KiB per request', async () => {
  const requests: number[] = [];
  const q = await start(async () => undefined, { faults: ({ action }: { action: string }) => (requests.push(action === 'SendMessageBatch' ? 1 : 0), undefined) });
  const bodies = [...Array.from({ length: 23 }, (_, i) => `m${i}`), 'y'.repeat(200_000), 'z'.repeat(200_000)];
  await sendQueueMessages(client!, q.url, bodies);
  // 23 small ones: 10 + 10 + (3 + one big); the second big one alone.
  expect(requests).toEqual([1, 1, 1, 1]);
  await q.drained();
  expect(q.stats()).toMatchObject({ sent: 25, deleted: 25 });
});

test('partial batch response: only the failed message comes back, after the visibility timeout', async () => {
  const seen: Array<{ body: string; count: string | undefined; at: number }> = [];
  const q = await start(async (event) => {
    for (const record of event.Records) seen.push({ body: record.body, count: record.attributes?.ApproximateReceiveCount, at: Date.now() });
    return { batchItemFailures: event.Records.filter((record) => record.body === 'bad' && seen.filter((s) => s.body === 'bad').length < 2).map((record) => ({ itemIdentifier: record.messageId })) };
  }, { visibilityTimeoutMs: 150 });
  q.send('good');
  q.send('bad');
  await q.drained();
  expect(seen.filter((s) => s.body === 'good').map((s) => s.count)).toEqual(['1']);
  const bad = seen.filter((s) => s.body === 'bad');
  expect(bad.map((s) => s.count)).toEqual(['1', '2']);
  expect(bad[1].at - bad[0].at).toBeGreaterThanOrEqual(140);
});

test('a thrown handler or an unknown item identifier fails the whole batch; maxReceiveCount redrives to the dead-letter list', async () => {
  let calls = 0;
  const q = await start(async (event) => {
    calls++;
    if (calls === 1) throw new Error('crash');
    return { batchItemFailures: [{ itemIdentifier: 'not-in-batch' }], ignored: event };
  });
  q.send('a');
  await q.drained();
  expect(calls).toBe(3);
  expect(q.deadLetters()).toEqual([expect.objectContaining({ body: 'a', receiveCount: 3 })]);
});
