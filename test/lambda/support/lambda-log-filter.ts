/**
 * Lambda's log-level filter for output written outside the runtime's console methods, as the AWS
 * Lambda developer guide ("Log-level filtering") describes it: with the JSON log format and an
 * application log level, a line is kept when its JSON `level` is at least that level; a line
 * whose `level` is missing or invalid, or whose `timestamp` is not RFC 3339, counts as INFO.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html
 */
const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];
const RFC_3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** The level Lambda gives one output line. */
export function lambdaLevelOf(line: string): string {
  let document: unknown;
  try {
    document = JSON.parse(line);
  } catch {
    return 'INFO';
  }
  const { level, timestamp } = (typeof document === 'object' && document !== null ? document : {}) as { level?: unknown; timestamp?: unknown };
  const named = typeof level === 'string' ? level.toUpperCase() : undefined;
  return named && LEVELS.includes(named) && typeof timestamp === 'string' && RFC_3339.test(timestamp) ? named : 'INFO';
}

/** Whether Lambda sends `line` to CloudWatch Logs with `applicationLogLevel` set. */
export function keptByLambda(line: string, applicationLogLevel: string): boolean {
  return LEVELS.indexOf(lambdaLevelOf(line)) >= LEVELS.indexOf(applicationLogLevel);
}
