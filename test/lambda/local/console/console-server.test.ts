import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { dynamodb, memory, type SubscriptionStore } from '../../../../lambda';
import {
  createLocalConsole, dynamodbStoreReader, memoryStoreReader, silentLogger, startDevServer, startLocalGateway, type ConsoleStoreReader,
} from '../../../../lambda/local';
import { CONSOLE_PAGE_SCRIPT } from '../../../../lambda/local/console/page-script.generated';
import type { ConsoleView } from '../../../../lambda/local/console/view';
import { createTestTable } from '../../../support/dynamodb';
import { connectClient, waitFor } from '../../support/harness';

const ROOT = resolve(__dirname, '../../../..');
const ENTRY = join(ROOT, 'example/handlers.ts');
/** The example's handlers and its fan-out worker. */
const QUEUED_ENTRY = join(ROOT, 'test/fixtures/dev-app/queued.ts');
const CLI = join(ROOT, 'lambda/local/cli.ts');

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** An HTTP request with the headers given (fetch would not let a test set `Host`). */
function http(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((done, fail) => {
    const outgoing = request(url, { method: options.method ?? 'GET', headers: options.headers }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => done({ status: response.statusCode ?? 0, body }));
    });
    outgoing.on('error', fail);
    outgoing.end(options.body);
  });
}

