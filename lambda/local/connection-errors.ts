/**
 * Recognises the connection-level error frame (`{"id":null,"error":...}`) the runtime sends when
 * it refuses a connection (createContext threw) or cannot read a frame, so the local gateway can
 * log each refusal with its code and message.
 */

/** `UNAUTHORIZED: Invalid token` for a connection-level error frame, else `undefined`. */
export function describeConnectionError(frame: string | Buffer): string | undefined {
  const text = typeof frame === 'string' ? frame : frame.toString('utf8');
  if (!text.startsWith('{"id":null,"error":')) return undefined;
  try {
    const { error } = JSON.parse(text) as { error?: unknown };
    return describeErrorShape(error);
  } catch {
    return undefined;
  }
}

/** `FORBIDDEN: You left vip` for the `error` of a tRPC error frame. */
export function describeErrorShape(error: unknown): string {
  const raw = error as Record<string, any> | undefined;
  // A transformer (e.g. superjson) wraps the shape in `json`.
  const shape = (raw?.json ?? raw) as { message?: unknown; data?: { code?: unknown } } | undefined;
  const code = typeof shape?.data?.code === 'string' ? shape.data.code : 'ERROR';
  return `${code}: ${typeof shape?.message === 'string' ? oneLine(shape.message) : '(no message)'}`;
}

/**
 * A message on one line. An input validator's message is often its issues as pretty-printed JSON
 * (zod: `[{ "code": "too_small", "path": ["text"], ... }]`): each becomes `text: Invalid input (too_small)`.
 */
function oneLine(message: string): string {
  if (message.trimStart().startsWith('[')) {
    try {
      const issues = JSON.parse(message) as Array<{ path?: unknown; message?: unknown; code?: unknown }>;
      if (Array.isArray(issues) && issues.every((issue) => typeof issue === 'object' && issue !== null)) {
        return issues.map((issue) => {
          const path = Array.isArray(issue.path) && issue.path.length > 0 ? issue.path.join('.') : '(input)';
          const code = typeof issue.code === 'string' ? ` (${issue.code})` : '';
          return `${path}: ${typeof issue.message === 'string' ? issue.message : 'invalid'}${code}`;
        }).join('; ');
      }
    } catch {
      // not JSON: shown as it is
    }
  }
  return message.replace(/\s*\n\s*/g, ' ');
}
