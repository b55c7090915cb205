import { execFileSync, spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connectClient, type TestClient } from './helpers';

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

/** How a test runs `dev`. */
interface RunOptions {
  /** Working directory (where the environment file is written). */
  readonly cwd?: string;
  /** Added to the environment. */
  readonly env?: Record<string, string>;
  /**
   * In a process group of its own, as a terminal runs a command: `interrupt()` then sends SIGINT
   * to the whole group, as Ctrl+C does.
   */
  readonly group?: boolean;
}

/** Run the CLI from source (tsx hook), like `npx cdk-trpc-subscriptions ...` runs lib/lambda/local/cli.js. */
function runDev(args: string[], options: RunOptions = {}): DevProcess {
  const child = spawn(process.execPath, ['--require', TSX, CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, NODE_NO_WARNINGS: '1', ...options.env },
    detached: options.group ?? false,
  });
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

  function start(args: string[], options: RunOptions = {}): DevProcess {
    const dev = runDev(args, options);
    cleanups.push(() => {
      if (dev.child.exitCode === null && dev.child.signalCode === null) dev.child.kill('SIGKILL');
    });
    return dev;
  }

  function tempDir(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  /** A server on a free port that answers every request as DynamoDB answers ListTables. */
  async function portHeldByAnotherProcess(): Promise<number> {
    const server: Server = createHttpServer((_request, response) => response.writeHead(200).end('{"TableNames":[]}'));
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    cleanups.push(() => server.close());
    return (server.address() as AddressInfo).port;
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

    const unknownFlag = run(['dev', 'x.ts', '--loud']);
    expect(unknownFlag.status).toBe(2);
    expect(unknownFlag.stderr).toContain("Unknown option '--loud'");

    const badDynamoDBPort = run(['dev', 'x.ts', '--dynamodb-port', 'abc']);
    expect(badDynamoDBPort.status).toBe(2);
    expect(badDynamoDBPort.stderr).toContain('`--dynamodb-port` must be an integer from 0 to 65535, got: abc');

    const badTimeout = run(['dev', 'x.ts', '--dynamodb-timeout', '0']);
    expect(badTimeout.status).toBe(2);
    expect(badTimeout.stderr).toContain('`--dynamodb-timeout` must be a positive number of seconds, got: 0');

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
    expect(dev.stdout()).toMatch(/\nStopped: 1 connection closed\.\n$/);
  });

  test('a handler error is one line naming the handler, the error and where it was thrown; --verbose adds the stack', async () => {
    for (const verbose of [false, true]) {
      const dev = start(['dev', join(FIXTURE, 'handlers.ts'), '--port', '0', '--store', 'memory', ...(verbose ? ['--verbose'] : [])]);
      const client = await connect(dev);
      client.socket.send('throw');
      expect(JSON.parse(await client.next())).toMatchObject({ message: 'Internal server error' });
      await new Promise<void>((done) => {
        const poll = setInterval(() => dev.stderr().includes('boom') && (clearInterval(poll), done()), 50);
      });
      const [line, ...rest] = dev.stderr().trim().split('\n');
      if (verbose) {
        expect(line).toMatch(/^\d\d:\d\d:\d\d ✗ \$default handler failed for \S+$/);
        expect(rest[0]).toBe('Error: boom');
        expect(rest[1]).toMatch(/^\s+at .*handlers\.ts:\d+:\d+/);
      } else {
        expect(line).toMatch(/^\d\d:\d\d:\d\d ✗ \$default handler failed for \S+: boom \(\S*handlers\.ts:\d+:\d+\)$/);
        expect(rest).toEqual([]);
      }
      dev.child.kill('SIGINT');
      await dev.exited;
    }
  });

  test('with DynamoDB Local on a free port: the table exists, and a script run with the written environment file publishes unchanged', async () => {
    const dir = fixture();
    const dev = start(['dev', join(dir, 'handlers.ts'), '--port', '0', '--table-name', 'dev-test', '--dynamodb-port', '0'], { cwd: dir });
    const client = await connect(dev);

    client.socket.send('table');
    const [, connectionId] = (await client.next(20_000)).match(/^table:ok:(.+)$/) ?? [];
    expect(connectionId).toBeDefined();

    // What the banner tells the user to run, and the file it names.
    const [, envFile] = (await dev.waitFor(/^ {2}npx tsx --env-file=(\S+) publish\.ts$/m)) as RegExpMatchArray;
    expect(envFile).toBe('.cdk-trpc-subscriptions.env');
    const written = readFileSync(join(dir, envFile), 'utf8');
    expect(written).toMatch(/^TRPC_SUBSCRIPTIONS_TABLE_NAME=dev-test$/m);
    expect(written).toMatch(/^AWS_ENDPOINT_URL_DYNAMODB=http:\/\/127\.0\.0\.1:(?!0\n)\d+$/m);
    expect(written).toMatch(/^TRPC_SUBSCRIPTIONS_METRICS=off$/m);

    // The "publish script": only PATH and the file, loaded by Node.js itself; default SDK clients.
    const script = `
      const { DynamoDBClient, GetItemCommand } = require('@aws-sdk/client-dynamodb');
      const { ApiGatewayManagementApiClient, PostToConnectionCommand } = require('@aws-sdk/client-apigatewaymanagementapi');
      (async () => {
        const key = { pk: { S: 'probe#' + process.argv[1] }, sk: { S: 'probe' } };
        const { Item } = await new DynamoDBClient({}).send(new GetItemCommand({ TableName: process.env.TRPC_SUBSCRIPTIONS_TABLE_NAME, Key: key }));
        const data = new TextEncoder().encode('published:' + Item.connectionId.S);
        await new ApiGatewayManagementApiClient({ endpoint: process.env.TRPC_SUBSCRIPTIONS_ENDPOINT }).send(new PostToConnectionCommand({ ConnectionId: process.argv[1], Data: data }));
      })().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });`;
    const env = { PATH: process.env.PATH ?? '', NODE_NO_WARNINGS: '1' };
    const publish = spawnSync(process.execPath, [`--env-file=${envFile}`, '-e', script, connectionId], { cwd: dir, env, encoding: 'utf8' });
    expect({ status: publish.status, stderr: publish.stderr }).toEqual({ status: 0, stderr: '' });
    expect(await client.next()).toBe(`published:${connectionId}`);

    dev.child.kill('SIGTERM');
    expect(await dev.exited).toEqual({ code: 0, signal: null });
    // Removed on exit: a script run later fails to find it instead of reaching a dead endpoint.
    expect(existsSync(join(dir, envFile))).toBe(false);
  });

  test('Ctrl+C with open clients: every $disconnect runs (and reaches DynamoDB Local) before it stops, and only the goodbye is printed', async () => {
    const dir = fixture();
    const log = join(tempDir('disconnects-'), 'log');
    writeFileSync(log, '');
    const dev = start(['dev', join(dir, 'handlers.ts'), '--port', '0', '--dynamodb-port', '0'], {
      cwd: dir,
      group: true,
      env: { DEV_TEST_DISCONNECT_LOG: log, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    const first = await connect(dev);
    const second = await connectClient(first.socket.url);
    first.socket.send('table');
    const [, firstId] = (await first.next(20_000)).match(/^table:ok:(.+)$/) ?? [];
    second.socket.send('table');
    const [, secondId] = (await second.next(20_000)).match(/^table:ok:(.+)$/) ?? [];
    await dev.waitFor(new RegExp(`${secondId.replace(/[+=/]/g, '.')} connected`));
    const printed = dev.stdout().length;

    // Ctrl+C: the terminal signals the whole process group; npm, npx and tsx forward it once more.
    process.kill(-dev.child.pid!, 'SIGINT');
    setTimeout(() => dev.child.kill('SIGINT'), 50);

    expect(await dev.exited).toEqual({ code: 0, signal: null });
    expect(readFileSync(log, 'utf8').split('\n').filter(Boolean).sort()).toEqual([`${firstId} ok`, `${secondId} ok`].sort());
    expect(dev.stdout().slice(printed)).toBe('\nStopped: 2 connections closed, DynamoDB Local stopped.\n');
    expect(dev.stderr()).toBe('');
    expect(await first.closed).toEqual({ code: 1001, reason: 'Going away' });
  });

  test('ports another process holds: one line saying which and what to do, before DynamoDB Local starts', async () => {
    const held = await portHeldByAnotherProcess();

    const gatewayPort = spawnSync(process.execPath, ['--require', TSX, CLI, 'dev', join(FIXTURE, 'handlers.ts'), '--port', String(held)], { cwd: ROOT, encoding: 'utf8' });
    expect(gatewayPort.status).toBe(1);
    expect(gatewayPort.stderr.trim()).toBe(`✗ Port ${held} is in use by another process (another \`dev\`?): pass another with --port (0 picks a free one), or stop that process.`);
    expect(gatewayPort.stdout).not.toContain('Starting DynamoDB Local');

    // A second `dev` must not share the first one's DynamoDB Local (this one even answers like it).
    const dynamodbPort = spawnSync(process.execPath, ['--require', TSX, CLI, 'dev', join(FIXTURE, 'handlers.ts'), '--port', '0', '--dynamodb-port', String(held)], { cwd: ROOT, encoding: 'utf8' });
    expect(dynamodbPort.status).toBe(1);
    expect(dynamodbPort.stderr.trim()).toBe(
      `✗ DynamoDB Local's port ${held} is in use by another process (another \`dev\`?): pass another with --dynamodb-port (0 picks a free one), or stop that process.`,
    );
  });

  test('a slow JVM start: progress lines, and a deadline that names --dynamodb-timeout, not Java', async () => {
    const slowJava = tempDir('slow-java-');
    const realJava = execFileSync('sh', ['-c', 'command -v java'], { encoding: 'utf8' }).trim();
    writeFileSync(join(slowJava, 'java'), `#!/bin/sh\n[ "$1" = "-version" ] || sleep 30\nexec ${realJava} "$@"\n`);
    chmodSync(join(slowJava, 'java'), 0o755);

    const dev = start(['dev', join(FIXTURE, 'handlers.ts'), '--port', '0', '--dynamodb-port', '0', '--dynamodb-timeout', '6'], {
      env: { PATH: `${slowJava}:${process.env.PATH}` },
    });

    expect(await dev.exited).toEqual({ code: 1, signal: null });
    expect(dev.stdout()).toMatch(/^\d\d:\d\d:\d\d Starting DynamoDB Local…\n\d\d:\d\d:\d\d DynamoDB Local is still starting \(5 s\)…\n$/);
    const [message, hint, ...rest] = dev.stderr().trim().split('\n');
    expect(message).toMatch(/^✗ DynamoDB Local did not answer on port \d+ within 6 s \(last attempt: .+\)\.$/);
    expect(hint).toBe('A cold JVM on a busy machine can take longer: wait longer with --dynamodb-timeout <seconds> (now 6).');
    expect(rest).toEqual([]);
    expect(dev.stderr()).not.toMatch(/Java 17|--store memory/);
  });

  test('a dev killed with SIGKILL does not leave DynamoDB Local running: its watchdog stops it', async () => {
    const dev = start(['dev', join(FIXTURE, 'handlers.ts'), '--port', '0', '--dynamodb-port', '0'], { cwd: tempDir('dev-cwd-') });
    const [, dynamodbPort] = (await dev.waitFor(/DynamoDB Local http:\/\/127\.0\.0\.1:(\d+)/)).map(Number);
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