function act(consoleUrl: string, action: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return http(`${consoleUrl}/api/${action}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

/** Reads the console's event stream until a view satisfies `accept`. */
async function viewWhere(consoleUrl: string, accept: (view: ConsoleView) => boolean): Promise<ConsoleView> {
  const controller = new AbortController();
  const response = await fetch(`${consoleUrl}/events`, { signal: controller.signal });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  const deadline = Date.now() + 10_000;
  try {
    while (Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const event = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const data = /^data: (.*)$/m.exec(event)?.[1];
        if (event.startsWith('event: view') && data) {
          const view = JSON.parse(data) as ConsoleView;
          if (accept(view)) return view;
        }
      }
    }
    throw new Error('no such view within 10 s');
  } finally {
    controller.abort();
  }
}

/**
 * The real `dev` command in a child process (its environment is the process's own: jest gives a
 * test a copy), on the example app and its fan-out worker with the memory store.
 */
describe('`dev` serves the console on the gateway\'s port', () => {
  let dev: ChildProcessWithoutNullStreams;
  let consoleUrl: string;
  let close: () => void;
  const received: string[] = [];
  beforeAll(async () => {
    dev = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), CLI, 'dev', QUEUED_ENTRY, '--store', 'memory', '--port', '0'], {
      cwd: ROOT, env: { ...process.env, NODE_NO_WARNINGS: '1' },
    });
    let out = '';
    consoleUrl = await new Promise<string>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`dev printed no console URL within 45 s:\n${out}`)), 45_000);
      dev.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
      dev.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /console\s+(http:\/\/\S+)/.exec(out);
        if (match) {
          clearTimeout(timer);
          done(match[1]);
        }
      });
    });
    const client = connectClient(consoleUrl.replace('http://', 'ws://').replace('/_console', ''), { userId: 'alice' });
    close = client.close;
    await new Promise<void>((started) => client.client.onMessage.subscribe({ room: 'lobby' }, {
      onStarted: () => started(),
      onData: (message) => received.push(message.text),
    }));
  });
  afterAll(async () => {
    close?.();
    if (dev && dev.exitCode === null) {
      const exited = new Promise((done) => dev.once('exit', done));
      dev.kill('SIGINT');
      await exited;
    }
  });

  test('the page, its script, and the live view with the app\'s routes and the store\'s filter values', async () => {
    expect(consoleUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/_console$/);
    const page = await http(consoleUrl);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script src="/_console/app.js" defer></script>');
    expect((await http(`${consoleUrl}/app.js`)).body).toBe(CONSOLE_PAGE_SCRIPT);
    expect((await http(`${consoleUrl}/nothing`)).status).toBe(404);

    // The handlers module was bundled with its own copy of the runtime: the description still reaches the console.
    const view = await viewWhere(consoleUrl, (candidate) => candidate.connections[0]?.subscriptions[0]?.filters.length === 2);
    expect(view.routes?.map((route) => route.path)).toEqual(['onMessage', 'chat.onTyping', 'onNotification']);
    expect(view.connections[0]).toMatchObject({
      ctx: { connectionParams: { userId: 'alice' } },
      subscriptions: [{
        id: 1,
        path: 'onMessage',
        input: { room: 'lobby' },
        filters: [
          { name: 'byRoom', values: [{ group: 'input', field: 'room', value: 'lobby' }] },
          { name: 'byUserAndRoom', values: [{ group: 'ctx', field: 'userId', value: 'alice' }, { group: 'input', field: 'room', value: 'lobby' }] },
        ],
      }],
    });
  });

  test('a publish from the console goes through the app\'s publisher and is answered with its result', async () => {
    const answer = await act(consoleUrl, 'publish', {
      path: 'onMessage', data: JSON.stringify({ text: 'hi', at: '2026-01-01T00:00:00.000Z', from: 'console' }), filter: { name: 'byRoom', input: { room: 'lobby' } },
    });
    expect(JSON.parse(answer.body)).toEqual({ ok: true, result: { matched: 1, delivered: 1, gone: 0, failed: 0, failures: [] } });
    const view = await viewWhere(consoleUrl, (candidate) => candidate.stream.length > 0);
    expect(view.stream[0]).toMatchObject({ kind: 'publish', path: 'onMessage', fromConsole: true, targets: [{ outcome: 'delivered', subscriptionId: 1 }] });
  });

  test('with a `worker` export, dev runs the queued fan-out: enqueue() from the console, the queue and the worker\'s delivery on the view', async () => {
    const answer = JSON.parse((await act(consoleUrl, 'enqueue', {
      path: 'onMessage', data: JSON.stringify({ text: 'queued', at: '2026-01-01T00:00:00.000Z', from: 'console' }), filter: { name: 'byRoom', input: { room: 'lobby' } },
    })).body) as { ok: boolean; result: { messageId: string } };
    expect(answer.ok).toBe(true);
    const view = await viewWhere(consoleUrl, (candidate) => candidate.queue?.messages[0]?.state === 'done'
      && candidate.stream.some((entry) => entry.detail?.includes('queued') && entry.targets[0]?.outcome === 'delivered'));
    expect(view.queue).toMatchObject({ sent: 1, deleted: 1, waiting: 0, inFlight: 0, messages: [{ messageId: answer.result.messageId, kind: 'publish', path: 'onMessage' }] });
    // The console saw the post answered; the client's frame may still be on its way.
    await waitFor(() => received.includes('queued'), 10_000, 'the queued event at the client');
  });

  test.each([
    ['an unknown route', { path: 'nope', data: '{}' }, '`path` must be one of the app\'s subscription routes (onMessage, chat.onTyping, onNotification), got: "nope"'],
    ['data that is not JSON', { path: 'onMessage', data: '{' }, 'The data is not JSON'],
    ['a filter the route does not have', { path: 'onMessage', data: '{}', filter: { name: 'byNothing' } }, 'byNothing'],
  ])('a publish with %s is answered with what is wrong', async (_what, body, message) => {
    const answer = await act(consoleUrl, 'publish', body);
    expect(answer.status).toBe(200);
    const parsed = JSON.parse(answer.body) as { ok: boolean; error: string };
    expect(parsed.ok).toBe(false);
    expect(parsed.error).toContain(message);
  });

  test('connection actions need a target', async () => {
    expect(JSON.parse((await act(consoleUrl, 'disconnect', {})).body)).toEqual({ ok: false, error: 'disconnect needs { connectionId } or { key }' });
    expect(JSON.parse((await act(consoleUrl, 'disconnect', { all: true })).body).ok).toBe(false);
  });

  test('pages of other origins and other host names are refused', async () => {
    const publish = { path: 'onMessage', data: '{}' };
    expect((await act(consoleUrl, 'publish', publish, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await act(consoleUrl, 'publish', publish, { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await http(consoleUrl, { headers: { host: 'evil.example' } })).status).toBe(403);
    const port = new URL(consoleUrl).port;
    expect((await act(consoleUrl, 'publish', publish, { origin: `http://127.0.0.1:${port}` })).status).toBe(200);
  });
});

test('`dev` without the console leaves the path to the Management API', async () => {
  const savedEnv = { ...process.env };
  const server = await startDevServer({ entry: ENTRY, store: 'memory', watch: false, port: 0, logger: silentLogger, console: false });
  try {
    expect(server.consoleUrl).toBeUndefined();
    expect((await http(`${server.url.replace('ws://', 'http://')}/_console`)).status).toBe(403);
  } finally {
    await server.close();
    process.env = savedEnv;
  }
});

