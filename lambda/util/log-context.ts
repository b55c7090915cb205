import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from './logger';

/** What every log line of an invocation carries, where known. */
export interface LogContext {
  /** API Gateway connection id. */
  readonly connectionId?: string;
  /** Route key: `$connect`, `$default`, `$disconnect`. */
  readonly route?: string;
  /** API Gateway's request id of the event (as in the stage's access log). */
  readonly requestId?: string;
  /** Lambda's request id of the invocation. */
  readonly awsRequestId?: string;
}

const logContext = new AsyncLocalStorage<LogContext>();

/** Runs `fn` with `context` added to every line logged through {@link withLogContext} loggers. */
export function runWithLogContext<T>(context: LogContext, fn: () => T): T {
  return logContext.run(context, fn);
}

function withContext(details: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  const context = logContext.getStore();
  if (!context) return details;
  const defined = Object.fromEntries(Object.entries(context).filter(([, value]) => value !== undefined));
  // A detail given at the call site wins over the invocation's context.
  return { ...defined, ...details };
}

const LEVELS = ['error', 'warn', 'info', 'debug'] as const;

/**
 * `logger` with the invocation's connection id, route and request id added to each line's
 * details, for every level the logger has.
 */
export function withLogContext(logger: Logger): Logger {
  const source = logger as unknown as Record<string, unknown>;
  const wrapped: Record<string, unknown> = {};
  for (const level of LEVELS) {
    const method = source[level];
    if (typeof method === 'function') {
      wrapped[level] = (message: string, details?: Record<string, unknown>) => method.call(logger, message, withContext(details));
    }
  }
  return wrapped as unknown as Logger;
}
