/**
 * Cold start as users feel it: a fresh Node.js process requires one function's bundle and
 * handles its first event, against DynamoDB Local and a Management API on loopback. Its floor is
 * a bare handler in a fresh process that requires the SDK packages the role needs, creates the
 * clients and sends exactly the requests the library sent (recorded by bench/support/aws-recorders.ts,
 * replayed in order on a twin table seeded the same way).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { RecordedRequest, Recorder } from './aws-recorders';
import { seedRoomSubscriber } from './example-app';
import { dynamodb, type SubscriptionStore } from '../../lambda';
import type { FunctionRole } from '../../lambda/constants';
import { createSubscriptionTable } from '../../lambda/local';

const DYNAMODB = '@aws-sdk/client-dynamodb';
const UTIL_DYNAMODB = '@aws-sdk/util-dynamodb';
const MANAGEMENT = '@aws-sdk/client-apigatewaymanagementapi';

/** One function's first event, the rows it finds and the SDK packages its role needs. */
export interface ColdStartScenario {
  readonly role: FunctionRole;
  /** The export of the handlers module the function calls. */
  readonly exportName: string;
  /** What the first event is, for the table. */
  readonly description: string;
  /** The SDK packages a hand-written handler of this role would require. */
  readonly sdkPackages: readonly string[];
  /** Writes the rows the first event finds. */
  seed(store: SubscriptionStore, connectionId: string): Promise<void>;
  /** The first event. */
  event(connectionId: string): unknown;
  /** Throws unless the handler's result is the expected one. */
  check(result: unknown): void;
}

const requestContext = (connectionId: string, routeKey: string, eventType: string) => ({
  routeKey,
  eventType,
  connectionId,
  connectedAt: Date.now(),
  requestTimeEpoch: Date.now(),
  requestId: randomUUID(),
  domainName: 'abcdefghij.execute-api.eu-west-1.amazonaws.com',
  stage: 'prod',
  apiId: 'abcdefghij',
  identity: { sourceIp: '127.0.0.1' },
});

function expect(condition: boolean, what: string, result: unknown): void {
  if (!condition) throw new Error(`cold start: ${what}, got ${JSON.stringify(result)}`);
}

/** The first event of each function of the example app, as API Gateway, EventBridge and SQS send them. */
export const COLD_START_SCENARIOS: readonly ColdStartScenario[] = [
  {
    role: 'connect',
    exportName: 'connect',
    description: '$connect of a new connection',
    sdkPackages: [DYNAMODB, UTIL_DYNAMODB],
    seed: async () => undefined,
    event: (connectionId) => ({
      requestContext: requestContext(connectionId, '$connect', 'CONNECT'),
      headers: { 'Host': 'abcdefghij.execute-api.eu-west-1.amazonaws.com', 'Sec-WebSocket-Version': '13' },
      queryStringParameters: null,
      isBase64Encoded: false,
    }),
    check: (result) => expect((result as { statusCode?: number })?.statusCode === 200, 'connect answers 200', result),
  },
  {
    role: 'message',
    exportName: 'handler',
    description: 'subscribe (onMessage, 2 filters) on a connected socket',
    sdkPackages: [DYNAMODB, UTIL_DYNAMODB, MANAGEMENT],
    seed: (store, connectionId) => store.putConnection({
      connectionId, connectedAt: Date.now(), expireAt: Math.floor(Date.now() / 1000) + 7800, awaitingConnectionParams: false, connect: { sourceIp: '127.0.0.1' },
    }),
    event: (connectionId) => ({
      requestContext: requestContext(connectionId, '$default', 'MESSAGE'),
      body: JSON.stringify({ id: 1, method: 'subscription', params: { path: 'onMessage', input: { json: { room: 'lobby' } } } }),
      isBase64Encoded: false,
    }),
    check: (result) => expect(String((result as { body?: string })?.body).includes('"started"'), 'subscribe answers started', result),
  },
  {
    role: 'disconnect',
    exportName: 'disconnect',
    description: '$disconnect of a connection with one subscription',
    sdkPackages: [DYNAMODB, UTIL_DYNAMODB],
    seed: (store, connectionId) => seedRoomSubscriber(store, connectionId, 'lobby'),
    event: (connectionId) => ({
      requestContext: { ...requestContext(connectionId, '$disconnect', 'DISCONNECT'), disconnectStatusCode: 1000, disconnectReason: '' },
      isBase64Encoded: false,
    }),
    check: (result) => expect((result as { statusCode?: number })?.statusCode === 200, 'disconnect answers 200', result),
  },
  {
    role: 'rollover',
    exportName: 'rollover',
    description: 'scheduled run: one connection near the 2-hour limit told to reconnect',
    sdkPackages: [DYNAMODB, UTIL_DYNAMODB, MANAGEMENT],
    seed: (store, connectionId) => {
      const connectedAt = Date.now() - 117 * 60_000;
      return store.putConnection({
        connectionId, connectedAt, expireAt: Math.floor(connectedAt / 1000) + 7800, awaitingConnectionParams: false, connect: {},
      });
    },
    event: () => ({ 'version': '0', 'id': randomUUID(), 'detail-type': 'Scheduled Event', 'source': 'aws.events', 'time': new Date().toISOString(), 'detail': {} }),
    check: (result) => expect((result as { succeeded?: number })?.succeeded === 1, 'the rollover reaches the old connection', result),
  },
  {
    role: 'worker',
    exportName: 'worker',
    description: 'SQS delivery batch of one target',
    sdkPackages: [DYNAMODB, UTIL_DYNAMODB, MANAGEMENT],
    seed: async () => undefined,
    event: (connectionId) => ({
      Records: [{
        messageId: randomUUID(),
        body: JSON.stringify({
          v: 1,
          kind: 'deliver',
          batchId: `${randomUUID()}#0`,
          path: 'onMessage',
          result: '{"type":"data","data":{"json":{"text":"hello","from":"bench"}}}',
          targets: [[connectionId, 1]],
        }),
        attributes: { ApproximateReceiveCount: '1' },
      }],
    }),
    check: (result) => expect((result as { batchItemFailures?: unknown[] })?.batchItemFailures?.length === 0, 'the worker delivers its batch', result),
  },
];

