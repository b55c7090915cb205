/** Where the runtime reports problems that have no client to go to. */
export interface Logger {
  /** Failures: a handler error, a failed delivery, an `onError` that threw. */
  error(message: string, details?: Record<string, unknown>): void;
  /** Recoverable oddities: a subscription for a connection that is gone. */
  warn(message: string, details?: Record<string, unknown>): void;
  /** Diagnostics. */
  debug?(message: string, details?: Record<string, unknown>): void;
}

function serializeDetails(details: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!details) return undefined;
  return Object.fromEntries(Object.entries(details).map(([key, value]) => [
    key,
    value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value,
  ]));
}

function write(level: string, message: string, details?: Record<string, unknown>): void {
  // One JSON line on stderr: CloudWatch Logs keeps it as one event. Never sent to clients.
  process.stderr.write(`${JSON.stringify({ level, source: 'cdk-trpc-subscriptions', message, ...serializeDetails(details) })}\n`);
}

/** The default logger: JSON lines on stderr for warnings and errors, no debug output. */
export const defaultLogger: Logger = {
  error: (message, details) => write('error', message, details),
  warn: (message, details) => write('warn', message, details),
};
