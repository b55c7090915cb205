/**
 * The runnable demo behind `npm run demo`: the example app on the local API Gateway emulator with
 * DynamoDB Local, real `@trpc/client` clients, filtered / prefix / unfiltered / nested / mutation
 * publishes, and a check of who received what.
 */
import { ScanCommand, type ScanCommandOutput } from '@aws-sdk/client-dynamodb';
import { createTRPCClient, createWSClient, wsLink, type TRPCClient } from '@trpc/client';
import superjson from 'superjson';
import { WebSocket } from 'ws';
import { appSubscriptions, type AppRouter } from './app-router';
import { DEMO_CLIENTS, DEMO_STEPS, DEMO_SUBSCRIPTIONS, type DemoActors, type DemoStep, type StepOutcome } from './demo-scenario';
import { formatTable } from './demo-table';
import * as handlers from './handlers';
import * as producer from './producer';
import { memory, type SubscriptionStore } from '../lambda';
import { ENDPOINT_ENV, TABLE_NAME_ENV } from '../lambda/constants';
import {
  createSubscriptionTable,
  LOCAL_AWS_SETTINGS,
  startDynamoDBLocal,
  startLocalGateway,
  type DynamoDBLocal,
  type LocalGateway,
  type LocalGatewayHandlers,
} from '../lambda/local';

/** Where the subscriptions live during the demo. */
export type DemoStoreKind = 'dynamodb' | 'memory';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /**
   * Receives the output, one line per call.
   * @default - no output
   */
  readonly log?: (line: string) => void;
  /**
   * `dynamodb`: DynamoDB Local (needs Java 17) and the unchanged handlers module, configured by
   * environment variables as `TrpcSubscriptionApi` configures the Lambda functions.
   * `memory`: the in-memory store, no Java needed.
   * @default 'dynamodb'
   */
  readonly store?: DemoStoreKind;
  /**
   * How long to wait for a subscription to start, or for an expected delivery, in milliseconds.
   * Only a bound for when something is broken: a cold DynamoDB Local on a busy 2-core machine
   * took more than 5 s to start the first subscriptions here.
   * @default 30000
   */
  readonly timeoutMs?: number;
}

/** What one publish did. */
export interface DemoStepReport {
  readonly title: string;
  readonly target: string;
  /** Subscription ids that had to receive it. */
  readonly expected: readonly string[];
  /** Subscription ids that received it, once per delivery, in report order. */
  readonly received: readonly string[];
  /** What the publish (or the mutation) returned. */
  readonly outcome?: StepOutcome;
}

/** The result of a demo run. */
export interface DemoReport {
  /** Every expected delivery arrived exactly once and nothing else did. */
  readonly ok: boolean;
  readonly store: DemoStoreKind;
  /** Subscription ids, in report order. */
  readonly subscriptions: readonly string[];
  readonly steps: readonly DemoStepReport[];
  /** One sentence per wrong, missing or duplicate delivery (empty when `ok`). */
  readonly problems: readonly string[];
  /**
   * Items in the DynamoDB table once every subscription had started (connection, subscription
   * and index rows); `undefined` with the memory store.
   */
  readonly tableItems?: number;
}

const TABLE_NAME = 'trpc-subscriptions-demo';
/** After the last publish, how long an unexpected delivery gets to show up. */
const SETTLE_MS = 200;

/**
 * Run the demo: start the local stack, connect the clients, publish, check, print and clean up.
 * Resolves with the report (also when deliveries were wrong); rejects only when the stack cannot
 * start. Everything it started is stopped before it settles.
 *
 * The `dynamodb` mode sets this process's environment while it runs (and restores it after).
 * The runtime creates its default DynamoDB client once per process, so run this mode once per
 * process.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoReport> {
  const log = options.log ?? (() => undefined);
  const storeKind = options.store ?? 'dynamodb';
  const timeoutMs = options.timeoutMs ?? 30_000;
  const cleanups: Array<() => unknown> = [];
  try {
    const stack = await startStack(storeKind, log, cleanups);
    const received = new Map<string, string[]>(DEMO_SUBSCRIPTIONS.map((subscription) => [subscription.id, []]));
    const clients = await connectClients(stack.gateway.url, received, timeoutMs, cleanups);
    log('');
    log(`Clients: ${DEMO_CLIENTS.length} real @trpc/client connections (createWSClient + wsLink, superjson), user in connectionParams`);
    log('');
    for (const line of formatTable(['client', 'user', 'subscribes to'], DEMO_CLIENTS.map((client) => [
      client.name,
      client.userId,
      client.subscriptions.map((s) => (s.room ? `${s.route} { room: '${s.room}' }` : s.route)).join(', '),
    ]))) log(line);
    const tableItems = await stack.countItems?.();
    if (tableItems !== undefined) {
      log('');
      log(`Table ${TABLE_NAME} now holds ${tableItems} items: a row per connection and its connect-minute row, and per subscription`);
      log('its own row, an unfiltered index row and an index row per filter (docs/table-design.md).');
    }

    const actors: DemoActors = {
      producer: stack.producer,
      publisher: stack.publisher,
      client: (name) => clients.get(name)!,
    };
    log('');
    log('Publishes:');
    const outcomes: Array<StepOutcome | Error> = [];
    for (const [index, step] of DEMO_STEPS.entries()) {
      const outcome = await step.run(actors).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
      outcomes.push(outcome);
      log('');
      log(`  ${index + 1}. ${step.title}`);
      log(`     ${step.target}`);
      log(`     -> ${outcome instanceof Error ? `FAILED: ${outcome.message}` : describeOutcome(outcome)}`);
      if (!(outcome instanceof Error)) await waitForDeliveries(step, received, timeoutMs);
    }
    await sleep(SETTLE_MS);

    const report = { ...buildReport(storeKind, received, outcomes), tableItems };
    printMatrix(report, log);
    return report;
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        log(`(cleanup failed: ${error instanceof Error ? error.message : String(error)})`);
      }
    }
  }
}

interface DemoStack {
  readonly gateway: LocalGateway;
  /** Counts the table's items (DynamoDB Local only). */
  readonly countItems?: () => Promise<number>;
  readonly producer: DemoActors['producer'];
  readonly publisher: DemoActors['publisher'];
}

