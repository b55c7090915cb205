import superjson from 'superjson';

/** JSON-RPC codes tRPC v11 sends (`TRPC_ERROR_CODES_BY_KEY`), written out independently. */
export const JSON_RPC_CODES: Readonly<Record<string, number>> = {
  PARSE_ERROR: -32700,
  BAD_REQUEST: -32600,
  INTERNAL_SERVER_ERROR: -32603,
  NOT_IMPLEMENTED: -32603,
  BAD_GATEWAY: -32603,
  SERVICE_UNAVAILABLE: -32603,
  GATEWAY_TIMEOUT: -32603,
  UNAUTHORIZED: -32001,
  PAYMENT_REQUIRED: -32002,
  FORBIDDEN: -32003,
  NOT_FOUND: -32004,
  METHOD_NOT_SUPPORTED: -32005,
  TIMEOUT: -32008,
  CONFLICT: -32009,
  PRECONDITION_FAILED: -32012,
  PAYLOAD_TOO_LARGE: -32013,
  UNSUPPORTED_MEDIA_TYPE: -32015,
  UNPROCESSABLE_CONTENT: -32022,
  PRECONDITION_REQUIRED: -32028,
  TOO_MANY_REQUESTS: -32029,
  CLIENT_CLOSED_REQUEST: -32099,
};

/** A server frame, decoded and checked. */
export type ServerFrame =
  | { readonly kind: 'result'; readonly id: string | number | null; readonly type: 'data' | 'started' | 'stopped'; readonly data?: unknown }
  | {
    readonly kind: 'error';
    readonly id: string | number | null;
    readonly message: string;
    readonly code: number;
    readonly dataCode: string;
    readonly data: Record<string, unknown>;
  };

/**
 * Parses one frame the server sent and checks it is a valid tRPC v11 response message: a JSON
 * object (never an array), with an `id`, and exactly one of `result` (type data, started or
 * stopped) or `error` (message, JSON-RPC code matching `data.code`, `data.httpStatus`), through
 * superjson. In production (`production: true`) error data must carry no stack.
 * Throws a descriptive Error for anything else.
 */
export function parseServerFrame(frame: string, production = true): ServerFrame {
  const fail = (why: string): never => {
    throw new Error(`invalid server frame (${why}): ${frame.slice(0, 300)}`);
  };
  let message: unknown;
  try {
    message = JSON.parse(frame);
  } catch {
    fail('not JSON');
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) fail('not a JSON object');
  const record = message as Record<string, unknown>;
  const extra = Object.keys(record).filter((key) => !['id', 'jsonrpc', 'result', 'error'].includes(key));
  if (extra.length > 0) fail(`unexpected keys ${extra.join(',')}`);
  if (!('id' in record)) fail('no id');
  const id = record.id;
  if (id !== null && typeof id !== 'string' && typeof id !== 'number') fail('bad id type');
  if (record.jsonrpc !== undefined && record.jsonrpc !== '2.0') fail('bad jsonrpc');
  if (('result' in record) === ('error' in record)) fail('needs exactly one of result and error');
  if ('result' in record) {
    const result = record.result as Record<string, unknown> | null;
    if (typeof result !== 'object' || result === null) fail('result is not an object');
    const type = result!.type;
    if (type !== 'data' && type !== 'started' && type !== 'stopped') fail(`bad result type ${String(type)}`);
    const data = type === 'data' && result!.data !== undefined ? superjson.deserialize(result!.data as never) : undefined;
    return { kind: 'result', id: id as ServerFrame['id'], type: type as 'data', data };
  }
  const error = superjson.deserialize<Record<string, unknown>>(record.error as never);
  if (typeof error !== 'object' || error === null) fail('error is not an object');
  if (typeof error.message !== 'string') fail('error.message is not a string');
  const data = error.data as Record<string, unknown> | undefined;
  if (typeof data !== 'object' || data === null) fail('error.data is not an object');
  const dataCode = data!.code;
  if (typeof dataCode !== 'string' || !(dataCode in JSON_RPC_CODES)) fail(`unknown error.data.code ${String(dataCode)}`);
  if (error.code !== JSON_RPC_CODES[dataCode as string]) fail(`error.code ${String(error.code)} does not match ${String(dataCode)}`);
  if (typeof data!.httpStatus !== 'number') fail('error.data.httpStatus is not a number');
  if (production && 'stack' in data!) fail('stack trace in a production error frame');
  if (production && /\n\s+at /.test(frame)) fail('something like a stack trace in a production frame');
  return {
    kind: 'error',
    id: id as ServerFrame['id'],
    message: error.message as string,
    code: error.code as number,
    dataCode: dataCode as string,
    data: data!,
  };
}

/** Keys a prototype pollution would add; checked after every property run. */
export function assertNoPrototypePollution(): void {
  const probe: Record<string, unknown> = {};
  for (const key of ['polluted', 'isAdmin', 'json', 'meta', 'room', 'userId']) {
    if (probe[key] !== undefined) throw new Error(`Object.prototype.${key} was polluted`);
  }
  if (Object.keys(Object.prototype).length > 0) throw new Error(`Object.prototype has enumerable keys: ${Object.keys(Object.prototype).join(',')}`);
  if (Object.keys(Array.prototype).length > 0) throw new Error('Array.prototype has enumerable keys');
}
