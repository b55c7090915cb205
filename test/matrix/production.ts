/**
 * The production mode of the matrix: the construct synthesized with the props the README
 * recommends for production ("Operating it": throttle, tracing, JSON logs, a log key, alarms,
 * dashboard) plus `queuedFanOut` and a `PublisherFunction`; every function's environment is read
 * from the template and set on this process (the table, the API's endpoint and the queue resolved
 * to the local ones; `NODE_ENV=production`, metrics on, Lambda's JSON log variables), and the app
 * is built as a handlers file deployed by the construct builds it: no store, endpoint, queue or
 * logger in code. The runtime's own output (EMF lines, log lines) is captured, not printed.
 */
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { LoggingFormat, Tracing } from 'aws-cdk-lib/aws-lambda';
import { matrixApp, type MatrixSubscriptions } from './app';
import type { MatrixRoute, Mode, World } from './world';
import { dynamodb, type QueueHandler } from '../../lambda';
import { ENDPOINT_ENV, QUEUE_URL_ENV, TABLE_NAME_ENV } from '../../lambda/constants';
import { silentLogger, startLocalGateway, startLocalQueue, type LambdaStyleHandler } from '../../lambda/local';
import { PublisherFunction, TrpcSubscriptionApi } from '../../src';
import { createTestTable } from '../support/dynamodb';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'handlers');

/** The construct with the recommended production props; the environment of each of its functions. */
function synthesizedEnvironments(): Array<Record<string, unknown>> {
  const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Operated', { env: { region: 'eu-west-1', account: '111111111111' } });
  const realtime = new TrpcSubscriptionApi(stack, 'Realtime', {
    entry: path.join(FIXTURES, 'index.ts'),
    throttle: { rateLimit: 500, burstLimit: 1000 },
    tracing: Tracing.ACTIVE,
    loggingFormat: LoggingFormat.JSON,
    logEncryptionKey: new Key(stack, 'LogKey', { enableKeyRotation: true }),
    alarms: true,
    dashboard: true,
    queuedFanOut: {},
  });
  new PublisherFunction(stack, 'Producer', { entry: path.join(FIXTURES, 'producer.ts'), api: realtime });
  const resources = Object.values(Template.fromStack(stack).toJSON().Resources) as Array<{ Type: string; Properties: any }>;
  return resources
    .filter((resource) => resource.Type === 'AWS::Lambda::Function')
    .map((fn) => ({
      ...fn.Properties.Environment?.Variables,
      // What Lambda itself sets for the JSON log format (application log level INFO unless set).
      ...(fn.Properties.LoggingConfig?.LogFormat === 'JSON'
        ? { AWS_LAMBDA_LOG_FORMAT: 'JSON', AWS_LAMBDA_LOG_LEVEL: fn.Properties.LoggingConfig.ApplicationLogLevel ?? 'INFO' } : {}),
    }));
}

/** One environment for every role (they run in this one process): each variable's value, tokens resolved to `local`. */
function resolvedEnvironment(environments: Array<Record<string, unknown>>, local: Record<string, string>): Record<string, string> {
  const resolved: Record<string, string> = {};
  for (const environment of environments) {
    for (const [name, value] of Object.entries(environment)) {
      if (name === 'NODE_OPTIONS') continue;
      const text = local[name] ?? (typeof value === 'string' ? value : joinWithLocalIds(name, value));
      if (resolved[name] !== undefined && resolved[name] !== text) throw new Error(`${name} differs between functions: ${resolved[name]} / ${text}`);
      resolved[name] = text;
    }
  }
  return resolved;
}

/** `Fn::Join` with every reference replaced by `local-api` (e.g. the metrics dimensions' ApiId). */
function joinWithLocalIds(name: string, value: unknown): string {
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (!join) throw new Error(`${name}: a token the production mode cannot resolve locally: ${JSON.stringify(value)}`);
  return join[1].map((part) => (typeof part === 'string' ? part : 'local-api')).join(join[0]);
}

/** Lines the runtime printed while the mode ran: EMF on stdout, JSON log lines on stderr. */
export const runtimeOutput: { readonly emf: string[]; readonly logs: string[] } = { emf: [], logs: [] };

