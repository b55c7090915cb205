import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseDevArgs, USAGE, type DevCommand } from './dev-args';
import { formatExportLine, startDevServer, type DevServer } from './dev-server';
import { HandlersLoadError } from './load-handlers';
import { describeError, type LocalLogger } from './logger';

/** Where the CLI writes. */
export interface CliOutput {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/**
 * Run `cdk-trpc-subscriptions` with `argv`. Resolves with an exit code when the command is over
 * (help, usage error, failed start), or with `undefined` while the dev server runs; it then exits
 * the process on SIGINT/SIGTERM after a clean shutdown (0) or a failed one (1).
 */
export async function runCli(argv: readonly string[], output: CliOutput = process): Promise<number | undefined> {
  const parsed = parseDevArgs(argv);
  if (parsed.command === 'help') {
    output.stdout.write(USAGE);
    return 0;
  }
  if (parsed.command === 'version') {
    output.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  if (parsed.command === 'error') {
    output.stderr.write(`${parsed.message}\n\n${USAGE}`);
    return 2;
  }
  const logger = cliLogger(output);
  let server: DevServer;
  try {
    server = await startDevServer({ ...parsed, logger });
  } catch (error) {
    output.stderr.write(`\n✗ ${startFailure(error, parsed)}\n`);
    return 1;
  }
  output.stdout.write(banner(parsed, server));

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      output.stderr.write(`${signal} again: exiting without cleanup\n`);
      process.exit(1);
    }
    stopping = true;
    output.stdout.write(`\n${signal}: stopping (closing connections${server.dynamodbEndpoint ? ', stopping DynamoDB Local' : ''})…\n`);
    server.close().then(
      () => {
        output.stdout.write('Stopped.\n');
        process.exit(0);
      },
      (error: unknown) => {
        output.stderr.write(`Shutdown failed: ${describeError(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return undefined;
}

function startFailure(error: unknown, command: DevCommand): string {
  if (error instanceof HandlersLoadError) return error.message;
  const message = describeError(error);
  if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    return `Port ${command.port} is in use: pass another with --port (0 picks a free one).\n${message}`;
  }
  return message;
}

function banner(command: DevCommand, server: DevServer): string {
  const store = server.dynamodbEndpoint
    ? `DynamoDB Local ${server.dynamodbEndpoint}, table ${command.tableName}`
    : 'in memory (TRPC_SUBSCRIPTIONS_STORE=memory; a separate process cannot see it)';
  const names = command.exportNames;
  return [
    '',
    'cdk-trpc-subscriptions dev',
    `  entry       ${command.entry} ($connect: ${names.connect}, $default: ${names.handler}, $disconnect: ${names.disconnect})`,
    `  store       ${store}`,
    `  WebSocket   ${server.url}`,
    `  management  ${server.endpoint}`,
    ...(server.consoleUrl ? [`  console     ${server.consoleUrl}`] : []),
    '',
    ...publishHint(command, server),
    '',
    `Watching ${server.files().length} file(s) for changes. Press Ctrl-C to stop.`,
    '',
    '',
  ].join('\n');
}

/**
 * How to publish from elsewhere. The memory store lives in this process only: a script in another
 * process would see an empty store (every publish `matched: 0`), so no export line is printed.
 */
function publishHint(command: DevCommand, server: DevServer): string[] {
  if (command.store === 'memory') {
    return [
      'The memory store lives in this process: publish from the handlers (e.g. in a mutation).',
      'To publish from a script in another terminal, run with the default `--store dynamodb`.',
    ];
  }
  return [
    'To publish from a script in another terminal, set the same environment first:',
    `  ${formatExportLine(server.env)}`,
  ];
}

/** This package's version, from the nearest package.json named `cdk-trpc-subscriptions`. */
function packageVersion(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'cdk-trpc-subscriptions') return manifest.version ?? 'unknown';
    } catch {
      // no package.json here
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}

function cliLogger(output: CliOutput): LocalLogger {
  const time = () => new Date().toISOString().slice(11, 19);
  return {
    debug: () => undefined,
    info: (message) => output.stdout.write(`${time()} ${message}\n`),
    warn: (message) => output.stderr.write(`${time()} ⚠ ${message}\n`),
    error: (message, error) => output.stderr.write(`${time()} ✗ ${message}${error === undefined ? '' : `\n${describeError(error)}`}\n`),
  };
}
