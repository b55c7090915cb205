/**
 * A local stand-in for the fan-out queue: an in-process queue with the SQS semantics the worker
 * relies on, behind a loopback endpoint that speaks the SQS JSON protocol for `SendMessage` and
 * `SendMessageBatch`, so the real `@aws-sdk/client-sqs` (in `enqueue()` and in the worker) talks
 * to it unchanged. Semantics: at-least-once delivery to a Lambda-style handler in batches, a
 * visibility timeout (a message handed out is invisible until it is deleted or the timeout ends),
 * partial batch responses (`batchItemFailures`; a thrown handler fails the whole batch), and
 * redrive to a dead-letter list once a message was received `maxReceiveCount` times. A message is
 * never handed out again while the invocation holding it runs, as on AWS where the function
 * timeout is shorter than the visibility timeout (the construct checks it).
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LocalLogger } from './logger';
import { stderrLogger } from './logger';
import { MAX_QUEUE_MESSAGE_BYTES } from '../constants';
import type { QueueBatchResponse, QueueEvent } from '../queue/sqs-event';

/** The handler the queue invokes (the fan-out worker). */
export type LocalQueueHandler = (event: QueueEvent) => Promise<QueueBatchResponse | void>;

/** A request to the queue's endpoint, as the fault hook sees it. */
export interface LocalQueueRequest {
  /** `SendMessage` or `SendMessageBatch`. */
  readonly action: string;
}

/** Options of {@link startLocalQueue}. */
export interface LocalQueueOptions {
  /** Receives the messages, in batches. */
  readonly handler: LocalQueueHandler;
  /**
   * How long a received message stays invisible before another receive may get it.
   * @default 30000 (SQS's default)
   */
  readonly visibilityTimeoutMs?: number;
  /**
   * Receives after which a message goes to the dead-letter list instead of the handler.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * Most messages per handler invocation.
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * Handler invocations at once (Lambda's concurrent executions of the worker).
   * @default 4
   */
  readonly concurrency?: number;
  /**
   * Queue name (the last part of the URL).
   * @default 'fan-out'
   */
  readonly queueName?: string;
  /**
   * Answer chosen endpoint requests with an error (e.g. a throttling 400) instead.
   * @default - no faults
   */
  readonly faults?: (request: LocalQueueRequest) => { readonly status: number; readonly errorType: string } | undefined;
  /**
   * Where handler errors go.
   * @default - stderr
   */
  readonly logger?: LocalLogger;
  /**
   * Receives what happens to each message (e.g. for the `dev` console). Called synchronously; an
   * error it throws is logged and changes nothing.
   * @default - nobody listens
   */
  readonly onEvent?: (event: LocalQueueEvent) => void;
}

/** What happened to messages of a local queue, with when (epoch milliseconds). */
export type LocalQueueEvent = { readonly at: number } & (
  /** A message was stored. */
  | { readonly type: 'sent'; readonly messageId: string; readonly body: string }
  /** Messages were handed to one handler invocation. */
  | { readonly type: 'received'; readonly messageIds: readonly string[] }
  /** The handler succeeded with a message: it is deleted. */
  | { readonly type: 'deleted'; readonly messageId: string }
  /** The handler failed a message: it is received again after the visibility timeout. */
  | { readonly type: 'failed'; readonly messageId: string }
  /** A message was moved to the dead-letter list. */
  | { readonly type: 'dead-lettered'; readonly messageId: string }
);

/** A message moved to the dead-letter list. */
export interface DeadLetter {
  readonly messageId: string;
  readonly body: string;
  readonly receiveCount: number;
}

/** Counters of a local queue. */
export interface LocalQueueStats {
  readonly sent: number;
  readonly received: number;
  readonly deleted: number;
  readonly invocations: number;
  readonly deadLettered: number;
}

/** A running local queue. */
export interface LocalQueue {
  /** The queue URL for `SendMessage` (`http://127.0.0.1:{port}/000000000000/{name}`). */
  readonly url: string;
  /** The endpoint for `new SQSClient({ endpoint })`. */
  readonly endpoint: string;
  /** Sends a message without the endpoint; returns its id. */
  send(body: string): string;
  /** Messages moved to the dead-letter list. */
  deadLetters(): readonly DeadLetter[];
  stats(): LocalQueueStats;
  /** Resolves once no message is waiting, invisible or being handled. */
  drained(): Promise<void>;
  /** Stops receiving and closes the endpoint (after the invocations in flight end). */
  close(): Promise<void>;
}