/** Keeps the runtime's own lines out of the test output; returns the undo. */
function captureRuntimeOutput(): () => void {
  const originals = { stdout: process.stdout.write, stderr: process.stderr.write };
  const capture = (stream: 'stdout' | 'stderr', into: string[], isRuntimeLine: (line: string) => boolean) => {
    const original = originals[stream];
    process[stream].write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      const lines = text.split('\n').filter(Boolean);
      if (lines.length > 0 && lines.every(isRuntimeLine)) {
        into.push(...lines);
        const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
        callback?.();
        return true;
      }
      return (original as (...args: unknown[]) => boolean).call(process[stream], chunk, ...rest);
    }) as typeof process.stdout.write;
  };
  capture('stdout', runtimeOutput.emf, (line) => line.startsWith('{"_aws":'));
  capture('stderr', runtimeOutput.logs, (line) => line.includes('"source":"cdk-trpc-subscriptions"'));
  return () => {
    process.stdout.write = originals.stdout;
    process.stderr.write = originals.stderr;
  };
}

async function startProduction(): Promise<World> {
  const table = await createTestTable('matrix-production');
  let app: MatrixSubscriptions | undefined;
  let handlers: Record<'connect' | 'handler' | 'disconnect', LambdaStyleHandler> | undefined;
  let worker: QueueHandler | undefined;
  const lostDisconnects = new Set<string>();
  // A lost `$disconnect` never reaches the handler.
  const lazy = (route: 'connect' | 'handler' | 'disconnect'): LambdaStyleHandler => async (event, context, callback) =>
    (route === 'disconnect' && lostDisconnects.has(event.requestContext.connectionId) ? { statusCode: 200 } : handlers![route](event, context, callback));
  const gateway = await startLocalGateway({
    handlers: { connect: lazy('connect'), handler: lazy('handler'), disconnect: lazy('disconnect') },
    logger: silentLogger,
  });
  const queue = await startLocalQueue({ handler: (event) => worker!(event) as never, visibilityTimeoutMs: 5_000, logger: silentLogger });

  const environment = resolvedEnvironment(synthesizedEnvironments(), {
    [TABLE_NAME_ENV]: table.tableName,
    [ENDPOINT_ENV]: gateway.endpoint,
    [QUEUE_URL_ENV]: queue.url,
  });
  const saved = { ...process.env };
  // A Lambda's environment holds what the construct set, nothing of this test run's (e.g. metrics off).
  for (const name of Object.keys(process.env)) if (name.startsWith('TRPC_SUBSCRIPTIONS_')) delete process.env[name];
  Object.assign(process.env, environment, {
    // Where the AWS SDK's default clients find "AWS": DynamoDB Local and the local queue.
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: table.endpoint,
    AWS_ENDPOINT_URL_SQS: queue.endpoint,
  });
  const releaseOutput = captureRuntimeOutput();
  // As a handlers file deployed by the construct: everything from the environment.
  app = matrixApp().app;
  handlers = {
    connect: app.connect() as LambdaStyleHandler,
    handler: app.handler() as LambdaStyleHandler,
    disconnect: app.disconnect() as LambdaStyleHandler,
  };
  worker = app.worker();
  const publisher = app.publisher();

  const send = async (route: MatrixRoute, room: string, id: string, queued: boolean): Promise<string | undefined> => {
    const args = { data: { id }, filter: { name: 'byRoom', input: { room } } } as const;
    if (!queued) {
      return (route === 'onMessage' ? await publisher.routes.onMessage.publish(args) : await publisher.routes.onEvent.publish(args)).eventId;
    }
    const result = route === 'onMessage' ? await publisher.routes.onMessage.enqueue(args) : await publisher.routes.onEvent.enqueue(args);
    await queue.drained();
    return 'eventId' in result ? result.eventId : undefined;
  };
  return {
    regions: ['local'],
    // The tests' own reads of the table, through the default store too.
    store: dynamodb(),
    gateway: () => gateway,
    lostDisconnects,
    publisher: () => publisher,
    publish: (_region, route, room, id) => send(route, room, id, false),
    enqueue: (_region, route, room, id) => send(route, room, id, true),
    rollover: (_region, ages) => app!.rollover(ages)(),
    close: async () => {
      await queue.close();
      await gateway.close();
      releaseOutput();
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
      table.client.destroy();
    },
  };
}

/** The construct's recommended production props, the app configured only by their environment. */
export const production: Mode = { name: 'production props', regions: ['local'], start: startProduction };
