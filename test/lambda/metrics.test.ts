import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import superjson from 'superjson';
import { memory, memoryLedger, type MemoryStore } from '../../lambda';
import { connectEvent, disconnectEvent, messageEvent } from './support/events';
import { startFakeManagementApi, type FakeManagementApi } from './support/fake-management';
import { recordingLogger } from './support/harness';
import { keptByLambda, lambdaLevelOf } from './support/lambda-log-filter';
import { startWorkerQueue } from './support/queue-harness';
import { DEFAULT_METRICS_NAMESPACE, RUNTIME_METRICS } from '../../lambda/metric-names';
import { emfLine, type MetricsOptions } from '../../lambda/util/emf';
import { createJsonLogger } from '../../lambda/util/logger';
import { appSubscriptions } from '../fixtures/router';
import { realtimeStack } from '../src/helpers';

/**
 * The EMF lines the real handlers and publisher print on stdout, parsed as CloudWatch would,
 * and checked against the names the construct's `metric*()` methods use.
 */
interface EmfDocument {
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: ReadonlyArray<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }>;
  };
  readonly [key: string]: unknown;
}

const METRICS: MetricsOptions = { enabled: true, namespace: DEFAULT_METRICS_NAMESPACE, dimensions: { ApiId: 'abc123', Stage: 'prod' } };

let printed: string[];
let api: FakeManagementApi;
let store: MemoryStore;
const logger = recordingLogger();

beforeEach(async () => {
  printed = [];
  const write = process.stdout.write.bind(process.stdout);
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: any, ...rest: any[]) => {
    if (typeof chunk === 'string' && chunk.includes('"_aws"')) {
      printed.push(chunk);
      return true;
    }
    return write(chunk, ...rest);
  });
  api = await startFakeManagementApi();
  store = memory();
});
afterEach(async () => {
  jest.restoreAllMocks();
  await api.close();
});

/** Every EMF line printed so far, parsed and checked against the EMF specification's shape. */
function emfDocuments(): EmfDocument[] {
  return printed.map((line) => {
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    const document = JSON.parse(line) as EmfDocument;
    for (const directive of document._aws.CloudWatchMetrics) {
      for (const dimensionSet of directive.Dimensions) {
        for (const name of dimensionSet) expect(typeof document[name]).toBe('string');
      }
      for (const metric of directive.Metrics) {
        const value = document[metric.Name];
        expect(typeof value === 'number' || (Array.isArray(value) && value.every((v) => typeof v === 'number'))).toBe(true);
      }
    }
    return document;
  });
}

/** Sums of each metric over every line (values of a distribution are summed too). */
function totals(): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const document of emfDocuments()) {
    for (const metric of document._aws.CloudWatchMetrics[0].Metrics) {
      const value = document[metric.Name] as number | number[];
      sums[metric.Name] = (sums[metric.Name] ?? 0) + (Array.isArray(value) ? value.length : value);
    }
  }
  return sums;
}

const handlers = (options: { maxSubscriptionsPerConnection?: number } = {}) => ({
  connect: appSubscriptions.connect({ store, logger, metrics: METRICS }),
  handler: appSubscriptions.handler({ store, logger, metrics: METRICS, endpoint: api.endpoint, ...options }),
  disconnect: appSubscriptions.disconnect({ store, logger, metrics: METRICS }),
});

const subscribe = (id: number, room: string) =>
  messageEvent('c1', { id, method: 'subscription', params: { path: 'onMessage', input: superjson.serialize({ room }) } });

