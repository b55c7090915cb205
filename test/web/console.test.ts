import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createTRPCClient, createWSClient, wsLink, type TRPCClient } from '@trpc/client';
import type { Page } from 'playwright-core';
import superjson from 'superjson';
import { WebSocket } from 'ws';
import { launchChromium, type TestBrowser } from './browser';
import { appSubscriptions, type AppRouter, type ChatMessage } from '../../example/app-router';
import { dynamodb, memoryLedger, type QueueHandler, type WebSocketHandler } from '../../lambda';
import {
  createLocalConsole,
  dynamodbStoreReader,
  LOCAL_AWS_SETTINGS,
  silentLogger,
  startLocalGateway,
  startLocalQueue,
  type GatewayTraffic,
  type LocalConsole,
  type LocalGateway,
  type LocalQueue,
  type ManagementFault,
} from '../../lambda/local';
import { createTestTable } from '../support/dynamodb';

/**
 * The realtime console (`/_console`) in headless Chromium, on the example app with the DynamoDB
 * store, the local gateway and a local fan-out queue; clients are the stock `@trpc/client` over
 * real WebSockets. One publish from the console's form reaches three subscribers with three
 * outcomes (delivered; throttled, every attempt answered 429; gone, answered 410), and the page
 * must show each.
 *
 * `CONSOLE_TEST_DROP_OUTCOMES=1 npx jest test/web/console.test.ts` keeps the gateway's answers
 * from the console (the `@connections` requests still happen): no outcome can be shown, and this
 * test must then fail.
 */
const DROP_OUTCOMES = process.env.CONSOLE_TEST_DROP_OUTCOMES === '1';
/** Every run's screenshot (jest's report folder, not committed). */
const SCREENSHOT = path.join(__dirname, '..', '..', 'test-reports', 'console.png');
/** The README's copy, committed: written when missing or with `CONSOLE_SCREENSHOT=1` (ids and clocks change every run). */
const README_SCREENSHOT = path.join(__dirname, '..', '..', 'docs', 'images', 'console.png');
/** How long a DOM condition may take (the throttled target's retries back off). */
const WAIT_MS = 20_000;

jest.setTimeout(120_000);

interface Client {
  readonly user: string;
  readonly trpc: TRPCClient<AppRouter>;
  readonly received: ChatMessage[];
  stopped: boolean;
  close(): void;
}

let gateway: LocalGateway;
let queue: LocalQueue;
let sqsClient: SQSClient;
let devConsole: LocalConsole;
let browser: TestBrowser;
let page: Page;
const clients: Client[] = [];
/** Answers of the gateway's Management API per connection (POSTs only). */
const faults = new Map<string, ManagementFault>();
const pageErrors: string[] = [];
const savedEnv = { ...process.env };
/** The failed deliveries are the point of this test: the publisher need not print them. */
const quietLogger = { error: () => undefined, warn: () => undefined };

beforeAll(async () => {
  const table = await createTestTable('console');
  const store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
  let messageHandler: WebSocketHandler | undefined;
  let worker: QueueHandler | undefined;
  devConsole = createLocalConsole({
    handler: () => messageHandler,
    reader: dynamodbStoreReader(store, { client: table.client, tableName: table.tableName }),
    logger: silentLogger,
  });
  const onTraffic = DROP_OUTCOMES
    ? (traffic: GatewayTraffic) => traffic.type !== 'management' && devConsole.gatewayOptions.onTraffic(traffic)
    : devConsole.gatewayOptions.onTraffic;
  gateway = await startLocalGateway({
    ...devConsole.gatewayOptions,
    onTraffic,
    handlers: {
      connect: appSubscriptions.connect({ store }),
      handler: (event, context) => messageHandler!(event, context),
      disconnect: appSubscriptions.disconnect({ store }),
    },
    faults: ({ method, connectionId }) => (method === 'POST' ? faults.get(connectionId) : undefined),
    logger: silentLogger,
  });
  // Short backoff: the throttled target's three attempts take a fraction of a second.
  messageHandler = appSubscriptions.handler({
    store, endpoint: gateway.endpoint, retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50 }, logger: quietLogger,
  });

  queue = await startLocalQueue({ ...devConsole.queueOptions, handler: (event) => worker!(event), logger: silentLogger });
  sqsClient = new SQSClient({ endpoint: queue.endpoint, ...LOCAL_AWS_SETTINGS });
  worker = appSubscriptions.worker({
    store, ledger: memoryLedger(), endpoint: gateway.endpoint, queueUrl: queue.url, sqsClient, logger: quietLogger,
  });
  // What the construct's `queuedFanOut` gives `grantPublish` grantees: enqueue() from the console finds the queue.
  process.env.TRPC_SUBSCRIPTIONS_QUEUE_URL = queue.url;
  process.env.AWS_ENDPOINT_URL_SQS = queue.endpoint;

  browser = await launchChromium();
  page = await browser.context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
});

