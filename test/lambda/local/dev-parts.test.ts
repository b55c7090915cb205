import { join, resolve } from 'node:path';
import { devEnvironment, HandlersLoadError, loadHandlers } from '../../../lambda/local';
import { DEFAULT_DEV_DYNAMODB_PORT, DEFAULT_DEV_PORT, parseDevArgs } from '../../../lambda/local/dev-args';
import { formatExportLine } from '../../../lambda/local/dev-cli';
import { formatEnvFile } from '../../../lambda/local/env-file';
import { describeErrorLine } from '../../../lambda/local/error-line';

const FIXTURE = resolve(__dirname, '../../fixtures/dev-app');

describe('parseDevArgs', () => {
  test('defaults', () => {
    expect(parseDevArgs(['dev', 'src/handlers.ts'])).toEqual({
      command: 'dev',
      entry: 'src/handlers.ts',
      port: DEFAULT_DEV_PORT,
      stage: 'prod',
      store: 'dynamodb',
      tableName: 'trpc-subscriptions-dev',
      dynamodbPort: DEFAULT_DEV_DYNAMODB_PORT,
      dynamodbTimeoutMs: 120_000,
      envFile: '.cdk-trpc-subscriptions.env',
      exportNames: { connect: 'connect', handler: 'handler', disconnect: 'disconnect' },
      unordered: false,
      verbose: false,
    });
  });

  test('every flag', () => {
    expect(
      parseDevArgs(['dev', 'h.ts', '--port', '0', '--stage', 'dev', '--store', 'memory', '--table-name', 't', '--dynamodb-port', '9000',
        '--dynamodb-timeout', '2.5', '--env-file', 'local.env', '--connect', 'onConnect', '--handler', 'onMessage', '--disconnect', 'onDisconnect',
        '--unordered', '--verbose']),
    ).toEqual({
      command: 'dev',
      entry: 'h.ts',
      port: 0,
      stage: 'dev',
      store: 'memory',
      tableName: 't',
      dynamodbPort: 9000,
      dynamodbTimeoutMs: 2_500,
      envFile: 'local.env',
      exportNames: { connect: 'onConnect', handler: 'onMessage', disconnect: 'onDisconnect' },
      unordered: true,
      verbose: true,
    });
    expect(parseDevArgs(['-h'])).toEqual({ command: 'help' });
    expect(parseDevArgs(['--version'])).toEqual({ command: 'version' });
    expect(parseDevArgs(['-v'])).toEqual({ command: 'version' });
    expect(parseDevArgs(['dev', 'x.ts', '--help'])).toEqual({ command: 'help' });
  });

  test.each([
    [[], 'Missing command: `dev`'],
    [['serve', 'x.ts'], 'Unknown command: `serve` (expected `dev`)'],
    [['dev'], 'Missing <entry>'],
    [['dev', 'a.ts', 'b.ts'], 'Unexpected argument: `b.ts`'],
    [['dev', 'a.ts', '--port', 'abc'], '`--port` must be an integer from 0 to 65535, got: abc'],
    [['dev', 'a.ts', '--port', '70000'], '`--port` must be an integer from 0 to 65535, got: 70000'],
    [['dev', 'a.ts', '--store', 'redis'], '`--store` must be `dynamodb` or `memory`, got: redis'],
    [['dev', 'a.ts', '--stage', 'a/b'], '`--stage` may contain only letters, digits, - and _, got: a/b'],
    [['dev', 'a.ts', '--port'], "Option '--port <value>' argument missing"],
    [['dev', 'a.ts', '--dynamodb-timeout', 'soon'], '`--dynamodb-timeout` must be a positive number of seconds, got: soon'],
    [['dev', 'a.ts', '--env-file', ''], '`--env-file` must be a file path, got an empty string'],
  ])('%j is refused: %s', (argv, message) => {
    const parsed = parseDevArgs(argv);
    expect(parsed.command).toBe('error');
    expect((parsed as { message: string }).message).toContain(message);
  });
});

