/**
 * Fan-out worker instances in child processes (./worker-process.ts), away from the gateway's
 * event loop: each instance has its own handler, SDK settings and pacing gate, as each Lambda
 * instance of the worker has, and the local queue's invocations go to an idle one. Instances share
 * a process (`processes` of them): one process per instance would spend this machine's two cores
 * on per-process overhead (event loops, GC) that Lambda instances pay on their own CPUs.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { QueueBatchResponse, QueueEvent } from '../../lambda/queue/sqs-event';

/** Commands to a worker process. */
export type WorkerCommand =
  | {
    readonly type: 'configure';
    readonly tableName: string;
    readonly dynamodbEndpoint: string;
    readonly gatewayEndpoint: string;
    readonly queueEndpoint: string;
    readonly queueUrl: string;
    readonly maxPostsPerSecond: number;
    readonly deliveryBatchSize?: number;
    /** Instances running at once, as the construct sets it from `maxConcurrency`. */
    readonly instances: number;
    /** Instances in this process. */
    readonly slots: number;
  }
  | { readonly type: 'invoke'; readonly id: number; readonly slot: number; readonly event: QueueEvent }
  | { readonly type: 'floor'; readonly connectionIds: readonly string[]; readonly frame: string }
  | { readonly type: 'report' }
  | { readonly type: 'close' };

/** Replies of a worker process. */
export type WorkerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'configured' }
  | { readonly type: 'invoked'; readonly id: number; readonly response?: QueueBatchResponse; readonly error?: string }
  | { readonly type: 'floor'; readonly delivered: number }
  | { readonly type: 'report'; readonly throttled: number; readonly errors: string[]; readonly cpuMs: number };

/** What every instance counted since its last configure. */
export interface WorkerPoolReport {
  /** Posts still answered 429 after their retries (their batches were retried). */
  readonly throttled: number;
  /** Errors the instances logged (the bench fails when any was). */
  readonly errors: string[];
  /** CPU time of every instance process so far, ms. */
  readonly cpuMs: number;
}

/** A pool of worker instances. */
export interface WorkerPool {
  readonly size: number;
  /** Points every instance at a table, a gateway and a queue (new SDK clients, fresh pacing gates). */
  configure(settings: Omit<Extract<WorkerCommand, { type: 'configure' }>, 'type' | 'slots'>): Promise<void>;
  /** Runs one queue invocation on an idle instance (the local queue never runs more than `size` at once). */
  invoke(event: QueueEvent): Promise<QueueBatchResponse>;
  /**
   * The posting floor: each instance posts `frame` to its share of `connectionIds` (split evenly)
   * through the worker's own Management API client and pacing, with no DynamoDB read, queue or
   * ledger; resolves with the posts delivered once every instance is done.
   */
  postFloor(connectionIds: readonly string[], frame: string): Promise<number>;
  report(): Promise<WorkerPoolReport>;
  close(): Promise<void>;
}

const REPLY_TIMEOUT_MS = 180_000;

interface Instance {
  readonly child: ChildProcess;
  readonly exit: Promise<void>;
  readonly waiters: Map<string, (reply: WorkerReply) => void>;
}

function startInstance(): Instance {
  const child = fork(join(__dirname, 'worker-process.ts'), [], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiters = new Map<string, (reply: WorkerReply) => void>();
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.on('message', (reply: WorkerReply) => {
    const key = reply.type === 'invoked' ? `invoked:${reply.id}` : reply.type;
    const waiter = waiters.get(key);
    waiters.delete(key);
    waiter?.(reply);
  });
  return { child, exit, waiters };
}

/** Waits for one reply of an instance, bounded, failing when the process exits first. */
function replyOf<T extends WorkerReply>(instance: Instance, key: string, send?: WorkerCommand): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      instance.waiters.delete(key);
      reject(new Error(`worker process: no ${key} within ${REPLY_TIMEOUT_MS} ms`));
    }, REPLY_TIMEOUT_MS);
    instance.waiters.set(key, (reply) => {
      clearTimeout(timer);
      resolve(reply as T);
    });
    void instance.exit.then(() => {
      clearTimeout(timer);
      reject(new Error(`worker process exited while waiting for ${key}`));
    });
    if (send) instance.child.send(send);
  });
}

/** Starts `size` worker instances in `processes` child processes and waits until each is ready. */
export async function startWorkerPool(size: number, processes: number): Promise<WorkerPool> {
  if (size % processes !== 0) throw new RangeError(`worker pool: ${size} instances do not divide over ${processes} processes`);
  const slots = size / processes;
  const instances = Array.from({ length: processes }, startInstance);
  await Promise.all(instances.map((instance) => replyOf(instance, 'ready')));
  // Spread over the processes: consecutive invocations go to different ones.
  const idle = Array.from({ length: size }, (_, index) => ({ instance: instances[index % processes], slot: Math.floor(index / processes) }));
  idle.reverse();
  let nextId = 0;
  return {
    size,
    async configure(settings) {
      await Promise.all(instances.map((instance) => replyOf(instance, 'configured', { type: 'configure', ...settings, slots })));
    },
    async invoke(event) {
      const free = idle.pop();
      if (!free) throw new Error('worker pool: more invocations at once than instances');
      try {
        const id = nextId++;
        const command: WorkerCommand = { type: 'invoke', id, slot: free.slot, event };
        const reply = await replyOf<Extract<WorkerReply, { type: 'invoked' }>>(free.instance, `invoked:${id}`, command);
        if (reply.error !== undefined) throw new Error(reply.error);
        return reply.response ?? { batchItemFailures: [] };
      } finally {
        idle.push(free);
      }
    },
    async postFloor(connectionIds, frame) {
      const share = Math.ceil(connectionIds.length / instances.length);
      const replies = await Promise.all(instances.map((instance, index) => replyOf<Extract<WorkerReply, { type: 'floor' }>>(
        instance, 'floor', { type: 'floor', connectionIds: connectionIds.slice(index * share, (index + 1) * share), frame },
      )));
      return replies.reduce((sum, r) => sum + r.delivered, 0);
    },
    async report() {
      const reports = await Promise.all(instances.map((instance) => replyOf<Extract<WorkerReply, { type: 'report' }>>(instance, 'report', { type: 'report' })));
      return {
        throttled: reports.reduce((sum, r) => sum + r.throttled, 0),
        errors: reports.flatMap((r) => r.errors),
        cpuMs: reports.reduce((sum, r) => sum + r.cpuMs, 0),
      };
    },
    async close() {
      await Promise.all(instances.map(async (instance) => {
        if (instance.child.exitCode !== null || instance.child.signalCode !== null) return;
        instance.child.send({ type: 'close' } satisfies WorkerCommand);
        const timer = setTimeout(() => instance.child.kill('SIGKILL'), 10_000);
        await instance.exit;
        clearTimeout(timer);
      }));
    },
  };
}