afterAll(async () => {
  for (const client of clients) client.close();
  await browser?.close();
  await gateway?.close();
  devConsole?.close();
  await queue?.close();
  sqsClient?.destroy();
  process.env = savedEnv;
});

/** A stock tRPC client as `user`, subscribed to `room`; resolves once the subscription started. */
async function subscribe(user: string, room: string): Promise<Client> {
  const ws = createWSClient({ url: gateway.url, WebSocket: WebSocket as never, connectionParams: { userId: user } });
  const trpc = createTRPCClient<AppRouter>({ links: [wsLink({ client: ws, transformer: superjson })] });
  const client: Client = { user, trpc, received: [], stopped: false, close: () => ws.close() };
  await new Promise<void>((resolve, reject) => {
    trpc.onMessage.subscribe({ room }, {
      onStarted: () => resolve(),
      onData: (message) => client.received.push(message),
      onStopped: () => (client.stopped = true),
      onError: reject,
    });
  });
  clients.push(client);
  return client;
}

/** Waits for a condition; a timeout names what did not happen. */
async function waitFor(what: string, condition: () => Promise<unknown>): Promise<void> {
  try {
    await condition();
  } catch (error) {
    throw new Error(`Waited ${WAIT_MS} ms for ${what}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
}

async function waitUntil(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Waited ${WAIT_MS} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The connection id of the gateway connection opened by `open`. */
async function newConnection<T>(open: () => Promise<T>): Promise<{ value: T; connectionId: string }> {
  const before = new Set(gateway.connections());
  const value = await open();
  const connectionId = gateway.connections().find((id) => !before.has(id));
  if (!connectionId) throw new Error('no new gateway connection');
  return { value, connectionId };
}

/** The target `connectionId` of the newest stream entry of `kind` (with that outcome, when given). */
function target(kind: string, connectionId: string, outcome?: string) {
  const entry = page.locator(`[data-testid="stream-entry"][data-kind="${kind}"]`).first();
  return entry.locator(`[data-testid="target"][data-connection-id="${connectionId}"]${outcome ? `[data-outcome="${outcome}"]` : ''}`);
}

/** Subscribes an existing client again; resolves once it started. */
function resubscribe(client: Client, room: string): Promise<void> {
  return new Promise((resolve, reject) => {
    client.trpc.onMessage.subscribe({ room }, { onStarted: () => resolve(), onData: (message) => client.received.push(message), onError: reject });
  });
}

test('GIVEN three subscribers WHEN a developer publishes, stops, disconnects, reconnects and enqueues from the console THEN the page shows each outcome', async () => {
  const alice = await newConnection(() => subscribe('alice', 'lobby'));
  const bob = await newConnection(() => subscribe('bob', 'lobby'));
  const carol = await newConnection(() => subscribe('carol', 'lobby'));
  faults.set(bob.connectionId, { status: 429, errorType: 'LimitExceededException' });
  faults.set(carol.connectionId, { status: 410, errorType: 'GoneException' });

  await page.goto(devConsole.url(gateway));
  // The connections, with what ctx is built from and the filter values the store holds.
  await waitFor('three connections on the page', () => page.locator('[data-testid="connection"]').nth(2).waitFor({ timeout: WAIT_MS }));
  const aliceCard = page.locator(`[data-testid="connection"][data-connection-id="${alice.connectionId}"]`);
  await waitFor('alice\'s filter values', () => aliceCard.getByText('userId="alice", room="lobby"').waitFor({ timeout: WAIT_MS }));
  expect(await aliceCard.textContent()).toContain('{"userId":"alice"}');
  expect(await page.locator('[data-testid="route"][data-path="onMessage"] .count').textContent()).toBe('3');

  // A typed test event: the route's filter offered as fields, filled from alice's subscription.
  await aliceCard.getByTestId('filter-chip').filter({ hasText: 'byRoom' }).click();
  expect(await page.getByTestId('route-select').inputValue()).toBe('onMessage');
  expect(await page.getByTestId('filter-select').inputValue()).toBe('byRoom');
  expect(await page.getByTestId('field-input-room').inputValue()).toBe('lobby');
  await page.getByTestId('data').fill(JSON.stringify({ text: 'hello from the console', at: '2026-01-01T00:00:00.000Z', from: 'console' }));
  await page.getByTestId('publish').click();

  // Each target's outcome, on the page.
  await waitFor('alice delivered', () => target('publish', alice.connectionId, 'delivered').waitFor({ timeout: WAIT_MS }));
  await waitFor('bob throttled', () => target('publish', bob.connectionId, 'throttled').waitFor({ timeout: WAIT_MS }));
  await waitFor('carol gone', () => target('publish', carol.connectionId, 'gone').waitFor({ timeout: WAIT_MS }));
  const entry = page.locator('[data-testid="stream-entry"][data-kind="publish"]').first();
  expect(await target('publish', alice.connectionId).textContent()).toContain('delivered');
  expect(await target('publish', bob.connectionId).textContent()).toMatch(/throttled after 3 attempts/);
  expect(await target('publish', carol.connectionId).textContent()).toContain('gone');
  await waitFor('the publisher\'s counts', () => entry.getByTestId('result').waitFor({ timeout: WAIT_MS }));
  expect(await entry.getByTestId('result').textContent()).toBe('matched 3 · delivered 1 · gone 1 · failed 1');
  expect(await entry.textContent()).toContain('hello from the console');
  expect(await page.getByTestId('action-result').textContent()).toBe('Published: matched 3 · delivered 1 · gone 1 · failed 1');
  // The event really reached alice (and only her).
  await waitUntil('alice to receive the event', () => alice.value.received.length === 1);
  expect(alice.value.received[0].text).toBe('hello from the console');
  expect(bob.value.received).toEqual([]);
  expect(carol.value.received).toEqual([]);
  // The 410 removed carol's rows: the page no longer lists her subscription.
  await waitFor('carol\'s subscription to go', () => page.locator(`[data-testid="connection"][data-connection-id="${carol.connectionId}"] [data-testid="subscription"]`)
    .waitFor({ state: 'detached', timeout: WAIT_MS }));

  // A bad event gets the publisher's own message, next to the form.
  await page.getByTestId('data').fill('{ not json');
  await page.getByTestId('publish').click();
  await waitFor('the data error', () => page.getByTestId('action-result').getByText('The data is not JSON').waitFor({ timeout: WAIT_MS }));

  // Stop matching: bob's subscription (his posts succeed again) is completed from the server.
  faults.clear();
  await page.locator(`[data-testid="connection"][data-connection-id="${bob.connectionId}"]`).getByTestId('filter-chip').filter({ hasText: 'byUserAndRoom' }).click();
  await page.getByTestId('stop').click();
  await waitFor('a stop entry for bob', () => target('stop', bob.connectionId, 'delivered').waitFor({ timeout: WAIT_MS }));
  await waitUntil('bob\'s client to see the stop', () => bob.value.stopped);
  expect(alice.value.stopped).toBe(false);

  // Reconnect alice: tRPC's reconnect notification; her client moves to a new connection.
  const moved = await newConnection(async () => {
    await page.locator(`[data-testid="connection"][data-connection-id="${alice.connectionId}"]`).getByTestId('reconnect').click();
    await waitUntil('alice\'s old connection to close', () => !gateway.connections().includes(alice.connectionId));
  });
  await waitFor('the reconnect entry', () => target('reconnect', alice.connectionId, 'delivered').waitFor({ timeout: WAIT_MS }));
  await waitFor('alice\'s new connection on the page', () => page.locator(`[data-testid="connection"][data-connection-id="${moved.connectionId}"] [data-testid="subscription"]`)
    .waitFor({ timeout: WAIT_MS }));

  // Disconnect carol: DeleteConnection, her card goes.
  await page.locator(`[data-testid="connection"][data-connection-id="${carol.connectionId}"]`).getByTestId('disconnect').click();
  await waitFor('the disconnect result', () => page.getByTestId('connections-result').getByText('Disconnect: matched 1 · succeeded 1 · gone 0 · failed 0')
    .waitFor({ timeout: WAIT_MS }));
  await waitFor('carol\'s card to go', () => page.locator(`[data-testid="connection"][data-connection-id="${carol.connectionId}"]`).waitFor({ state: 'detached', timeout: WAIT_MS }));
  await waitFor('the disconnect entry', () => target('disconnect', carol.connectionId, 'delivered').waitFor({ timeout: WAIT_MS }));

  // Enqueue: the queue panel shows the message through the worker; the worker's post reaches alice.
  await page.locator(`[data-testid="connection"][data-connection-id="${moved.connectionId}"]`).getByTestId('filter-chip').filter({ hasText: 'byRoom' }).click();
  await page.getByTestId('data').fill(JSON.stringify({ text: 'queued hello', at: '2026-01-01T00:00:01.000Z', from: 'console' }));
  await page.getByTestId('enqueue').click();
  await waitFor('the queued message to be done', () => page.locator('[data-testid="queue-message"][data-state="done"]').first().waitFor({ timeout: WAIT_MS }));
  expect(await page.getByTestId('queue-stats').textContent()).toMatch(/1 sent/);
  await waitUntil('alice to receive the queued event', () => alice.value.received.some((message) => message.text === 'queued hello'));
  await waitFor('the worker\'s delivery in the stream', () => page.locator('[data-testid="stream-entry"][data-kind="publish"]', { hasText: 'queued hello' })
    .locator(`[data-testid="target"][data-connection-id="${moved.connectionId}"][data-outcome="delivered"]`).waitFor({ timeout: WAIT_MS }));

  expect(pageErrors).toEqual([]);

  // The README's screenshot: a publish with every outcome on screen.
  faults.set(bob.connectionId, { status: 429, errorType: 'LimitExceededException' });
  const dave = await newConnection(() => subscribe('dave', 'lobby'));
  faults.set(dave.connectionId, { status: 410, errorType: 'GoneException' });
  await resubscribe(bob.value, 'lobby');
  await page.setViewportSize({ width: 1280, height: 860 });
  await page.getByTestId('filter-select').selectOption('byRoom');
  await page.getByTestId('field-input-room').fill('lobby');
  await page.getByTestId('data').fill(JSON.stringify({ text: 'hello lobby', at: '2026-01-01T00:00:02.000Z', from: 'console' }));
  await page.getByTestId('publish').click();
  await waitFor('the screenshot publish', () => page.locator('[data-testid="stream-entry"][data-kind="publish"]', { hasText: 'hello lobby' }).getByTestId('result')
    .waitFor({ timeout: WAIT_MS }));
  mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT });
  if (process.env.CONSOLE_SCREENSHOT === '1' || !existsSync(README_SCREENSHOT)) {
    mkdirSync(path.dirname(README_SCREENSHOT), { recursive: true });
    copyFileSync(SCREENSHOT, README_SCREENSHOT);
  }
});
