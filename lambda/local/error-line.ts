/** An error as one line for the `dev` command's output: its name, message and where it was thrown. */
import { isAbsolute, relative } from 'node:path';
import { types } from 'node:util';

/**
 * `TypeError: x is not a function (app-router.ts:42:11)`: the first line of the message, the name
 * unless it is plain `Error`, and the first stack frame outside node_modules and Node.js itself.
 */
export function describeErrorLine(error: unknown): string {
  // isNativeError: also an Error of another realm (a module evaluated outside a test's sandbox).
  if (!(error instanceof Error || types.isNativeError(error))) return String(error);
  const [first, ...rest] = error.message.split('\n');
  const message = `${first}${rest.some((line) => line.trim() !== '') ? ' …' : ''}`;
  const named = error.name && error.name !== 'Error' && !message.startsWith(`${error.name}:`) ? `${error.name}: ${message}` : message;
  const location = thrownAt(error.stack);
  return location ? `${named} (${location})` : named;
}

/** `file:line:column` of the first frame in the app's own code, relative to the working directory. */
function thrownAt(stack: string | undefined): string | undefined {
  for (const line of (stack ?? '').split('\n')) {
    const match = /^\s+at (?:.*? \()?(.+?):(\d+):(\d+)\)?$/.exec(line);
    if (!match) continue;
    const [, file, row, column] = match;
    if (file.startsWith('node:') || file.includes('/node_modules/') || file.startsWith('internal/') || !isAbsolute(file.replace(/^file:\/\//, ''))) continue;
    const path = relative(process.cwd(), file.replace(/^file:\/\//, ''));
    return `${path}:${row}:${column}`;
  }
  return undefined;
}