describe('metrics under Lambda\'s log-level filter (JSON log format with an application log level)', () => {
  const APPLICATION_LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];
  afterEach(() => {
    delete process.env.AWS_LAMBDA_LOG_LEVEL;
  });

  test.each(APPLICATION_LOG_LEVELS)('GIVEN applicationLogLevel %s WHEN a connection opens and closes THEN Lambda keeps every metrics line', async (level) => {
    // Lambda passes the function's application log level as AWS_LAMBDA_LOG_LEVEL.
    process.env.AWS_LAMBDA_LOG_LEVEL = level;
    const { connect, disconnect } = handlers();

    await connect(connectEvent('c1'));
    await disconnect(disconnectEvent('c1'));

    expect(printed).toHaveLength(2);
    expect(printed.filter((line) => keptByLambda(line, level))).toEqual(printed);
    expect(totals()).toEqual({ ConnectionsOpened: 1, ConnectionsClosed: 1 });
  });

  test('GIVEN no application log level WHEN printed THEN the metrics lines say INFO, the level Lambda gives a line without one', async () => {
    const { connect } = handlers();

    await connect(connectEvent('c1'));

    expect(printed.map(lambdaLevelOf)).toEqual(['INFO']);
  });

  test('GIVEN a metrics line without level (before the fix) WHEN filtered at WARN THEN Lambda drops it: the filter model can fail', () => {
    const line = emfLine({ enabled: true, namespace: 'N', dimensions: {}, level: 'INFO', write: () => undefined }, new Map([['publishes', 1]]), Date.now());
    const { level: _level, timestamp: _timestamp, ...withoutLevel } = JSON.parse(line) as Record<string, unknown>;

    expect(keptByLambda(JSON.stringify(withoutLevel), 'WARN')).toBe(false);
    expect(keptByLambda(line, 'INFO')).toBe(true);
    expect(keptByLambda(line, 'WARN')).toBe(false);
  });

  test.each(['WARN', 'ERROR'])('GIVEN applicationLogLevel %s WHEN the default logger writes at that level THEN Lambda keeps the line', (level) => {
    const lines: string[] = [];
    const log = createJsonLogger('WARN', (line) => lines.push(line));

    log[level === 'WARN' ? 'warn' : 'error']('delivery failed', { connectionId: 'c1' });

    expect(lines.map((line) => keptByLambda(line, level))).toEqual([true]);
  });
});

describe('handler metrics', () => {
  test('GIVEN a connection that subscribes past its cap, stops and leaves WHEN handled THEN the counts are printed, one line per invocation', async () => {
    const { connect, handler, disconnect } = handlers({ maxSubscriptionsPerConnection: 2 });

    await connect(connectEvent('c1'));
    await handler(messageEvent('c1', [
      { id: 1, method: 'subscription', params: { path: 'onMessage', input: superjson.serialize({ room: 'a' }) } },
      { id: 2, method: 'subscription', params: { path: 'onMessage', input: superjson.serialize({ room: 'b' }) } },
    ]));
    await handler(subscribe(3, 'c'));
    await handler(messageEvent('c1', { id: 1, method: 'subscription.stop' }));
    await handler(messageEvent('c1', 'PING'));
    await disconnect(disconnectEvent('c1'));

    expect(totals()).toEqual({
      ConnectionsOpened: 1, SubscriptionsStarted: 2, SubscriptionsRefused: 1, SubscriptionsStopped: 1, ConnectionsClosed: 1,
    });
    // connect, the batch, the refusal, the stop, disconnect; PING counts nothing and prints nothing.
    expect(printed).toHaveLength(5);
    const [first] = emfDocuments();
    expect(first._aws.CloudWatchMetrics).toEqual([{
      Namespace: 'TrpcSubscriptions', Dimensions: [['ApiId', 'Stage']], Metrics: [{ Name: 'ConnectionsOpened', Unit: 'Count' }],
    }]);
    expect(first).toMatchObject({ ApiId: 'abc123', Stage: 'prod', ConnectionsOpened: 1 });
  });

  test('GIVEN createContext refuses a connection WHEN $connect runs THEN ConnectionsRefused is printed', async () => {
    const { connect } = handlers();

    const result = await connect(connectEvent('c9', { token: 'invalid' }));

    // Accepted with a row marked refused: its first request gets the error (docs/runtime.md).
    expect(result.statusCode).toBe(200);
    expect(totals()).toEqual({ ConnectionsRefused: 1 });
  });

  test('GIVEN a handler that throws WHEN invoked THEN what it counted before is still printed', async () => {
    const failing = memory();
    failing.removeConnection = () => Promise.reject(new Error('store down'));
    const connect = appSubscriptions.connect({ store: failing, logger, metrics: METRICS });
    const disconnect = appSubscriptions.disconnect({ store: failing, logger, metrics: METRICS });

    await connect(connectEvent('c1'));
    await expect(disconnect(disconnectEvent('c1'))).rejects.toThrow('store down');

    expect(totals()).toEqual({ ConnectionsOpened: 1 });
  });

  test('GIVEN metrics off WHEN handled THEN nothing is printed', async () => {
    const connect = appSubscriptions.connect({ store, logger, metrics: { enabled: false } });

    await connect(connectEvent('c1'));

    expect(printed).toEqual([]);
  });
});

