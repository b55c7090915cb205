import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseDevArgs, USAGE, type DevCommand } from './dev-args';
import { startDevServer, type DevServer } from './dev-server';
import { DynamoDBLocalError } from './dynamodb-local';
import { writeEnvFile, type WrittenEnvFile } from './env-file';
import { describeErrorLine } from './error-line';
import { HandlersLoadError } from './load-handlers';
import { describeError, type LocalLogger } from './logger';
import { PortInUseError } from './ports';

/** Where the CLI writes. */
export interface CliOutput {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/**
 * A second signal this soon after the first is the same Ctrl+C: the terminal sends it to the
 * whole process group, and npm, npx and tsx forward it to this process once more.
 */
const REPEATED_SIGNAL_MS = 2_000;

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
  const logger = cliLogger(output, parsed.verbose);
  let server: DevServer;
  try {
    server = await startDevServer({
      entry: parsed.entry,
      port: parsed.port,
      stage: parsed.stage,
      store: parsed.store,
      tableName: parsed.tableName,
      dynamodbPort: parsed.dynamodbPort,
      dynamodbStartTimeoutMs: parsed.dynamodbTimeoutMs,
      exportNames: parsed.exportNames,
      unordered: parsed.unordered,
      logger,
    });
  } catch (error) {
    output.stderr.write(`\n✗ ${startFailure(error, parsed)}\n`);
    return 1;
  }
  let envFile: WrittenEnvFile | undefined;
  if (parsed.store === 'dynamodb') {
    try {
      envFile = writeEnvFile(parsed.envFile, server.env);
    } catch (error) {
      logger.warn(`Cannot write ${parsed.envFile} (${describeErrorLine(error)}): scripts in other terminals need the environment printed below.`);
    }
  }
  output.stdout.write(banner(parsed, server, envFile));

  let stoppingSince: number | undefined;
  const stop = (signal: NodeJS.Signals) => {
    if (stoppingSince !== undefined) {
      if (Date.now() - stoppingSince < REPEATED_SIGNAL_MS) return;
      output.stderr.write(`${signal} again: exiting without cleanup\n`);
      process.exit(1);
    }
    stoppingSince = Date.now();
    // What happened before the signal is still printed (a publish's line waits for more of its
    // deliveries); only the goodbye from here on: the closing connections are not news. Errors still show.
    server.flushActivity();
    logger.quiet();
    const connections = server.connections().length;
    server.close().then(
      () => {
        envFile?.remove();
        output.stdout.write(`\n${goodbye(connections, server)}\n`);
        process.exit(0);
      },
      (error: unknown) => {
        envFile?.remove();
        output.stderr.write(`\n✗ Shutdown failed: ${parsed.verbose ? describeError(error) : describeErrorLine(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return undefined;
}

function goodbye(connections: number, server: DevServer): string {
  const closed = `${connections} connection${connections === 1 ? '' : 's'} closed`;
  return `Stopped: ${closed}${server.dynamodbEndpoint ? ', DynamoDB Local stopped' : ''}.`;
}

/** One paragraph: what went wrong and what to do about it; a stack only with `--verbose`. */
function startFailure(error: unknown, command: DevCommand): string {
  if (error instanceof HandlersLoadError) return command.verbose && error.cause !== undefined ? `${error.message}\n${describeError(error.cause)}` : error.message;
  if (error instanceof PortInUseError) return error.message;
  if (error instanceof DynamoDBLocalError) {
    switch (error.reason) {
      case 'java-not-found':
        return `${error.message}\nOr run without Java, with the in-memory store: --store memory.`;
      case 'port-in-use':
        return new PortInUseError(error.port ?? command.dynamodbPort, '--dynamodb-port').message.replace(/^Port/, "DynamoDB Local's port");
      case 'timeout':
        return `${error.message}\nA cold JVM on a busy machine can take longer: wait longer with --dynamodb-timeout <seconds> (now ${command.dynamodbTimeoutMs / 1000}).`;
      default:
        return error.message;
    }
  }
  if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') return new PortInUseError(command.port, '--port').message;
  return command.verbose ? describeError(error) : describeErrorLine(error);
}

function banner(command: DevCommand, server: DevServer, envFile: WrittenEnvFile | undefined): string {
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
    ...publishHint(command, server, envFile),
    '',
    `Watching ${server.files().length} file(s) for changes. Press Ctrl-C to stop.`,
    '',
    '',
  ].join('\n');
}

/**
 * How to publish from elsewhere. The memory store lives in this process only: a script in another
 * process would see an empty store (every publish `matched: 0`), so no environment is offered.
 */
function publishHint(command: DevCommand, server: DevServer, envFile: WrittenEnvFile | undefined): string[] {
  if (command.store === 'memory') {
    return [
      'The memory store lives in this process: publish from the handlers (e.g. in a mutation).',
      'To publish from a script in another terminal, run with the default `--store dynamodb`.',
    ];
  }
  if (!envFile) {
    return ['To publish from a script in another terminal, set the same environment first:', `  ${formatExportLine(server.env)}`];
  }
  return [
    `To publish from a script in another terminal, load the environment ${envFile.path} holds:`,
    `  npx tsx --env-file=${envFile.path} publish.ts`,
  ];
}

/** `export A=1 B=2` for a POSIX shell, quoting values that need it. */
export function formatExportLine(env: Readonly<Record<string, string>>): string {
  const quote = (value: string) => (/^[\w@%+=:,./-]*$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`);
  return `export ${Object.entries(env)
    .map(([name, value]) => `${name}=${quote(value)}`)
    .join(' ')}`;
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

/** The `dev` command's logger: times, one line per error (stacks with `--verbose`), and a quiet mode. */
function cliLogger(output: CliOutput, verbose: boolean): LocalLogger & { quiet(): void } {
  const time = () => new Date().toISOString().slice(11, 19);
  let quiet = false;
  return {
    debug: (message) => {
      if (verbose && !quiet) output.stdout.write(`${time()} ${message}\n`);
    },
    info: (message) => {
      if (!quiet) output.stdout.write(`${time()} ${message}\n`);
    },
    warn: (message) => output.stderr.write(`${time()} ⚠ ${message}\n`),
    error: (message, error) => {
      if (error === undefined) output.stderr.write(`${time()} ✗ ${message}\n`);
      else if (verbose) output.stderr.write(`${time()} ✗ ${message}\n${describeError(error)}\n`);
      else output.stderr.write(`${time()} ✗ ${message}: ${describeErrorLine(error)}\n`);
    },
    quiet: () => {
      quiet = true;
    },
  };
}
