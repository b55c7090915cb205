/**
 * Where the runtime reports problems that have no client to go to. A Powertools `Logger`
 * (`@aws-lambda-powertools/logger`) is one, as is any object with these methods.
 */
export interface Logger {
  /** Failures: a handler error, a failed delivery, an `onError` that threw. */
  error(message: string, ...details: Array<Record<string, unknown>>): void;
  /** Recoverable oddities: a subscription for a connection that is gone. */
  warn(message: string, ...details: Array<Record<string, unknown>>): void;
  /** Diagnostics. */
  debug?(message: string, ...details: Array<Record<string, unknown>>): void;
}

/** Log levels as Lambda and Powertools name them, least severe first. */
export const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL', 'SILENT'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

function parseLevel(value: string | undefined): number | undefined {
  const index = LOG_LEVELS.indexOf(value?.trim().toUpperCase() as LogLevel);
  return index < 0 ? undefined : index;
}

/**
 * The least severe level the default logger writes: `POWERTOOLS_LOG_LEVEL`, else the Lambda
 * function's log level (`AWS_LAMBDA_LOG_LEVEL`, set with advanced logging controls), else `WARN`;
 * never below `AWS_LAMBDA_LOG_LEVEL`, whose filter drops less severe lines anyway (Powertools'
 * rule: https://docs.powertools.aws.dev/lambda/typescript/latest/core/logger/#log-levels).
 */
export function logLevelFromEnvironment(env: Readonly<Record<string, string | undefined>>): LogLevel {
  const lambda = parseLevel(env.AWS_LAMBDA_LOG_LEVEL);
  const chosen = parseLevel(env.POWERTOOLS_LOG_LEVEL) ?? lambda ?? LOG_LEVELS.indexOf('WARN');
  return LOG_LEVELS[Math.max(chosen, lambda ?? 0)];
}

/**
 * The level at which a line written to stdout or stderr passes Lambda's log-level filter: with
 * the JSON log format and an application log level (`AWS_LAMBDA_LOG_LEVEL`), Lambda keeps a line
 * written outside the console methods only when its JSON `level` is at least that level, and
 * counts a line without a `level` (or without a valid RFC 3339 `timestamp`) as INFO. So: INFO,
 * raised to the function's level when that is higher.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html
 */
export function levelPassingLambdaFilter(env: Readonly<Record<string, string | undefined>>): LogLevel {
  const lambda = parseLevel(env.AWS_LAMBDA_LOG_LEVEL);
  return LOG_LEVELS[Math.max(LOG_LEVELS.indexOf('INFO'), Math.min(lambda ?? 0, LOG_LEVELS.indexOf('FATAL')))];
}

/** Keys of every line; a detail with one of these names is written as `detail<Name>`. */
const LINE_KEYS = new Set(['level', 'timestamp', 'source', 'message']);

function detailFields(details: ReadonlyArray<Record<string, unknown>>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of details.flatMap((detail) => Object.entries(detail))) {
    const name = LINE_KEYS.has(key) ? `detail${key[0].toUpperCase()}${key.slice(1)}` : key;
    fields[name] = value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value;
  }
  return fields;
}

/**
 * A logger writing one JSON line per entry at or above `level` (`{ level, timestamp, source,
 * message, ...details }`): CloudWatch Logs keeps each line as one event, and Lambda's log-level
 * filter reads its `level` and RFC 3339 `timestamp`. Never sent to clients.
 */
export function createJsonLogger(level: LogLevel, write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const at = (name: 'debug' | 'warn' | 'error') => {
    if (LOG_LEVELS.indexOf(name.toUpperCase() as LogLevel) < threshold) {
      return () => undefined;
    }
    return (message: string, ...details: Array<Record<string, unknown>>) => {
      const line = { level: name, timestamp: new Date().toISOString(), source: 'cdk-trpc-subscriptions', message, ...detailFields(details) };
      write(`${JSON.stringify(line)}\n`);
    };
  };
  return { error: at('error'), warn: at('warn'), debug: at('debug') };
}

let fromEnvironment: Logger | undefined;

/**
 * The default logger: JSON lines on stderr from the level the environment sets
 * ({@link logLevelFromEnvironment}; warnings and errors when nothing is set), read on first use.
 */
export const defaultLogger: Logger = {
  error: (message, ...details) => current().error(message, ...details),
  warn: (message, ...details) => current().warn(message, ...details),
  debug: (message, ...details) => current().debug?.(message, ...details),
};

function current(): Logger {
  fromEnvironment ??= createJsonLogger(logLevelFromEnvironment(process.env));
  return fromEnvironment;
}
