/**
 * One role per function: the handlers module bundled with esbuild once per role, with the
 * construct's `define` of the role (src/role-bundling.ts), as `TrpcSubscriptionApi` deploys it.
 * Each bundle must leave the other roles' modules out, still serve its own role against DynamoDB
 * Local and a Management API, and refuse the handlers it does not carry with an error that says why.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { build, type Metafile } from 'esbuild';
import type { QueueHandler, RolloverHandler, WebSocketHandler } from '../../lambda';
import { FUNCTION_ROLES, type FunctionRole } from '../../lambda/constants';
import { roleBundling } from '../../src/role-bundling';
import type { BundleFeatures } from '../../src/trpc-subscription-api-props';
import { createTestTable, scanRows, type TestTable } from '../support/dynamodb';

const ENTRY = path.join(__dirname, '..', 'fixtures', 'roles', 'handlers.ts');
const ROOT = path.join(__dirname, '..', '..');

interface RoleBundle {
  readonly code: string;
  /** Repository files with bytes in the bundle. */
  readonly modules: string[];
}

/** Without room presence, lifecycle hooks, event history and multi-region (`bundleFeatures`), for an app that declares none. */
const LEAN: BundleFeatures = { presence: false, hooks: false, history: false, multiRegion: false };

/**
 * The entry bundled as the construct bundles the function of `role` (minified CommonJS, SDK
 * external) with `features`; `source` replaces the entry module (resolved from test/fixtures).
 */
async function bundleRole(role: FunctionRole | undefined, features?: BundleFeatures, source?: string): Promise<RoleBundle> {
  const { define } = roleBundling(role ?? 'message', undefined, role !== undefined, features);
  const result = await build({
    ...(source === undefined
      ? { entryPoints: [ENTRY] }
      : { stdin: { contents: source, resolveDir: path.join(ROOT, 'test', 'fixtures'), loader: 'ts' as const } }),
    absWorkingDir: ROOT,
    bundle: true,
    minify: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['@aws-sdk/*'],
    define,
    write: false,
    outfile: path.join(ROOT, 'role-bundle.js'),
    metafile: true,
    logLevel: 'silent',
  });
  const [output] = Object.values((result.metafile as Metafile).outputs);
  const modules = Object.entries(output.inputs).filter(([, input]) => input.bytesInOutput > 0).map(([file]) => file);
  return { code: result.outputFiles[0].text, modules };
}

/** Evaluates a bundle in this process (its `require` resolves the SDK from the repository). */
function load(bundle: RoleBundle): Record<string, any> {
  const module = { exports: {} as Record<string, any> };
  new Function('module', 'exports', 'require', bundle.code)(module, module.exports, require);
  return module.exports;
}

const bundles = new Map<FunctionRole | 'all', RoleBundle>();
/** The same roles bundled {@link LEAN}. */
const leanBundles = new Map<FunctionRole, RoleBundle>();

beforeAll(async () => {
  for (const role of FUNCTION_ROLES) bundles.set(role, await bundleRole(role));
  bundles.set('all', await bundleRole(undefined));
  for (const role of FUNCTION_ROLES) leanBundles.set(role, await bundleRole(role, LEAN));
});

