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
    const { error } = JSON.parse(text) as { error?: Record<string, any> };
    // A transformer (e.g. superjson) wraps the shape in `json`.
    const shape = (error?.json ?? error) as { message?: unknown; data?: { code?: unknown } } | undefined;
    const code = typeof shape?.data?.code === 'string' ? shape.data.code : 'ERROR';
    return `${code}: ${typeof shape?.message === 'string' ? shape.message : '(no message)'}`;
  } catch {
    return undefined;
  }
}