const accept = async () => ({ statusCode: 200 });

test('a handler that does not describe its app: the console shows the traffic and says why it cannot act', async () => {
  const devConsole = createLocalConsole({ handler: () => async () => ({ statusCode: 200 }), logger: silentLogger });
  const gateway = await startLocalGateway({
    ...devConsole.gatewayOptions,
    handlers: { connect: accept, handler: accept, disconnect: accept },
    logger: silentLogger,
  });
  try {
    const answer = JSON.parse((await act(devConsole.url(gateway), 'publish', { path: 'onMessage', data: '{}' })).body) as { error: string };
    expect(answer.error).toMatch(/^The handlers module exports no `\$default` handler made by this library/);
    expect((await viewWhere(devConsole.url(gateway), () => true)).routes).toBeUndefined();
  } finally {
    devConsole.close();
    await gateway.close();
  }
});

test('once closed, the console takes no traffic and reads nothing: connections the gateway closes afterwards print nothing', async () => {
  const warnings: string[] = [];
  let reads = 0;
  const failingReader: ConsoleStoreReader = {
    connection: async () => {
      reads++;
      throw new Error('DynamoDB Local is gone');
    },
    subscriptions: async () => undefined,
  };
  const devConsole = createLocalConsole({
    handler: () => undefined, reader: failingReader, logger: { ...silentLogger, warn: (message) => warnings.push(message) },
  });
  const traffic = (connectionId: string) => devConsole.gatewayOptions.onTraffic({ type: 'connected', at: 1, connectionId, connectedAt: 1, sourceIp: '127.0.0.1' });
  traffic('before');
  await devConsole.state.settled();
  expect(reads).toBe(1);
  expect(warnings).toEqual(['Console: could not read before from the store: Error: DynamoDB Local is gone']);
  devConsole.close();
  traffic('after');
  devConsole.gatewayOptions.onTraffic({ type: 'handled', at: 2, connectionId: 'before' });
  await devConsole.state.settled();
  expect(reads).toBe(1);
  expect(warnings).toHaveLength(1);
});

describe('reading subscriptions for display', () => {
  async function storedSubscription(store: SubscriptionStore): Promise<void> {
    const expireAt = Math.floor(Date.now() / 1000) + 3600;
    await store.putConnection({ connectionId: 'c#1', connectedAt: 1, expireAt, awaitingConnectionParams: false, connect: { sourceIp: '10.0.0.1' }, key: 'user:alice' });
    await store.addSubscription({
      connectionId: 'c#1',
      subscriptionId: 'sub;1',
      path: 'onMessage',
      expireAt,
      filters: [{ name: 'byRoom', values: ['lobby'] }, { name: 'byUserAndRoom', values: ['alice', 'lobby'] }],
    });
    // A stop that arrived before its subscription leaves a tombstone row: not a subscription.
    await store.removeSubscription('c#1', 2);
  }
  const routes = new Map([['onMessage', [{ name: 'byRoom', ctx: [], input: ['room'] }, { name: 'byUserAndRoom', ctx: ['userId'], input: ['room'] }]]]);
  const expected = [{
    id: 'sub;1',
    path: 'onMessage',
    filters: [
      { name: 'byRoom', values: [{ group: 'input', field: 'room', value: 'lobby' }] },
      { name: 'byUserAndRoom', values: [{ group: 'ctx', field: 'userId', value: 'alice' }, { group: 'input', field: 'room', value: 'lobby' }] },
    ],
  }];

  test.each<[string, () => Promise<{ store: SubscriptionStore; reader: ConsoleStoreReader }>]>([
    ['DynamoDB (Query of the connection\'s partition)', async () => {
      const table = await createTestTable('console-reader');
      const store = dynamodb({ tableName: table.tableName, dynamoDBClient: table.client });
      return { store, reader: dynamodbStoreReader(store, { client: table.client, tableName: table.tableName }) };
    }],
    ['memory (subscriptionsOf)', async () => {
      const store = memory();
      return { store, reader: memoryStoreReader(store) };
    }],
  ])('%s: the connection row and each subscription with its filter values', async (_store, make) => {
    const { store, reader } = await make();
    await storedSubscription(store);
    expect(await reader.subscriptions('c#1', routes)).toEqual(expected);
    expect(await reader.connection('c#1')).toMatchObject({ key: 'user:alice', connect: { sourceIp: '10.0.0.1' } });
    expect(await reader.subscriptions('c#other', routes)).toEqual([]);
  });
});
