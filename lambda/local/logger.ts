/**
 * Where the local tools report progress and problems. Library code never writes to the console
 * itself; pass your own logger, or use {@link stderrLogger} / {@link silentLogger}.
 */
export interface LocalLogger {
  /** Fine-grained tracing (every invocation). */
  debug(message: string): void;
  /** Progress worth showing to a developer (connections opened and closed). */
  info(message: string): void;
  /** Something unexpected that the emulator survived. */
  warn(message: string): void;
  /** A failure, e.g. a handler that threw. */
  error(message: string, error?: unknown): void;
}

/** Ignores everything. */
export const silentLogger: LocalLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** Writes warnings and errors (with stacks) to stderr; ignores debug and info. */
export const stderrLogger: LocalLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (message) => process.stderr.write(`${message}\n`),
  error: (message, error) => process.stderr.write(`${message}${error === undefined ? '' : `\n${describeError(error)}`}\n`),
};

/** The stack of an Error (or its message), or the string form of anything else. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  return String(error);
}
