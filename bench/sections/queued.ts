/**
 * 5. Queued fan-out at simulated AWS scale: `enqueue()` a broadcast to N virtual connections
 * through the local queue and parallel fan-out workers, with the local gateway limited to R
 * `@connections` requests per second (429 beyond) and 20 ms per call. The floor is N / R.
 */
import { loadavg, cpus } from 'node:os';
import { SQSClient } from '@aws-sdk/client-sqs';
import { appSubscriptions } from '../../example/app-router';
import { dynamodb } from '../../lambda';
import { createSubscriptionTable, LOCAL_AWS_SETTINGS, silentLogger, startLocalGateway, startLocalQueue } from '../../lambda/local';
import type { Budget } from '../support/budget';
import { bulkSeed } from '../support/bulk';
import type { BenchEnv } from '../support/env';
import { exampleHandlers } from '../support/example-app';
import { fmt, ratio, table, wallClockMs } from '../support/stats';
import { startWorkerPool, type WorkerPool } from '../support/worker-pool';

/** One step: N subscribers, the gateway's rate R. */
interface QueuedStep {
  readonly subscribers: number;
  readonly rate: number;
}

interface QueuedMeasure extends QueuedStep {
  readonly wallMs: number;
  readonly floorMs: number;
  /** The same posts from the same instances at the same pace, without read, queue or ledger. */
  readonly postingFloorMs: number;
  readonly delivered: number;
  readonly duplicated: number;
  readonly lost: number;
  readonly throttled: number;
  readonly queueMessages: number;
  readonly invocations: number;
  readonly cpuPerMessageMs: number;
  /** From the enqueue until the first delivery batch started on another instance. */
  readonly firstBatchMs: number;
  /** The splitting invocation: reading every subscriber and queueing the batches. */
  readonly splitMs: number;
  readonly load: string;
}

const LATENCY_MS = 20;
/** Worker instances (Lambda concurrency of the worker). */
const WORKERS = 8;
/** Child processes holding them (see bench/support/worker-pool.ts). */
const WORKER_PROCESSES = Number(process.env.BENCH_WORKER_PROCESSES ?? 2);

/**
 * The example step (N = 20,000 at 2,000/s: floor 10 s) and one 10x smaller, to show how the
 * time scales with N; `--quick` runs the small one only.
 */
function plan(quick: boolean): QueuedStep[] {
  return quick
    ? [{ subscribers: 2_000, rate: 2_000 }]
    : [{ subscribers: 2_000, rate: 2_000 }, { subscribers: 20_000, rate: 2_000 }];
}

/**
 * Steps held to the budget: a floor of 10 s or more. Below that the pipeline's fixed start (the
 * enqueue, two queue hops, reading and cutting the audience: ~0.2-0.6 s here) is a large share of
 * the floor, and the table shows it instead (split and first queued batch).
 */
const BUDGETED_FLOOR_MS = 10_000;

let runs = 0;

async function measure(env: BenchEnv, workers: WorkerPool, step: QueuedStep): Promise<QueuedMeasure> {
  const client = env.client();
  const tableName = `bench-queued-${++runs}`;
  await createSubscriptionTable({ client, tableName });
  const store = dynamodb({ tableName, dynamoDBClient: client });
  const gateway = await startLocalGateway({
    handlers: exampleHandlers(store, env.logger),
    logger: silentLogger,
    // AWS's account bucket holds half a second of the quota (5,000 on 10,000/s).
    managementRateLimit: { requestsPerSecond: step.rate, burst: step.rate / 2 },
    managementLatencyMs: LATENCY_MS,
    faults: () => undefined,
  });
  const ids = gateway.virtualConnections.add(step.subscribers);
  await bulkSeed(client, tableName, ids.map((connectionId) => ({ connectionId, room: 'broadcast' })));
  let sqs: SQSClient | undefined;
  const invocations: Array<{ startedAt: number; endedAt: number; split: boolean }> = [];
  const queue = await startLocalQueue({
    handler: async (event) => {
      const startedAt = wallClockMs();
      try {
        return await workers.invoke(event);
      } finally {
        invocations.push({ startedAt, endedAt: wallClockMs(), split: event.Records.some((record) => record.body.includes('"kind":"publish"')) });
      }
    },
    concurrency: workers.size,
    visibilityTimeoutMs: 120_000,
    // One delivery batch per invocation (the construct's default): the batches spread over every instance.
    batchSize: 1,
    logger: silentLogger,
  });
  try {
    sqs = new SQSClient({ endpoint: queue.endpoint, ...LOCAL_AWS_SETTINGS });
    // As the construct paces them: the instances share the quota (share 1.0 here: the gateway's limit is the whole quota).
    await workers.configure({
      tableName,
      dynamodbEndpoint: env.dynamodb.endpoint,
      gatewayEndpoint: gateway.endpoint,
      queueEndpoint: queue.endpoint,
      queueUrl: queue.url,
      maxPostsPerSecond: step.rate / workers.size,
      instances: workers.size,
      ...(process.env.BENCH_BATCH ? { deliveryBatchSize: Number(process.env.BENCH_BATCH) } : {}),
    });
    const publisher = appSubscriptions.publisher({ store, queueUrl: queue.url, sqsClient: sqs });
    const workerCpu0 = (await workers.report()).cpuMs;
    const cpu0 = process.cpuUsage();
    const t0 = wallClockMs();
    await publisher.routes.onMessage.enqueue({ data: { text: 'broadcast', at: new Date(), from: 'bench' }, filter: { name: 'byRoom', input: { room: 'broadcast' } } });
    await queue.drained();
    const wallMs = wallClockMs() - t0;
    const cpu = process.cpuUsage(cpu0);
    const report = await workers.report();
    env.errors.push(...report.errors);
    let delivered = 0;
    let duplicated = 0;
    let lost = 0;
    for (const id of ids) {
      const count = gateway.virtualConnections.received(id).length;
      if (count === 0) lost++;
      else delivered++;
      if (count > 1) duplicated += count - 1;
    }
    // The posting floor, measured now on the same machine: what the posts alone cost.
    const frame = gateway.virtualConnections.received(ids[0])[0] ?? '{}';
    await new Promise((resolve) => setTimeout(resolve, 500));
    const f0 = wallClockMs();
    const floorDelivered = await workers.postFloor(ids, frame);
    const postingFloorMs = wallClockMs() - f0;
    if (floorDelivered !== ids.length) throw new Error(`posting floor: ${floorDelivered} of ${ids.length} delivered`);
    const stats = queue.stats();
    invocations.sort((a, b) => a.startedAt - b.startedAt);
    const split = invocations.find((invocation) => invocation.split);
    const batches = invocations.filter((invocation) => !invocation.split);
    const splitMs = split ? split.endedAt - split.startedAt : NaN;
    const firstBatchMs = (batches[0]?.startedAt ?? NaN) - t0;
    env.progress(`  queued: CPU ${fmt((cpu.user + cpu.system) / 1000)} ms in the gateway's process, ${fmt(report.cpuMs - workerCpu0)} ms in the instances; `
      + `split ${fmt(splitMs)} ms, first queued batch at ${fmt(firstBatchMs)} ms, `
      + `mean batch ${fmt(batches.reduce((sum, b) => sum + b.endedAt - b.startedAt, 0) / batches.length)} ms, posting floor ${fmt(postingFloorMs)} ms`);
    return {
      ...step,
      wallMs,
      floorMs: (step.subscribers / step.rate) * 1000,
      postingFloorMs,
      delivered,
      duplicated,
      lost,
      throttled: report.throttled,
      queueMessages: stats.sent,
      invocations: stats.invocations,
      firstBatchMs,
      splitMs,
      cpuPerMessageMs: ((cpu.user + cpu.system) / 1000 + report.cpuMs - workerCpu0) / step.subscribers,
      load: `${loadavg()[0].toFixed(2)} / ${cpus().length} cores`,
    };
  } finally {
    await queue.close();
    sqs?.destroy();
    await gateway.close();
  }
}