describe('publisher metrics', () => {
  async function subscribers(...connectionIds: string[]): Promise<void> {
    const { connect, handler } = handlers();
    for (const connectionId of connectionIds) {
      await connect(connectEvent(connectionId));
      await handler(messageEvent(connectionId, { id: 1, method: 'subscription', params: { path: 'onMessage', input: superjson.serialize({ room: 'a' }) } }));
    }
    printed.length = 0;
  }

  test('GIVEN delivered, gone, throttled and failed posts WHEN published THEN one line counts each outcome and the fan-out time', async () => {
    await subscribers('ok', 'gone', 'slow', 'broken');
    api.always('gone', 410);
    api.script('slow', [429, 429]);
    api.always('broken', 500);
    const publisher = appSubscriptions.publisher({
      endpoint: api.endpoint, store, logger, metrics: METRICS, retry: { baseDelayMs: 1, maxDelayMs: 2 },
    });

    const result = await publisher.routes.onMessage.publish({ data: { text: 'hi', at: new Date(0), from: 'x' } });

    expect(result).toMatchObject({ matched: 4, delivered: 2, gone: 1, failed: 1 });
    expect(printed).toHaveLength(1);
    const [document] = emfDocuments();
    expect(document).toMatchObject({
      Publishes: 1, SubscribersMatched: 4, MessagesDelivered: 2, ConnectionsGone: 1, PostsFailed: 1, PostsThrottled: 2, PostsTimedOut: 0,
    });
    expect(document.FanOutDuration).toEqual([expect.any(Number)]);
    expect((document.FanOutDuration as number[])[0]).toBeGreaterThan(0);
  });

  test('GIVEN a post that times out WHEN published THEN PostsTimedOut counts it', async () => {
    const slowApi = await startFakeManagementApi({ delayMs: 500 });
    try {
      await subscribers('c1');
      const publisher = appSubscriptions.publisher({
        endpoint: slowApi.endpoint,
        store,
        logger,
        metrics: METRICS,
        managementClient: (endpoint) => new ApiGatewayManagementApiClient({
          endpoint, maxAttempts: 1, requestHandler: { requestTimeout: 50, throwOnRequestTimeout: true },
        }),
      });

      const result = await publisher.routes.onMessage.publish({ data: { text: 'hi', at: new Date(0), from: 'x' } });

      expect(result.failed).toBe(1);
      expect(emfDocuments()[0]).toMatchObject({ Publishes: 1, PostsFailed: 1, PostsTimedOut: 1 });
    } finally {
      await slowApi.close();
    }
  });
});

/**
 * A queued publish to five subscribers in delivery batches of two: one delivered, one gone, one
 * throttled twice, one failing its first delivery (retried by the queue), one delivered; the
 * fan-out worker runs on a local queue. Resolves once the queue is drained, with the number of
 * worker invocations.
 */
async function queuedScenario(metrics: MetricsOptions = METRICS): Promise<number> {
  const { connect, handler } = handlers();
  for (const connectionId of ['ok', 'gone', 'slow', 'broken', 'ok2']) {
    await connect(connectEvent(connectionId));
    await handler(messageEvent(connectionId, { id: 1, method: 'subscription', params: { path: 'onMessage', input: superjson.serialize({ room: 'a' }) } }));
  }
  printed.length = 0;
  api.always('gone', 410);
  api.script('slow', [429, 429]);
  api.script('broken', [500, 500, 500]);
  const ledger = memoryLedger();
  const workerQueue = await startWorkerQueue(({ url, sqsClient }) => appSubscriptions.worker({
    store, ledger, logger, sqsClient, queueUrl: url, endpoint: api.endpoint, metrics, deliveryBatchSize: 2, maxAttempts: 3, leaseMs: 250,
  }), { concurrency: 1 });
  try {
    await appSubscriptions.publisher({ store, sqsClient: workerQueue.sqsClient, queueUrl: workerQueue.queue.url })
      .routes.onMessage.enqueue({ data: { text: 'hi', at: new Date(0), from: 'x' } });
    await workerQueue.queue.drained();
    expect(workerQueue.queue.deadLetters()).toEqual([]);
    return workerQueue.queue.stats().invocations;
  } finally {
    await workerQueue.close();
  }
}

