import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connectClient, type TestClient } from './helpers';
import { findFreePort } from '../../../lambda/local/dynamodb-local';

const ROOT = resolve(__dirname, '../../..');
const CLI = join(ROOT, 'lambda/local/cli.ts');
const FIXTURE = join(ROOT, 'test/fixtures/dev-app');
const TSX = require.resolve('tsx/cjs');

/** A `dev` process and what it printed. */
interface DevProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stdout. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

/** Run the CLI from source (tsx hook), like `npx cdk-trpc-subscriptions ...` runs lib/lambda/local/cli.js. */
function runDev(args: string[]): DevProcess {
  const child = spawn(process.execPath, ['--require', TSX, CLI, ...args], { cwd: ROOT, env: { ...process.env, NODE_NO_WARNINGS: '1' } });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: (pattern, timeoutMs = 45_000) =>
      new Promise((done, fail) => {
        const check = () => {
          const match = out.match(pattern);
          if (!match) return false;
          cleanup();
          done(match);
          return true;
        };
        const onExit = () => fail(new Error(`dev exited before printing ${pattern}\nstdout:\n${out}\nstderr:\n${err}`));
        const timer = setTimeout(() => {
          cleanup();
          fail(new Error(`dev did not print ${pattern} within ${timeoutMs} ms\nstdout:\n${out}\nstderr:\n${err}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          child.stdout.off('data', check);
          child.off('exit', onExit);
        };
        if (check()) return;
        child.stdout.on('data', check);
        child.once('exit', onExit);
      }),
  };
}

/** A private copy of the fixture app (so a test may edit it) that still resolves node_modules. */
function copyFixture(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dev-app-'));
  cpSync(FIXTURE, dir, { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

describe('cdk-trpc-subscriptions dev', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  function start(args: string[]): DevProcess {
    const dev = runDev(args);
    cleanups.push(() => {
      if (dev.child.exitCode === null && dev.child.signalCode === null) dev.child.kill('SIGKILL');
    });
    return dev;
  }

  function fixture(): string {
    const dir = copyFixture();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  async function connect(dev: DevProcess): Promise<TestClient> {
    const [url] = await dev.waitFor(/ws:\/\/127\.0\.0\.1:\d+/);
    await dev.waitFor(/Press Ctrl-C to stop/);
    return connectClient(url);
  }

  test('--help prints the usage and exits 0; bad arguments exit 2 with the reason', () => {
    const run = (args: string[]) => spawnSync(process.execPath, ['--require', TSX, CLI, ...args], { cwd: ROOT, encoding: 'utf8' });

    const help = run(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: cdk-trpc-subscriptions dev <entry>');
    expect(help.stdout).toContain('--store <kind>');

    const noEntry = run(['dev']);
    expect(noEntry.status).toBe(2);
    expect(noEntry.stderr).toContain('Missing <entry>');

    const badStore = run(['dev', 'x.ts', '--store', 'redis']);
    expect(badStore.status).toBe(2);
    expect(badStore.stderr).toContain('`--store` must be `dynamodb` or `memory`, got: redis');

    const unknownFlag = run(['dev', 'x.ts', '--verbose']);
    expect(unknownFlag.status).toBe(2);
    expect(unknownFlag.stderr).toContain("Unknown option '--verbose'");

    const badDynamoDBPort = run(['dev', 'x.ts', '--dynamodb-port', 'abc']);
    expect(badDynamoDBPort.status).toBe(2);
    expect(badDynamoDBPort.stderr).toContain('`--dynamodb-port` must be an integer from 0 to 65535, got: abc');

    const version = run(['--version']);
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });

  test('a missing entry fails before DynamoDB Local starts (exit 1)', () => {
    const missing = spawnSync(process.execPath, ['--require', TSX, CLI, 'dev', 'no/such/handlers.ts', '--port', '0', '--dynamodb-port', '0'], { cwd: ROOT, encoding: 'utf8' });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('Entry not found: no/such/handlers.ts');
    expect(missing.stdout).not.toContain('Starting DynamoDB Local');
  });

  test('--store memory: serves the entry, wires the environment, reloads on change and exits 0 on SIGINT', async () => {
    const dir = fixture();
    const dev = start(['dev', join(dir, 'handlers.ts'), '--port', '0', '--store', 'memory', '--stage', 'local']);
    const client = await connect(dev);
    const [, endpoint] = (await dev.waitFor(/management\s+(\S+)/)) as RegExpMatchArray;
    expect(dev.stdout()).toContain('TRPC_SUBSCRIPTIONS_STORE=memory');
    // A script in another process would see an empty store: no export line that cannot work.
    expect(dev.stdout()).not.toContain('export ');
    expect(dev.stdout()).toContain('run with the default `--store dynamodb`');

    client.socket.send('hello');
    expect(await client.next()).toBe('v1:hello');
    client.socket.send('env');
    expect(JSON.parse(await client.next())).toEqual({ store: 'memory', table: null, endpoint });
    client.socket.send('post');
    expect(await client.next()).toBe('posted');

    // Edit an imported file: the handlers reload and the open connection keeps working.
    writeFileSync(join(dir, 'reply.ts'), 'export const reply = (text: string): string => `v2:${text}`;\n');
    await dev.waitFor(/Reloaded /);
    client.socket.send('hello');
    expect(await client.next()).toBe('v2:hello');

    // A broken edit keeps the previous handlers and says why.
    writeFileSync(join(dir, 'reply.ts'), 'export const reply = (text: string): string => `v3:${text}`\n  oops(;\n');
    await new Promise<void>((done) => {
      const poll = setInterval(() => dev.stderr().includes('Reload failed') && (clearInterval(poll), done()), 50);
    });
    expect(dev.stderr()).toMatch(/ERROR\] Unexpected[\s\S]*reply\.ts:2:\d+/);
    client.socket.send('hello');
    expect(await client.next()).toBe('v2:hello');

    dev.child.kill('SIGINT');
    expect(await client.closed).toEqual({ code: 1001, reason: 'Going away' });
    expect(await dev.exited).toEqual({ code: 0, signal: null });
    expect(dev.stdout()).toContain('Stopped.');
  });

  test('with DynamoDB Local: the table exists, and a separate script with the printed exports publishes unchanged', async () => {
    const dir = fixture();
    const dynamodbPort = await findFreePort();
    const dev = start(['dev', join(dir, 'handlers.ts'), '--port', '0', '--table-name', 'dev-test', '--dynamodb-port', String(dynamodbPort)]);
    const client = await connect(dev);

    client.socket.send('table');
    const [, connectionId] = (await client.next(20_000)).match(/^table:ok:(.+)$/) ?? [];
    expect(connectionId).toBeDefined();

    // The "publish script": only PATH and the printed exports, default SDK clients.
    const [, exports] = (await dev.waitFor(/^ {2}export (.+)$/m)) as RegExpMatchArray;
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', NODE_NO_WARNINGS: '1' };
    for (const pair of exports.split(' ')) {
      const [name, ...value] = pair.split('=');
      env[name] = value.join('=');
    }
    expect(env).toMatchObject({ TRPC_SUBSCRIPTIONS_TABLE_NAME: 'dev-test', AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${dynamodbPort}` });
    const script = `
      const { DynamoDBClient, GetItemCommand } = require('@aws-sdk/client-dynamodb');
      const { ApiGatewayManagementApiClient, PostToConnectionCommand } = require('@aws-sdk/client-apigatewaymanagementapi');
      (async () => {
        const key = { pk: { S: 'probe#' + process.argv[1] }, sk: { S: 'probe' } };
        const { Item } = await new DynamoDBClient({}).send(new GetItemCommand({ TableName: process.env.TRPC_SUBSCRIPTIONS_TABLE_NAME, Key: key }));
        const data = new TextEncoder().encode('published:' + Item.connectionId.S);
        await new ApiGatewayManagementApiClient({ endpoint: process.env.TRPC_SUBSCRIPTIONS_ENDPOINT }).send(new PostToConnectionCommand({ ConnectionId: process.argv[1], Data: data }));
      })().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });`;
    const publish = spawnSync(process.execPath, ['-e', script, connectionId], { cwd: ROOT, env, encoding: 'utf8' });
    expect({ status: publish.status, stderr: publish.stderr }).toEqual({ status: 0, stderr: '' });
    expect(await client.next()).toBe(`published:${connectionId}`);

    dev.child.kill('SIGTERM');
    expect(await dev.exited).toEqual({ code: 0, signal: null });
  });

  test('a dev killed with SIGKILL does not leave DynamoDB Local running: its watchdog stops it', async () => {
    const dynamodbPort = await findFreePort();
    const dev = start(['dev', join(FIXTURE, 'handlers.ts'), '--port', '0', '--dynamodb-port', String(dynamodbPort)]);
    await dev.waitFor(/WebSocket\s+ws:/);
    const answers = () => new Promise<boolean>((done) => {
      const socket = netConnect(dynamodbPort, '127.0.0.1', () => (socket.destroy(), done(true)));
      socket.on('error', () => done(false));
    });
    expect(await answers()).toBe(true);
    dev.child.kill('SIGKILL');
    await dev.exited;
    const deadline = Date.now() + 15_000;
    while ((await answers()) && Date.now() < deadline) await new Promise((done) => setTimeout(done, 200));
    expect(await answers()).toBe(false);
  });

  test('an entry without the expected exports fails to start with a clear message (exit 1)', async () => {
    const dev = start(['dev', join(FIXTURE, 'broken.ts'), '--port', '0', '--store', 'memory']);
    expect(await dev.exited).toEqual({ code: 1, signal: null });
    expect(dev.stderr()).toContain('must export a function `disconnect` for $disconnect, got: string');
    expect(dev.stderr()).toContain('--disconnect <name>');
  });
});