/** Times of one cold start, in milliseconds: wall clock, and the process's CPU time (user + system). */
export interface ColdRun {
  /** Library: `require()` of the bundle. Floor: `require()` of the SDK packages. */
  readonly requireMs: number;
  readonly requireCpuMs: number;
  /** Library: the first event. Floor: creating the clients and sending the recorded requests. */
  readonly eventMs: number;
  readonly eventCpuMs: number;
  readonly totalMs: number;
  readonly totalCpuMs: number;
}

/** The library's process: require the bundle, handle one event, print the times. */
const LIBRARY_SCRIPT = `
const cpu = () => { const { user, system } = process.cpuUsage(); return (user + system) / 1000; };
const t0 = process.hrtime.bigint(); const c0 = cpu();
const handlers = require(process.argv[1]);
const t1 = process.hrtime.bigint(); const c1 = cpu();
const context = { awsRequestId: 'cold', functionName: 'cold', getRemainingTimeInMillis: () => 60000 };
Promise.resolve(handlers[process.argv[2]](JSON.parse(process.argv[3]), context)).then((result) => {
  const t2 = process.hrtime.bigint(); const c2 = cpu();
  const times = { requireMs: Number(t1 - t0) / 1e6, eventMs: Number(t2 - t1) / 1e6, requireCpuMs: c1 - c0, eventCpuMs: c2 - c1 };
  process.stdout.write('\\nCOLD ' + JSON.stringify({ ...times, result }) + '\\n');
  process.exit(0);
}, (error) => { process.stderr.write(String(error && error.stack || error)); process.exit(1); });
`;

/**
 * The floor's process: a bare handler that requires the SDK packages, creates the clients the
 * requests need and sends them in order (conditional failures are answers like any other).
 */
const FLOOR_SCRIPT = `
const cpu = () => { const { user, system } = process.cpuUsage(); return (user + system) / 1000; };
const t0 = process.hrtime.bigint(); const c0 = cpu();
const modules = Object.fromEntries(JSON.parse(process.argv[1]).map((name) => [name, require(name)]));
const t1 = process.hrtime.bigint(); const c1 = cpu();
const requests = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
let dynamodb, management;
(async () => {
  for (const r of requests) {
    if (r.service === 'dynamodb') {
      const sdk = modules['${DYNAMODB}'];
      dynamodb ??= new sdk.DynamoDBClient({});
      const input = JSON.parse(r.body);
      delete input.ClientRequestToken;
      await dynamodb.send(new sdk[r.operation + 'Command'](input)).catch((error) => {
        if (!['ConditionalCheckFailedException', 'TransactionCanceledException'].includes(error.name)) throw error;
      });
    } else {
      const sdk = modules['${MANAGEMENT}'];
      management ??= new sdk.ApiGatewayManagementApiClient({ endpoint: process.env.TRPC_SUBSCRIPTIONS_ENDPOINT });
      const ConnectionId = r.path.slice(r.path.lastIndexOf('/') + 1);
      await management.send(r.operation === 'POST' ? new sdk.PostToConnectionCommand({ ConnectionId, Data: r.body })
        : r.operation === 'DELETE' ? new sdk.DeleteConnectionCommand({ ConnectionId }) : new sdk.GetConnectionCommand({ ConnectionId }));
    }
  }
  const t2 = process.hrtime.bigint(); const c2 = cpu();
  const times = { requireMs: Number(t1 - t0) / 1e6, eventMs: Number(t2 - t1) / 1e6, requireCpuMs: c1 - c0, eventCpuMs: c2 - c1 };
  process.stdout.write('\\nCOLD ' + JSON.stringify(times) + '\\n');
  process.exit(0);
})().catch((error) => { process.stderr.write(String(error && error.stack || error)); process.exit(1); });
`;