describe('fan-out worker metrics', () => {
  test('GIVEN a queued publish with delivered, gone, throttled and failed posts WHEN the worker delivers it THEN its lines count each outcome, the batches and the publish', async () => {
    const invocations = await queuedScenario();

    // One line per invocation (the split with the first batch, the queued batches, the retry).
    expect(invocations).toBeGreaterThanOrEqual(3);
    expect(printed).toHaveLength(invocations);
    for (const document of emfDocuments()) {
      expect(document._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'TrpcSubscriptions', Dimensions: [['ApiId', 'Stage']] });
      expect(document).toMatchObject({ ApiId: 'abc123', Stage: 'prod' });
    }
    expect(totals()).toEqual({
      QueuedPublishes: 1,
      SubscribersMatched: 5,
      // Batches [ok, gone] (the splitter's), [slow, broken] and [ok2] queued; [slow, broken] once more.
      DeliveryBatchesQueued: 2,
      DeliveryBatches: 4,
      DeliveryBatchesUnfinished: 1,
      MessagesDelivered: 4,
      ConnectionsGone: 1,
      PostsFailed: 1,
      PostsThrottled: 2,
      PostsTimedOut: 0,
      // One value per batch attempt.
      FanOutDuration: 4,
    });
    expect(emfDocuments().some((document) => 'Publishes' in document)).toBe(false);
  });

  test('GIVEN the worker\'s metrics off WHEN it delivers THEN it prints nothing', async () => {
    await queuedScenario({ enabled: false });

    expect(printed).toEqual([]);
  });

  test('GIVEN a namespace WHEN the worker delivers THEN its lines use it', async () => {
    await queuedScenario({ enabled: true, namespace: 'Acme/Chat' });

    expect(printed.length).toBeGreaterThan(0);
    for (const document of emfDocuments()) expect(document._aws.CloudWatchMetrics[0].Namespace).toBe('Acme/Chat');
  });
});

describe('one source of truth for names', () => {
  test('GIVEN every runtime metric WHEN named by the construct THEN its metric*() method, namespace and dimensions match what the runtime prints', async () => {
    const { realtime } = realtimeStack();
    const construct = realtime as unknown as Record<string, (() => { metricName: string; namespace: string; dimensions?: object }) | undefined>;
    // Print a line of every kind.
    const { connect, handler, disconnect } = handlers({ maxSubscriptionsPerConnection: 1 });
    await connect(connectEvent('c1'));
    await connect(connectEvent('c2', { token: 'invalid' }));
    await handler(subscribe(1, 'a'));
    await handler(subscribe(2, 'b'));
    api.script('c1', [429]);
    await appSubscriptions.publisher({ endpoint: api.endpoint, store, logger, metrics: METRICS, retry: { baseDelayMs: 1, maxDelayMs: 2 } })
      .routes.onMessage.publish({ data: { text: 'hi', at: new Date(0), from: 'x' } });
    await handler(messageEvent('c1', { id: 1, method: 'subscription.stop' }));
    await disconnect(disconnectEvent('c1'));
    const direct = [...printed];
    await queuedScenario();
    printed.unshift(...direct);

    for (const [key, { name }] of Object.entries(RUNTIME_METRICS)) {
      const method = construct[`metric${key[0].toUpperCase()}${key.slice(1)}`];
      expect(method).toBeDefined();
      const metric = method!.call(realtime);
      expect(metric.metricName).toBe(name);
      expect(metric.namespace).toBe(METRICS.namespace);
      expect(Object.keys(metric.dimensions ?? {}).sort()).toEqual(Object.keys(METRICS.dimensions!).sort());
    }
    const printedNames = new Set(emfDocuments().flatMap((document) => document._aws.CloudWatchMetrics[0].Metrics.map((metric) => metric.Name)));
    const constructNames = new Set(Object.values(RUNTIME_METRICS).map((metric) => metric.name));
    expect(printedNames).toEqual(constructNames);
  });
});