describe('a function bundled for one role', () => {
  const has = (role: FunctionRole, module: string) => bundles.get(role)!.modules.includes(module);

  test.each([
    ['connect', 'lambda/handlers/connect.ts', ['lambda/handlers/message.ts', 'lambda/handlers/disconnect.ts', 'lambda/publisher/publisher.ts',
      'lambda/publisher/rollover.ts', 'lambda/worker/worker.ts', 'lambda/management/client.ts', 'lambda/store/memory.ts',
      'lambda/store/dynamodb-subscriptions.ts', 'lambda/handlers/connection-cache.ts', 'lambda/store/dynamodb-hooks.ts']],
    ['message', 'lambda/handlers/message.ts', ['lambda/handlers/connect.ts', 'lambda/handlers/disconnect.ts', 'lambda/publisher/rollover.ts',
      'lambda/worker/worker.ts', 'lambda/store/memory.ts', 'lambda/store/dynamodb-ledger.ts']],
    // `$disconnect` publishes the leaves of presence routes: it holds the publisher, the Management
    // API client and the subscriber query (docs/runtime.md "Room presence").
    ['disconnect', 'lambda/handlers/disconnect.ts', ['lambda/handlers/connect.ts', 'lambda/handlers/message.ts',
      'lambda/publisher/rollover.ts', 'lambda/worker/worker.ts']],
    // The rollover publishes the leaves of the presence members whose connections it finds gone
    // (410, the sweep): it holds the publisher, but no subscription writes.
    ['rollover', 'lambda/publisher/rollover.ts', ['lambda/handlers/connect.ts', 'lambda/handlers/message.ts', 'lambda/handlers/disconnect.ts',
      'lambda/worker/worker.ts', 'lambda/store/dynamodb-subscriptions.ts', 'lambda/handlers/hooks.ts']],
    ['worker', 'lambda/worker/worker.ts', ['lambda/handlers/connect.ts', 'lambda/handlers/message.ts', 'lambda/handlers/disconnect.ts',
      'lambda/publisher/rollover.ts', 'lambda/store/memory.ts', 'lambda/handlers/hooks.ts']],
  ] as const)('GIVEN the %s role WHEN bundled THEN it holds %s and none of the other roles\' modules', (role, own, others) => {
    expect(has(role, own)).toBe(true);
    expect(others.filter((module) => has(role, module))).toEqual([]);
  });

  test('GIVEN lifecycle hooks WHEN bundled THEN the store\'s reporting removals are in every role that ends something, $connect excepted', () => {
    const roles = FUNCTION_ROLES.filter((role) => has(role, 'lambda/store/dynamodb-hooks.ts'));
    expect(roles).toEqual(['message', 'disconnect', 'rollover', 'worker']);
    // Subscriptions end one by one ($default's stop, a server-side stop) only where those run.
    expect(FUNCTION_ROLES.filter((role) => bundles.get(role)!.code.includes('endSubscription'))).toEqual(['message', 'worker']);
  });

  test('GIVEN every role WHEN bundled THEN each is smaller than the bundle of every role, and only what posts loads the Management API client', () => {
    const all = bundles.get('all')!;
    for (const role of FUNCTION_ROLES) expect(bundles.get(role)!.code.length).toBeLessThan(all.code.length);
    const loadsManagement = (bundle: RoleBundle) => bundle.code.includes('require("@aws-sdk/client-apigatewaymanagementapi")');
    expect(FUNCTION_ROLES.filter((role) => loadsManagement(bundles.get(role)!))).toEqual(['message', 'disconnect', 'rollover', 'worker']);
    expect(loadsManagement(all)).toBe(true);
  });

  test('GIVEN each role WHEN bundled THEN it leaves out what that role never runs inside the modules it holds', () => {
    const code = (role: FunctionRole) => bundles.get(role)!.code;
    // Metric names come from their keys: no function carries the table of every metric.
    expect(FUNCTION_ROLES.filter((role) => code(role).includes('DeliveryBatchesUnfinished'))).toEqual([]);
    // The IAM access lists in lambda/constants.ts are the construct's: no function carries them.
    expect([...FUNCTION_ROLES, 'all' as const].filter((role) => bundles.get(role)!.code.includes('dynamodb:BatchWriteItem'))).toEqual([]);
    // The rollover reconnects by age only: the parsing of a reconnect() target and the lookup of a
    // connection without a row stay with the publisher.
    const targetParsing = 'expected { connectionId }, { key } or { all: true }';
    expect(FUNCTION_ROLES.filter((role) => code(role).includes(targetParsing))).toEqual(['message', 'worker']);
    expect(code('rollover')).toContain('reconnect');
    // Only the handlers of a WebSocket event read its API's endpoint from it (`$disconnect` to send
    // presence leaves): the rollover and the worker take theirs from the environment.
    expect(FUNCTION_ROLES.filter((role) => code(role).includes('[::1]'))).toEqual(['message', 'disconnect']);
  });

  test('GIVEN a bundle WHEN an export of another role or its publisher is called THEN it rejects naming the role and bundlePerRole', async () => {
    const connectBundle = load(bundles.get('connect')!);
    await expect(connectBundle.handler({ requestContext: { connectionId: 'c' }, body: 'PING' }))
      .rejects.toThrow('handler() is not in this function\'s bundle: TrpcSubscriptionApi bundles each function with its own role only (this one: "connect")');
    await expect(connectBundle.publisher.routes.onMessage.publish({ data: { text: 'x', at: new Date(), from: 'y' } }))
      .rejects.toThrow(/publisher\.routes\.onMessage\.publish\(\) is not in this function's bundle.*`bundlePerRole: false`/);
    await expect(connectBundle.publisher.connections.count('user')).rejects.toThrow('publisher.connections.count() is not in this function\'s bundle');
    const messageBundle = load(bundles.get('message')!);
    await expect(messageBundle.worker({ Records: [] })).rejects.toThrow('worker() is not in this function\'s bundle');
    await expect(messageBundle.rollover()).rejects.toThrow('(this one: "message")');
  });
});

describe('a function bundled without presence, hooks, history and multi-region (bundleFeatures)', () => {
  const PRESENCE_MODULES = ['lambda/store/dynamodb-presence.ts', 'lambda/core/presence-store.ts', 'lambda/app/presence.ts', 'lambda/handlers/presence.ts'];
  // The store's reporting removals (their operation names; the subscription row's `hookState`
  // attribute name stays, since a lean `$default` still writes the rows every bundle reads).
  const HOOK_OPERATIONS = ['endConnection', 'endSubscription', 'markEnding'];
  // The history's append and replay (their modules' other parts, e.g. the frame sender, serve
  // every subscribe), the fence of a resumed add with its checks, and the initial state's id order.
  const HISTORY_MODULES = ['lambda/publisher/history.ts', 'lambda/worker/append-once.ts'];
  const HISTORY_CODE = ['no free event id in the history', 'the store has no readEvents()', 'resumes from a history', 'in increasing id order'];
  // The Regions' parsing, their routing through remote clients, lanes and reachability.
  const MULTI_REGION_MODULES = ['lambda/core/regions.ts', 'lambda/management/remote-client.ts', 'lambda/util/lanes.ts'];
  const MULTI_REGION_CODE = ['RegionUnavailableError', 'must be a Region name such as'];

  test('GIVEN every role WHEN bundled lean THEN none holds presence, the hooks\' removals, the history or the Regions\' routing, each is at most its full size, and those that ran them are smaller', () => {
    for (const role of FUNCTION_ROLES) {
      const lean = leanBundles.get(role)!;
      expect([...PRESENCE_MODULES, ...HISTORY_MODULES].filter((module) => lean.modules.includes(module))).toEqual([]);
      expect(HOOK_OPERATIONS.filter((operation) => lean.code.includes(operation))).toEqual([]);
      expect(HISTORY_CODE.filter((code) => lean.code.includes(code))).toEqual([]);
      expect(MULTI_REGION_MODULES.filter((module) => lean.modules.includes(module))).toEqual([]);
      expect(MULTI_REGION_CODE.filter((code) => lean.code.includes(code))).toEqual([]);
      expect({ role, runsEndHooks: lean.code.includes('onUnsubscribe failed') }).toEqual({ role, runsEndHooks: false });
      expect(lean.code.length).toBeLessThanOrEqual(bundles.get(role)!.code.length);
    }
    for (const role of ['message', 'disconnect', 'rollover', 'worker'] as const) {
      expect(leanBundles.get(role)!.code.length).toBeLessThan(bundles.get(role)!.code.length);
    }
    // The full bundles hold what the lean ones leave out (the checks above can fail).
    expect(HISTORY_CODE.filter((code) => bundles.get('message')!.code.includes(code))).toEqual(HISTORY_CODE);
    expect(bundles.get('worker')!.modules).toEqual(expect.arrayContaining(HISTORY_MODULES));
    expect(bundles.get('message')!.modules).toEqual(expect.arrayContaining(PRESENCE_MODULES));
    expect(bundles.get('message')!.modules).toEqual(expect.arrayContaining(MULTI_REGION_MODULES));
    expect(MULTI_REGION_CODE.filter((code) => bundles.get('rollover')!.code.includes(code))).toEqual(MULTI_REGION_CODE);
  });

  test('GIVEN $default bundled without history WHEN its store is asked to fence an add THEN it refuses, naming the prop', async () => {
    const source = 'export { dynamodb } from \'../../lambda\';';
    const record = { connectionId: 'c', subscriptionId: 1, path: 'onEvent', filters: [], expireAt: 2_000_000_000 };
    const fenced = { historyFence: { path: 'onEvent', afterEventId: '0000000000000001' } };
    const lean = load(await bundleRole('message', { history: false }, source)).dynamodb({ tableName: 'unused' });
    await expect(lean.addSubscription(record, fenced)).rejects.toThrow(
      '`historyFence`: this function\'s bundle was made without event history (`bundleFeatures.history`)');
    // With history kept, the same add gets as far as checking its fence.
    const full = load(await bundleRole('message', undefined, source)).dynamodb({ tableName: 'unused' });
    await expect(full.addSubscription(record, { historyFence: { path: 'onEvent', afterEventId: 'x' } })).rejects.toThrow(
      '`historyFence.afterEventId` must be an event id (16 digits), got: "x"');
  });

  test('GIVEN $disconnect WHEN bundled lean THEN it carries no publisher and never loads the Management API client', () => {
    const lean = leanBundles.get('disconnect')!;
    expect(['lambda/publisher/publisher.ts', 'lambda/publisher/fan-out.ts', 'lambda/management/client.ts'].filter((module) => lean.modules.includes(module))).toEqual([]);
    expect(lean.code.includes('require("@aws-sdk/client-apigatewaymanagementapi")')).toBe(false);
    // With presence kept it delivers the leaves: the publisher is there.
    expect(bundles.get('disconnect')!.modules).toContain('lambda/publisher/fan-out.ts');
  });

  test.each([
    ['presence', `import { presenceSubscriptions } from './presence-router';
      export const connect = presenceSubscriptions(0).connect();`, { presence: false },
    'routes.roomMembers.presence(): this function\'s bundle was made without room presence: TrpcSubscriptionApi bundles room presence only with `bundleFeatures.presence` true (the default)'],
    ['route hooks', `import { appSubscriptions } from './router';
      export const connect = appSubscriptions.routes.onMessage.hooks({ onSubscribe: () => undefined }).connect();`, { hooks: false },
    'routes.onMessage.hooks(): this function\'s bundle was made without lifecycle hooks: TrpcSubscriptionApi bundles lifecycle hooks only with `bundleFeatures.hooks` true (the default)'],
    ['connection hooks', `import { appSubscriptions } from './router';
      export const connect = appSubscriptions.hooks({ onConnect: () => undefined }).connect();`, { hooks: false },
    'hooks(): this function\'s bundle was made without lifecycle hooks'],
    ['event history', `import { historySubscriptions } from './history-router';
      export const connect = historySubscriptions().connect();`, { history: false },
    'routes.onEvent.history(): this function\'s bundle was made without event history: TrpcSubscriptionApi bundles event history only with `bundleFeatures.history` true (the default)'],
    ['Regions', `import { appSubscriptions } from './router';
      export const connect = appSubscriptions.regions({ region: 'eu-west-1', endpoints: { 'eu-west-1': 'https://a.example/prod' } }).connect();`,
    { multiRegion: false },
    'regions(): this function\'s bundle was made without multi-region: TrpcSubscriptionApi bundles multi-region only with `bundleFeatures.multiRegion` true (the default)'],
  ] as const)('GIVEN an app that declares %s WHEN bundled without them THEN its module fails to load, naming the prop', async (_feature, source, features, message) => {
    const without = await bundleRole('connect', features, source);
    expect(() => load(without)).toThrow(message);
    // The same module with the feature kept loads.
    expect(load(await bundleRole('connect', undefined, source)).connect).toEqual(expect.any(Function));
  });

  test('GIVEN a function bundled without multi-region WHEN its environment names Regions anyway THEN its module fails to load, naming the prop', async () => {
    const lean = await bundleRole('connect', { multiRegion: false });
    const endpoints = JSON.stringify({ 'eu-west-1': 'https://a.example/prod', 'us-east-1': 'https://b.example/prod' });
    process.env.TRPC_SUBSCRIPTIONS_REGION_ENDPOINTS = endpoints;
    try {
      expect(() => load(lean)).toThrow('TRPC_SUBSCRIPTIONS_REGION_ENDPOINTS is set, but this function\'s bundle was made without multi-region: '
        + 'TrpcSubscriptionApi bundles multi-region only with `bundleFeatures.multiRegion` true (the default)');
      // With multi-region kept, the same environment is read.
      process.env.TRPC_SUBSCRIPTIONS_REGION = 'eu-west-1';
      expect(load(await bundleRole('connect')).connect).toEqual(expect.any(Function));
    } finally {
      delete process.env.TRPC_SUBSCRIPTIONS_REGION_ENDPOINTS;
      delete process.env.TRPC_SUBSCRIPTIONS_REGION;
    }
  });
});

describe('the role bundles, deployed side by side', () => {
  let table: TestTable;
  let management: Server;
  const posts: Array<{ path: string; body: string }> = [];
  const saved = { ...process.env };

  beforeAll(async () => {
    table = await createTestTable('roles');
    management = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      request.on('end', () => {
        posts.push({ path: decodeURIComponent(request.url ?? ''), body });
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => management.listen(0, '127.0.0.1', resolve));
    // What the construct sets on the functions; the default clients find DynamoDB Local through the SDK's endpoint variable.
    process.env.TRPC_SUBSCRIPTIONS_TABLE_NAME = table.tableName;
    process.env.TRPC_SUBSCRIPTIONS_ENDPOINT = `http://127.0.0.1:${(management.address() as AddressInfo).port}/prod`;
    process.env.AWS_ENDPOINT_URL_DYNAMODB = table.endpoint;
  });

  afterAll(async () => {
    process.env = saved;
    await new Promise((resolve) => management.close(resolve));
    table.client.destroy();
  });

  const context = { requestContext: { stage: 'prod', domainName: '127.0.0.1', connectedAt: Date.now() } };
  const connectEvent = (connectionId: string) => ({
    requestContext: { ...context.requestContext, connectionId, routeKey: '$connect', eventType: 'CONNECT' },
    queryStringParameters: { userId: connectionId },
  });
  const message = (connectionId: string, frame: unknown) => ({
    requestContext: { ...context.requestContext, connectionId, routeKey: '$default', eventType: 'MESSAGE' },
    body: typeof frame === 'string' ? frame : JSON.stringify(frame),
    isBase64Encoded: false,
  });

  test.each(['every feature', 'lean'] as const)('GIVEN each function from its own bundle (%s) WHEN a client connects, subscribes, is published to and leaves THEN every role does its part', async (kind) => {
    posts.length = 0;
    const of = (role: FunctionRole) => (kind === 'lean' ? leanBundles : bundles).get(role)!;
    const connect: WebSocketHandler = load(of('connect')).connect;
    const { handler, publisher } = load(of('message')) as { handler: WebSocketHandler; publisher: any };
    const worker: QueueHandler = load(of('worker')).worker;
    const rollover: RolloverHandler = load(of('rollover')).rollover;
    const disconnect: WebSocketHandler = load(of('disconnect')).disconnect;
    // Connections of their own per run: both runs share the table.
    const reader = `reader-${kind === 'lean' ? 'lean' : 'full'}`;
    const writer = `writer-${kind === 'lean' ? 'lean' : 'full'}`;

    expect(await connect(connectEvent(reader))).toEqual({ statusCode: 200 });
    expect(await connect(connectEvent(writer))).toEqual({ statusCode: 200 });
    expect((await handler(message(reader, 'PING'))).body).toBe('PONG');
    const started = await handler(message(reader, { id: 1, method: 'subscription', params: { path: 'onMessage', input: { json: { room: 'r' } } } }));
    expect(JSON.parse(started.body!)).toEqual({ id: 1, result: { type: 'started' } });
    const sent = await handler(message(writer, { id: 7, method: 'mutation', params: { path: 'sendMessage', input: { json: { room: 'r', text: 'hi' } } } }));
    expect(JSON.parse(sent.body!).result.data.json.delivered).toBe(1);
    expect(posts.map((post) => post.path)).toEqual([`/prod/@connections/${reader}`]);
    expect(await publisher.connections.count(reader)).toBe(0);

    // A batch id of its own per run too: the ledger delivers each batch once.
    const deliver = { v: 1, kind: 'deliver', batchId: `batch-${writer}#0`, path: 'onMessage', result: '{"type":"data","data":{"json":"queued"}}', targets: [[reader, 1]] };
    expect(await worker({ Records: [{ messageId: `batch-${writer}`, body: JSON.stringify(deliver) }] })).toEqual({ batchItemFailures: [] });
    expect(posts[1]).toEqual({ path: `/prod/@connections/${reader}`, body: '{"id":1,"result":{"type":"data","data":{"json":"queued"}}}' });

    expect(await rollover()).toMatchObject({ matched: 0 });
    expect(await disconnect({ requestContext: { ...context.requestContext, connectionId: reader, routeKey: '$disconnect', eventType: 'DISCONNECT' } }))
      .toEqual({ statusCode: 200 });
    const left = await scanRows(table.client, table.tableName);
    expect(left.filter((row) => row.pk.includes(reader))).toEqual([]);
    expect(left.some((row) => row.pk.includes(writer))).toBe(true);
  });
});