describe('dev environment', () => {
  test('dynamodb store: table, endpoints and dummy credentials', () => {
    expect(devEnvironment({ endpoint: 'http://127.0.0.1:1/prod', store: 'dynamodb', tableName: 't', dynamodbEndpoint: 'http://127.0.0.1:2' })).toEqual({
      TRPC_SUBSCRIPTIONS_ENDPOINT: 'http://127.0.0.1:1/prod',
      TRPC_SUBSCRIPTIONS_TABLE_NAME: 't',
      AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:2',
      AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI: 'http://127.0.0.1:1/prod',
      AWS_REGION: 'local',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_EC2_METADATA_DISABLED: 'true',
      TRPC_SUBSCRIPTIONS_METRICS: 'off',
    });
  });

  test('memory store: TRPC_SUBSCRIPTIONS_STORE=memory and no DynamoDB settings', () => {
    const env = devEnvironment({ endpoint: 'http://127.0.0.1:1/prod', store: 'memory', tableName: 't' });
    expect(env.TRPC_SUBSCRIPTIONS_STORE).toBe('memory');
    expect(env).not.toHaveProperty('TRPC_SUBSCRIPTIONS_TABLE_NAME');
    expect(env).not.toHaveProperty('AWS_ENDPOINT_URL_DYNAMODB');
  });

  test('the environment file: one KEY=value line each, quoted only when needed', () => {
    expect(formatEnvFile({ A: 'http://127.0.0.1:1/prod', B: 'two words', C: '' })).toBe("A=http://127.0.0.1:1/prod\nB='two words'\nC=\n");
  });

  test('the export line quotes only what a shell needs quoted', () => {
    expect(formatExportLine({ A: 'http://127.0.0.1:1/prod', B: "it's here", C: '' })).toBe(
      "export A=http://127.0.0.1:1/prod B='it'\\''s here' C=",
    );
  });
});

describe('error lines', () => {
  test('name, first line of the message and the first frame of the app, relative to the working directory', () => {
    const error = new TypeError('x is not a function\nmore detail');
    error.stack = `TypeError: x is not a function\n    at f (node:internal/x:1:1)\n    at g (${process.cwd()}/node_modules/lib/a.js:2:2)\n    at h (${process.cwd()}/src/app.ts:3:4)`;
    expect(describeErrorLine(error)).toBe('TypeError: x is not a function … (src/app.ts:3:4)');
  });

  test('a plain Error shows its message only; anything else its string form', () => {
    const error = new Error('boom');
    error.stack = 'Error: boom';
    expect(describeErrorLine(error)).toBe('boom');
    expect(describeErrorLine('text')).toBe('text');
  });
});

describe('loadHandlers', () => {
  test('bundles the entry and lists the project files it is built from', async () => {
    const { handlers, files } = await loadHandlers(join(FIXTURE, 'handlers.ts'));
    expect(files.sort()).toEqual([join(FIXTURE, 'handlers.ts'), join(FIXTURE, 'reply.ts')]);
    const result = await handlers.handler({ body: 'x', requestContext: { connectionId: 'c' } }, {} as never, () => undefined);
    expect(result).toEqual({ statusCode: 200, body: 'v1:x' });
  });

  test('export names can be chosen', async () => {
    const { handlers } = await loadHandlers(join(FIXTURE, 'handlers.ts'), { connect: 'handler', disconnect: 'connect' });
    expect(await handlers.connect({ body: 'y', requestContext: { connectionId: 'c' } }, {} as never, () => undefined)).toEqual({ statusCode: 200, body: 'v1:y' });
  });

  test('a module that throws while loading gives a HandlersLoadError: one line, what it threw as the cause', async () => {
    const error = await loadHandlers(join(FIXTURE, 'throws.ts')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HandlersLoadError);
    expect((error as Error).message).toMatch(/threw while loading: configuration missing \(\S*throws\.ts:\d+:\d+\)$/);
    expect(((error as Error).cause as Error).stack).toContain('configuration missing');
  });

  test('a missing entry gives a HandlersLoadError naming it', async () => {
    const error = await loadHandlers(join(FIXTURE, 'nope.ts')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HandlersLoadError);
    expect((error as Error).message).toContain('nope.ts');
  });
});