interface Message {
  readonly messageId: string;
  readonly body: string;
  receiveCount: number;
  visibleAt: number;
  /** Held by a running invocation. */
  inFlight: boolean;
}

/** Starts a local queue with its SQS-protocol endpoint on a free loopback port. */
export async function startLocalQueue(options: LocalQueueOptions): Promise<LocalQueue> {
  const visibilityTimeoutMs = options.visibilityTimeoutMs ?? 30_000;
  const maxReceiveCount = options.maxReceiveCount ?? 5;
  const batchSize = options.batchSize ?? 10;
  const concurrency = options.concurrency ?? 4;
  const logger = options.logger ?? stderrLogger;
  const queueName = options.queueName ?? 'fan-out';
  const messages = new Map<string, Message>();
  const dead: DeadLetter[] = [];
  const stats = { sent: 0, received: 0, deleted: 0, invocations: 0, deadLettered: 0 };
  const running = new Set<Promise<void>>();
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let drainWaiters: Array<() => void> = [];
  const listener = options.onEvent;
  const emit = (event: LocalQueueEvent) => {
    try {
      listener?.(event);
    } catch (error) {
      logger.error('Local queue: the onEvent listener failed', error);
    }
  };

  const send = (body: string): string => {
    if (closed) throw new Error('local queue is closed');
    const messageId = randomUUID();
    messages.set(messageId, { messageId, body, receiveCount: 0, visibleAt: 0, inFlight: false });
    stats.sent++;
    emit({ type: 'sent', at: Date.now(), messageId, body });
    schedule(0);
    return messageId;
  };

  const schedule = (delayMs: number) => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(pump, Math.max(0, delayMs));
  };

  const checkDrained = () => {
    if (messages.size === 0 && running.size === 0) {
      const waiters = drainWaiters;
      drainWaiters = [];
      for (const resolve of waiters) resolve();
    }
  };

  /** Receives batches while invocation slots and visible messages exist; re-arms for the next visible one. */
  function pump(): void {
    timer = undefined;
    if (closed) return;
    while (running.size < concurrency) {
      const now = Date.now();
      const batch: Message[] = [];
      for (const message of messages.values()) {
        if (message.visibleAt > now || message.inFlight) continue;
        if (message.receiveCount >= maxReceiveCount) {
          // Redrive: the receive that would exceed maxReceiveCount moves it to the dead-letter queue.
          messages.delete(message.messageId);
          dead.push({ messageId: message.messageId, body: message.body, receiveCount: message.receiveCount });
          stats.deadLettered++;
          emit({ type: 'dead-lettered', at: now, messageId: message.messageId });
          continue;
        }
        batch.push(message);
        if (batch.length >= batchSize) break;
      }
      if (batch.length === 0) break;
      for (const message of batch) {
        message.receiveCount++;
        message.visibleAt = now + visibilityTimeoutMs;
        message.inFlight = true;
      }
      stats.received += batch.length;
      invoke(batch);
    }
    checkDrained();
    const next = Math.min(...[...messages.values()].map((message) => message.visibleAt));
    if (Number.isFinite(next) && running.size < concurrency) schedule(next - Date.now());
  }

  function invoke(batch: Message[]): void {
    stats.invocations++;
    emit({ type: 'received', at: Date.now(), messageIds: batch.map((message) => message.messageId) });
    const event: QueueEvent = {
      Records: batch.map((message) => ({
        messageId: message.messageId,
        body: message.body,
        attributes: { ApproximateReceiveCount: String(message.receiveCount) },
      })),
    };
    const task = (async () => {
      let failedIds: Set<string>;
      try {
        const response = await options.handler(event);
        const reported = response?.batchItemFailures ?? [];
        const ids = new Set(batch.map((message) => message.messageId));
        // Lambda treats a response naming an unknown message id as a failure of the whole batch.
        failedIds = reported.every((failure) => ids.has(failure.itemIdentifier))
          ? new Set(reported.map((failure) => failure.itemIdentifier))
          : ids;
      } catch (error) {
        logger.error('Local queue: the handler failed; the batch becomes visible after the visibility timeout', error);
        failedIds = new Set(batch.map((message) => message.messageId));
      }
      for (const message of batch) {
        message.inFlight = false;
        if (failedIds.has(message.messageId)) {
          emit({ type: 'failed', at: Date.now(), messageId: message.messageId });
        } else if (messages.delete(message.messageId)) {
          stats.deleted++;
          emit({ type: 'deleted', at: Date.now(), messageId: message.messageId });
        }
      }
    })();
    running.add(task);
    void task.finally(() => {
      running.delete(task);
      schedule(0);
      checkDrained();
    });
  }

  const server = createServer((request, response) => {
    handleRequest(request, response).catch((error: unknown) => {
      logger.error('Local queue: request failed', error);
      if (!response.headersSent) sendError(response, 500, 'InternalError', 'internal error');
    });
  });
  // Idle keep-alive sockets stay open for a minute, as SQS's endpoints keep them (Node's default is
  // 5 s: a client reusing a socket just as it is closed would get ECONNRESET).
  server.keepAliveTimeout = 60_000;
  async function handleRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
    const target = String(request.headers['x-amz-target'] ?? '');
    const action = target.startsWith('AmazonSQS.') ? target.slice('AmazonSQS.'.length) : '';
    const fault = options.faults?.({ action });
    if (fault) {
      sendError(response, fault.status, fault.errorType, fault.errorType);
      return;
    }
    let input: Record<string, unknown>;
    try {
      input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      sendError(response, 400, 'InvalidParameterValue', 'body is not JSON');
      return;
    }
    if (input.QueueUrl !== url) {
      sendError(response, 400, 'QueueDoesNotExist', `The specified queue does not exist: ${String(input.QueueUrl)}`);
      return;
    }
    if (action === 'SendMessage') {
      const body = input.MessageBody;
      const problem = bodyProblem(body);
      if (problem) {
        sendError(response, 400, 'InvalidParameterValue', problem);
        return;
      }
      sendJson(response, { MessageId: send(body as string), MD5OfMessageBody: md5(body as string) });
      return;
    }
    if (action === 'SendMessageBatch') {
      const entries = Array.isArray(input.Entries) ? (input.Entries as Array<{ Id?: string; MessageBody?: unknown }>) : [];
      if (entries.length === 0 || entries.length > 10) {
        sendError(response, 400, entries.length === 0 ? 'EmptyBatchRequest' : 'TooManyEntriesInBatchRequest', 'a batch takes 1 to 10 entries');
        return;
      }
      const total = entries.reduce((sum, entry) => sum + Buffer.byteLength(String(entry.MessageBody ?? '')), 0);
      if (total > MAX_QUEUE_MESSAGE_BYTES) {
        sendError(response, 400, 'BatchRequestTooLong', `the batch is ${total} bytes, at most ${MAX_QUEUE_MESSAGE_BYTES}`);
        return;
      }
      const successful: unknown[] = [];
      const failed: unknown[] = [];
      for (const entry of entries) {
        const problem = bodyProblem(entry.MessageBody);
        if (problem) failed.push({ Id: entry.Id, SenderFault: true, Code: 'InvalidParameterValue', Message: problem });
        else successful.push({ Id: entry.Id, MessageId: send(entry.MessageBody as string), MD5OfMessageBody: md5(entry.MessageBody as string) });
      }
      sendJson(response, { Successful: successful, Failed: failed });
      return;
    }
    sendError(response, 400, 'InvalidAction', `The action ${action || '(none)'} is not valid for this endpoint.`);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const url = `${endpoint}/000000000000/${queueName}`;

  return {
    url,
    endpoint,
    send,
    deadLetters: () => [...dead],
    stats: () => ({ ...stats }),
    drained: () => new Promise<void>((resolve) => {
      drainWaiters.push(resolve);
      checkDrained();
    }),
    close: async () => {
      closed = true;
      if (timer) clearTimeout(timer);
      await Promise.allSettled([...running]);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function bodyProblem(body: unknown): string | undefined {
  if (typeof body !== 'string' || body.length === 0) return 'MessageBody must be a non-empty string';
  const bytes = Buffer.byteLength(body);
  return bytes > MAX_QUEUE_MESSAGE_BYTES ? `MessageBody is ${bytes} bytes, at most ${MAX_QUEUE_MESSAGE_BYTES}` : undefined;
}

function md5(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

function sendJson(response: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(text), 'x-amzn-RequestId': randomUUID() });
  response.end(text);
}

function sendError(response: ServerResponse, status: number, code: string, message: string): void {
  const text = JSON.stringify({ __type: `com.amazonaws.sqs#${code}`, message });
  response.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(text),
    'x-amzn-RequestId': randomUUID(),
    'x-amzn-query-error': `AWS.SimpleQueueService.${code};Sender`,
  });
  response.end(text);
}