/** What the cold-start runs share. */
export interface ColdStartEnv {
  /** The scratch app: where the children run, so that `@aws-sdk/*` resolves from its node_modules. */
  readonly appDir: string;
  /** The Node.js binary of the children (the Lambda runtime's version, see bench/support/lambda-node.ts). */
  readonly node: string;
  /** A client on DynamoDB Local (to create, seed and delete tables). */
  readonly client: DynamoDBClient;
  readonly dynamodbRecorder: Recorder;
  readonly managementRecorder: Recorder;
}

function runChild(node: string, appDir: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ run: ColdRun; result?: unknown }> {
  return new Promise((resolve, reject) => {
    execFile(node, args, { cwd: appDir, env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`cold start child failed: ${error.message}\n${stderr}`));
        return;
      }
      const line = stdout.split('\n').find((text) => text.startsWith('COLD '));
      if (!line) {
        reject(new Error(`cold start child printed no times: ${stdout.slice(-500)} ${stderr.slice(-500)}`));
        return;
      }
      const { requireMs, eventMs, requireCpuMs, eventCpuMs, result } = JSON.parse(line.slice('COLD '.length)) as ColdRun & { result?: unknown };
      resolve({
        run: { requireMs, eventMs, totalMs: requireMs + eventMs, requireCpuMs, eventCpuMs, totalCpuMs: requireCpuMs + eventCpuMs },
        result,
      });
    });
  });
}

function childEnv(env: ColdStartEnv, tableName: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    // What a Lambda function has (credentials, Region) plus the loopback endpoints.
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_ENDPOINT_URL_DYNAMODB: env.dynamodbRecorder.endpoint,
    // The construct's environment: source maps on (the bundles carry external ones), production mode.
    NODE_OPTIONS: '--enable-source-maps',
    NODE_ENV: 'production',
    TRPC_SUBSCRIPTIONS_TABLE_NAME: tableName,
    TRPC_SUBSCRIPTIONS_ENDPOINT: `${env.managementRecorder.endpoint}/prod`,
  };
}

/** One cold start of the library's bundle and one of its floor, each in a fresh process on its own fresh table. */
export async function coldStartPair(
  env: ColdStartEnv, scenario: ColdStartScenario, bundleFile: string,
): Promise<{ library: ColdRun; floor: ColdRun; requests: RecordedRequest[] }> {
  const run = randomUUID().slice(0, 8);
  // Same length, so that the replayed bodies keep their size.
  const libraryTable = `cold-lib-${scenario.role}-${run}`;
  const floorTable = `cold-flr-${scenario.role}-${run}`;
  const connectionId = `${run}cold=`;
  try {
    for (const tableName of [libraryTable, floorTable]) {
      await createSubscriptionTable({ client: env.client, tableName });
      await scenario.seed(dynamodb({ tableName, dynamoDBClient: env.client }), connectionId);
    }
    env.dynamodbRecorder.take();
    env.managementRecorder.take();
    const { run: library, result } = await runChild(
      env.node, env.appDir, ['-e', LIBRARY_SCRIPT, bundleFile, scenario.exportName, JSON.stringify(scenario.event(connectionId))], childEnv(env, libraryTable),
    );
    scenario.check(result);
    const requests = [...env.dynamodbRecorder.take(), ...env.managementRecorder.take()].sort((a, b) => a.at - b.at);
    const replayed = requests.map((request) => ({ ...request, body: request.body.split(libraryTable).join(floorTable) }));
    const requestsFile = join(env.appDir, `cold-${run}.json`);
    writeFileSync(requestsFile, JSON.stringify(replayed));
    const { run: floor } = await runChild(env.node, env.appDir, ['-e', FLOOR_SCRIPT, JSON.stringify(scenario.sdkPackages), requestsFile], childEnv(env, floorTable));
    const floorRequests = env.dynamodbRecorder.take().length + env.managementRecorder.take().length;
    if (floorRequests !== requests.length) throw new Error(`cold start floor: ${floorRequests} requests replayed for ${requests.length} recorded`);
    return { library, floor, requests };
  } finally {
    for (const tableName of [libraryTable, floorTable]) {
      await env.client.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
    }
  }
}
