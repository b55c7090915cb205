/**
 * An error of a tRPC call as a sentence for the page. An input validator's error reaches the
 * client with its issues as the message, pretty-printed JSON (zod: `[{ "code": "too_big",
 * "path": ["text"], "maximum": 500, ... }]`): each issue becomes a sentence naming the field.
 */

/** How the page names the fields of its inputs. */
const FIELD_NAMES: Readonly<Record<string, string>> = { text: 'The message', room: 'The room name', user: 'The user name' };

interface Issue {
  readonly code?: unknown;
  readonly path?: unknown;
  readonly message?: unknown;
  readonly origin?: unknown;
  readonly minimum?: unknown;
  readonly maximum?: unknown;
}

/** `The message is too long: at most 500 characters.` for a validation error; the message otherwise. */
export function readableError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const issues = parseIssues(message);
  return issues ? issues.map(describeIssue).join(' ') : message;
}

function parseIssues(message: string): Issue[] | undefined {
  if (!message.trimStart().startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(message);
    const valid = Array.isArray(parsed) && parsed.length > 0 && parsed.every((issue) => typeof issue === 'object' && issue !== null && 'code' in issue);
    return valid ? (parsed as Issue[]) : undefined;
  } catch {
    return undefined;
  }
}

function describeIssue(issue: Issue): string {
  const path = Array.isArray(issue.path) ? issue.path.join('.') : '';
  const field = FIELD_NAMES[path] ?? (path ? `"${path}"` : 'The input');
  const characters = (count: unknown) => `${String(count)} character${count === 1 ? '' : 's'}`;
  if (issue.origin === 'string' && issue.code === 'too_big') return `${field} is too long: at most ${characters(issue.maximum)}.`;
  if (issue.origin === 'string' && issue.code === 'too_small') {
    return issue.minimum === 1 ? `${field} is empty.` : `${field} is too short: at least ${characters(issue.minimum)}.`;
  }
  return `${field}: ${typeof issue.message === 'string' ? issue.message : 'invalid'}.`;
}