/** DynamoDB Local (or memory), the environment, the gateway with the example's handlers. */
async function startStack(kind: DemoStoreKind, log: (line: string) => void, cleanups: Array<() => unknown>): Promise<DemoStack> {
  log('cdk-trpc-subscriptions demo: the example app (example/app-router.ts) running locally');
  log('');
  let dynamodb: DynamoDBLocal | undefined;
  if (kind === 'dynamodb') {
    // watchParent: no Java left behind if this process dies before its cleanup.
    dynamodb = await startDynamoDBLocal({
      fastStart: true,
      watchParent: true,
      onProgress: (elapsedMs) => log(`DynamoDB Local is still starting (${Math.round(elapsedMs / 1000)} s)…`),
    });
    cleanups.push(() => dynamodb!.stop());
    await createSubscriptionTable({ client: dynamodb.client, tableName: TABLE_NAME });
  }

  // memory: one store shared by the handlers, the publisher and the producer. dynamodb: the
  // handlers module, the publisher and the producer exactly as deployed, configured by the
  // environment (see below).
  const store: SubscriptionStore | undefined = kind === 'memory' ? memory() : undefined;
  const gatewayHandlers: LocalGatewayHandlers = store
    ? {
      connect: appSubscriptions.connect({ store }),
      handler: appSubscriptions.handler({ store }),
      disconnect: appSubscriptions.disconnect({ store }),
    }
    : { connect: handlers.connect, handler: handlers.handler, disconnect: handlers.disconnect };
  const gateway = await startLocalGateway({ handlers: gatewayHandlers });
  cleanups.push(() => gateway.close());

  // What `TrpcSubscriptionApi` (and `grantPublish`) set on the Lambda functions, pointed at the
  // local services; dummy credentials and Region so that nothing can reach a real AWS account.
  const restore = setEnvironment({
    [ENDPOINT_ENV]: gateway.endpoint,
    ...(dynamodb ? { [TABLE_NAME_ENV]: TABLE_NAME, AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint } : {}),
    AWS_REGION: LOCAL_AWS_SETTINGS.region,
    AWS_ACCESS_KEY_ID: LOCAL_AWS_SETTINGS.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_AWS_SETTINGS.credentials.secretAccessKey,
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  // Restored last, after the gateway's $disconnect invocations.
  cleanups.unshift(restore);

  log(dynamodb
    ? `  store     DynamoDB Local ${dynamodb.endpoint}, table ${TABLE_NAME} (pk/sk, TTL on expireAt)`
    : '  store     in memory (--store memory)');
  log(`  gateway   ${gateway.url} (local API Gateway WebSocket emulator, stage ${gateway.stage})`);
  log(`  callback  ${gateway.endpoint} (Management API, ${ENDPOINT_ENV})`);

  const publisher = appSubscriptions.publisher(store ? { store } : {});
  return {
    gateway,
    countItems: dynamodb ? () => countItems(dynamodb!) : undefined,
    publisher,
    producer: store ? producer.createProducer(publisher.routes.onMessage) : producer.handler,
  };
}

/** Connects every demo client and starts its subscriptions; resolves once all are started. */
async function connectClients(
  url: string, received: Map<string, string[]>, timeoutMs: number, cleanups: Array<() => unknown>,
): Promise<Map<string, TRPCClient<AppRouter>>> {
  const clients = new Map<string, TRPCClient<AppRouter>>();
  const started: Promise<void>[] = [];
  for (const demoClient of DEMO_CLIENTS) {
    const wsClient = createWSClient({
      url,
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
      connectionParams: { userId: demoClient.userId },
    });
    cleanups.push(() => wsClient.close());
    const client = createTRPCClient<AppRouter>({ links: [wsLink({ client: wsClient, transformer: superjson })] });
    clients.set(demoClient.name, client);
    for (const subscription of DEMO_SUBSCRIPTIONS.filter((s) => s.client === demoClient.name)) {
      const record = (marker: string) => received.get(subscription.id)!.push(marker);
      started.push(withTimeout(new Promise<void>((resolve, reject) => {
        const callbacks = {
          onStarted: () => resolve(),
          onError: (error: unknown) => reject(new Error(`${subscription.id}: ${String(error)}`)),
        };
        // No unsubscribe at the end: closing the client ends its subscriptions, as closing a tab does.
        if (subscription.route === 'onMessage') {
          client.onMessage.subscribe({ room: subscription.room! }, { ...callbacks, onData: (data) => record(data.text) });
        } else {
          client.chat.onTyping.subscribe(undefined, { ...callbacks, onData: (data) => record(data) });
        }
      }), timeoutMs, `subscription ${subscription.id} to start`));
    }
  }
  await Promise.all(started);
  return clients;
}

/** A full count is fine for a demo table; a real app never scans (the publisher queries). */
async function countItems(dynamodb: DynamoDBLocal): Promise<number> {
  let count = 0;
  let startKey: ScanCommandOutput['LastEvaluatedKey'];
  do {
    const page = await dynamodb.client.send(new ScanCommand({ TableName: TABLE_NAME, Select: 'COUNT', ExclusiveStartKey: startKey }));
    count += page.Count ?? 0;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return count;
}

/** Waits until every expected subscription has this step's payload (or the timeout). */
async function waitForDeliveries(step: DemoStep, received: Map<string, string[]>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!step.expected.every((id) => received.get(id)!.includes(step.marker)) && Date.now() < deadline) {
    await sleep(10);
  }
}

function buildReport(store: DemoStoreKind, received: Map<string, string[]>, outcomes: Array<StepOutcome | Error>): DemoReport {
  const problems: string[] = [];
  const steps = DEMO_STEPS.map((step, index): DemoStepReport => {
    const outcome = outcomes[index];
    const receivedBy = DEMO_SUBSCRIPTIONS.flatMap(({ id }) => received.get(id)!.filter((marker) => marker === step.marker).map(() => id));
    const number = index + 1;
    if (outcome instanceof Error) problems.push(`Publish ${number} failed: ${outcome.message}`);
    for (const { id } of DEMO_SUBSCRIPTIONS) {
      const count = receivedBy.filter((r) => r === id).length;
      const wanted = step.expected.includes(id);
      if (wanted && count === 0) problems.push(`Publish ${number}: ${id} did not receive "${step.marker}"`);
      if (!wanted && count > 0) problems.push(`Publish ${number}: ${id} received "${step.marker}" but must not`);
      if (count > 1) problems.push(`Publish ${number}: ${id} received "${step.marker}" ${count} times`);
    }
    if (!(outcome instanceof Error) && outcome.delivered !== step.expected.length) {
      problems.push(`Publish ${number}: reported ${outcome.delivered} deliveries, expected ${step.expected.length}`);
    }
    return {
      title: step.title,
      target: step.target,
      expected: step.expected,
      received: receivedBy,
      outcome: outcome instanceof Error ? undefined : outcome,
    };
  });
  return { ok: problems.length === 0, store, subscriptions: DEMO_SUBSCRIPTIONS.map(({ id }) => id), steps, problems };
}

function printMatrix(report: DemoReport, log: (line: string) => void): void {
  log('');
  log('Who received what (columns are the publishes above):');
  log('  yes = received, as expected    - = not received, as expected    MISSED / WRONG / TWICE = a bug');
  log('');
  const rows = DEMO_SUBSCRIPTIONS.map((subscription) => [
    subscription.client,
    subscription.room ? `${subscription.route} { room: '${subscription.room}' }` : subscription.route,
    ...report.steps.map((step) => cell(step.expected.includes(subscription.id), step.received.filter((id) => id === subscription.id).length)),
  ]);
  for (const line of formatTable(['client', 'subscription', ...report.steps.map((_, index) => String(index + 1))], rows)) log(line);
  log('');
  const deliveries = report.steps.reduce((sum, step) => sum + step.received.length, 0);
  if (report.ok) {
    log(`OK: all ${report.steps.length} publishes reached exactly the expected subscriptions (${deliveries} deliveries, none missed, none extra).`);
  } else {
    log(`FAILED: ${report.problems.length} problem(s):`);
    for (const problem of report.problems) log(`  - ${problem}`);
  }
}

function cell(expected: boolean, count: number): string {
  if (count > 1) return 'TWICE';
  if (expected) return count === 1 ? 'yes' : 'MISSED';
  return count === 0 ? '-' : 'WRONG';
}

function describeOutcome(outcome: StepOutcome): string {
  const matched = outcome.matched === undefined ? '' : `matched ${outcome.matched}, `;
  return `${matched}delivered ${outcome.delivered}`;
}

/** Sets (or, for `undefined`, removes) variables; returns a function that restores the old values. */
function setEnvironment(values: Record<string, string | undefined>): () => void {
  const previous = Object.fromEntries(Object.keys(values).map((name) => [name, process.env[name]]));
  const apply = (entries: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(entries)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  apply(values);
  return () => apply(previous);
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
