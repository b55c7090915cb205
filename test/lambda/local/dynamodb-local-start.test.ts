import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBLocalError, startDynamoDBLocal, type DynamoDBLocal } from '../../../lambda/local';

/**
 * Starting DynamoDB Local on a busy machine: a free port for 0, a port someone else holds refused
 * before Java starts (never shared), a slow JVM reported and waited for up to a configurable
 * deadline, and Java named only when it is missing. Real Java; a slow start is the real JVM behind
 * a `java` on the PATH that sleeps first, in a process of its own (the PATH of a child process is
 * the real environment's, which a jest test cannot change).
 */
jest.setTimeout(120_000);

const ROOT = resolvePath(__dirname, '../../..');
const REAL_JAVA = execFileSync('sh', ['-c', 'command -v java'], { encoding: 'utf8' }).trim();
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A directory whose `java` answers `-version` at once and starts the real JVM `delaySeconds` late. */
function slowJavaDir(delaySeconds: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'slow-java-'));
  // exec: the JVM replaces the shell, so stopping the process stops Java.
  writeFileSync(join(dir, 'java'), `#!/bin/sh\n[ "$1" = "-version" ] || sleep ${delaySeconds}\nexec ${REAL_JAVA} "$@"\n`);
  chmodSync(join(dir, 'java'), 0o755);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** What `startDynamoDBLocal(options)` did in a process with this PATH. */
interface StartOutcome {
  readonly port?: number;
  readonly progress: number[];
  readonly error?: { readonly name: string; readonly reason: string; readonly message: string };
}

/** Runs `startDynamoDBLocal` (then `stop()`) in a node process whose PATH is `path`. */
function startInProcess(path: string, options: Record<string, unknown>): Promise<StartOutcome> {
  const script = `
    const { startDynamoDBLocal } = require('./lambda/local');
    const progress = [];
    startDynamoDBLocal({ ...${JSON.stringify(options)}, onProgress: (ms) => progress.push(ms) }).then(
      async (d) => { const port = d.port; await d.stop(); console.log(JSON.stringify({ port, progress })); },
      (e) => console.log(JSON.stringify({ progress, error: { name: e.name, reason: e.reason, message: e.message } })),
    );`;
  const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), '-e', script], {
    cwd: ROOT,
    env: { ...process.env, PATH: path, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return new Promise((done, fail) => child.once('exit', () => {
    try {
      done(JSON.parse(out) as StartOutcome);
    } catch {
      fail(new Error(`no outcome\nstdout: ${out}\nstderr: ${err}`));
    }
  }));
}

async function started(options: Parameters<typeof startDynamoDBLocal>[0]): Promise<DynamoDBLocal> {
  const dynamodb = await startDynamoDBLocal(options);
  cleanups.push(() => dynamodb.stop());
  return dynamodb;
}

/** An HTTP server that answers every request as DynamoDB answers ListTables. */
async function impostor(): Promise<Server> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end('{"TableNames":["someone-elses"]}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return server;
}

test('port 0 picks a free port', async () => {
  const dynamodb = await started({ port: 0, fastStart: true });

  expect(dynamodb.port).toBeGreaterThan(0);
  expect(dynamodb.endpoint).toBe(`http://127.0.0.1:${dynamodb.port}`);
  expect((await dynamodb.client.send(new ListTablesCommand({}))).TableNames).toEqual([]);
});

test('a port another process holds is refused before Java starts, never shared', async () => {
  // It even answers like DynamoDB: a readiness probe alone would take it for ours.
  const port = (((await impostor()).address()) as AddressInfo).port;

  const error = await startDynamoDBLocal({ port }).catch((e: unknown) => e);

  expect(error).toBeInstanceOf(DynamoDBLocalError);
  expect(error).toMatchObject({ reason: 'port-in-use', port, message: `Port ${port} is already in use by another process, so DynamoDB Local cannot listen on it.` });
});

test('a slow JVM: progress while it starts, then it answers within the deadline', async () => {
  const outcome = await startInProcess(`${slowJavaDir(3)}:${process.env.PATH}`, { fastStart: true, progressIntervalMs: 1_000 });

  expect(outcome.error).toBeUndefined();
  expect(outcome.port).toBeGreaterThan(0);
  // At least the three seconds the JVM slept, reported each second.
  expect(outcome.progress.length).toBeGreaterThanOrEqual(3);
  expect(outcome.progress[0]).toBeGreaterThanOrEqual(1_000);
});

test('a JVM slower than the deadline: a timeout naming the port and the deadline, not Java', async () => {
  const outcome = await startInProcess(`${slowJavaDir(30)}:${process.env.PATH}`, { startTimeoutMs: 1_500 });

  expect(outcome.error).toMatchObject({ name: 'DynamoDBLocalError', reason: 'timeout' });
  expect(outcome.error?.message).toMatch(/^DynamoDB Local did not answer on port \d+ within 2 s \(last attempt: .+\)\.$/);
  expect(outcome.error?.message).not.toMatch(/Java|Install/);
});

test('Java missing: the error says so, and how to install it', async () => {
  // A PATH with node but no java.
  const nodeOnly = mkdtempSync(join(tmpdir(), 'no-java-'));
  cleanups.push(() => rmSync(nodeOnly, { recursive: true, force: true }));

  const outcome = await startInProcess(nodeOnly, {});

  expect(outcome.error).toMatchObject({ name: 'DynamoDBLocalError', reason: 'java-not-found' });
  expect(outcome.error?.message).toContain('DynamoDB Local needs Java 17 or newer on the PATH, and `java -version` did not run (spawnSync java ENOENT)');
  expect(outcome.error?.message).toContain('openjdk-17-jre-headless');
});