export async function runQueued(env: BenchEnv): Promise<QueuedMeasure[]> {
  const workers = await startWorkerPool(WORKERS, WORKER_PROCESSES);
  const results: QueuedMeasure[] = [];
  try {
    // Warm instances, as a Lambda function's are after its first invocations: one broadcast, not counted.
    env.progress('  queued: warm-up broadcast to 1,000...');
    await measure(env, workers, { subscribers: 1_000, rate: 2_000 });
    for (const step of plan(env.quick)) {
      env.progress(`  queued: N=${step.subscribers} at ${step.rate}/s...`);
      const result = await measure(env, workers, step);
      env.progress(`  queued: N=${step.subscribers}: ${fmt(result.wallMs)} ms (floor ${fmt(result.floorMs)} ms)`);
      results.push(result);
    }
  } finally {
    await workers.close();
  }
  return results;
}

export function renderQueued(results: QueuedMeasure[]): { markdown: string; budgets: Budget[] } {
  const rows = results.map((r) => [
    fmt(r.subscribers, 0), fmt(r.rate, 0), fmt(r.floorMs), fmt(r.wallMs), ratio(r.wallMs, r.floorMs, 2),
    fmt(r.postingFloorMs), ratio(r.wallMs, r.postingFloorMs, 2),
    fmt(r.delivered, 0), fmt(r.lost, 0), fmt(r.duplicated, 0), fmt(r.throttled, 0), fmt(r.queueMessages, 0), fmt(r.invocations, 0),
    fmt(r.splitMs), fmt(r.firstBatchMs), fmt(r.cpuPerMessageMs, 3), r.load,
  ]);
  const budgets: Budget[] = results.filter((r) => r.floorMs >= BUDGETED_FLOOR_MS).map((r) => [
    `queued broadcast to ${fmt(r.subscribers, 0)} at ${fmt(r.rate, 0)}/s, ${LATENCY_MS} ms per call: <= 1.3x the floor N/R, 0 lost, 0 duplicated`,
    `${ratio(r.wallMs, r.floorMs, 2)}, ${r.lost} lost, ${r.duplicated} duplicated`,
    r.wallMs <= 1.3 * r.floorMs && r.lost === 0 && r.duplicated === 0,
  ]);
  const scaling = results.length >= 2
    ? `\nN x${fmt(results[results.length - 1].subscribers / results[0].subscribers, 0)}: time x${fmt(results[results.length - 1].wallMs / results[0].wallMs, 2)}.\n`
    : '';
  const markdown = table(
    [
      'N virtual', 'gateway limit /s', 'floor N/R ms', 'queued ms', 'time / (N/R)', 'posting floor ms', 'time / posting floor',
      'delivered', 'lost', 'duplicated', '429 after retries', 'queue messages', 'worker invocations', 'split ms', 'first queued batch ms',
      'CPU ms/message', 'load avg / cores',
    ],
    rows,
  ) + `\n${scaling}\n${WORKERS} worker instances in ${WORKER_PROCESSES} processes, each instance paced to R/${WORKERS}; `
    + `${LATENCY_MS} ms added to every management call; 429 beyond the limit (the bucket holds R/2, as AWS's). `
    + 'Posting floor: the same instances post the same frame to the same connections at the same pace, with no read, queue or ledger. '
    + 'CPU ms/message: every process (gateway and queue, the worker instances) over the delivered messages.';
  return { markdown, budgets };
}
