import {
  getTRPCErrorFromUnknown,
  getTRPCErrorShape,
  transformTRPCResponse,
  TRPCError,
  type TRPCProcedureType,
} from '@trpc/server';
import { TRPC_ERROR_CODES_BY_KEY, type TRPCErrorShape } from '@trpc/server/rpc';
import type { WebSocketEvent } from '../event';
import type { Runtime } from '../handlers/runtime';
import type { RequestId } from '../store/store';

/** Where an error happened, for `onError` and the error formatter. */
export interface ErrorInfo {
  readonly type: TRPCProcedureType | 'unknown';
  readonly path: string | undefined;
  readonly input: unknown;
  readonly ctx: unknown;
}

/** Used when the router's `errorFormatter` throws: says nothing the formatter would have hidden. */
const FALLBACK_ERROR_SHAPE: TRPCErrorShape = {
  code: TRPC_ERROR_CODES_BY_KEY.INTERNAL_SERVER_ERROR,
  message: 'Internal server error',
  data: { code: 'INTERNAL_SERVER_ERROR', httpStatus: 500 },
};

/** The message clients get in place of an unexpected error's own message. */
export const INTERNAL_ERROR_MESSAGE = 'Internal server error';

/**
 * True when `error` is an unexpected failure whose message came from what was thrown (a plain
 * `Error`, a store or SDK error wrapped by tRPC as INTERNAL_SERVER_ERROR): such messages describe
 * internals (table names, SQL, hosts) and are not meant for clients. A `TRPCError` thrown on
 * purpose with its own message is not concerned.
 */
function isUnexpectedError(error: TRPCError): boolean {
  return error.code === 'INTERNAL_SERVER_ERROR' && error.cause !== undefined && error.message === error.cause.message;
}

/**
 * The error as clients may see it: unexpected errors keep their code but get a generic message,
 * unless `exposeInternalErrors` (default: tRPC's `isDev`, i.e. `NODE_ENV !== 'production'`).
 * The original stays available to the router's `errorFormatter` as `error.cause`.
 */
export function clientVisibleError(rt: Runtime, error: TRPCError): TRPCError {
  const expose = rt.config.exposeInternalErrors ?? rt.router._def._config.isDev;
  if (expose || !isUnexpectedError(error)) return error;
  const masked = new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: INTERNAL_ERROR_MESSAGE, cause: error });
  masked.stack = undefined;
  return masked;
}

/** Sends an error to `onError` (never throwing) and logs server errors. */
export function reportError(rt: Runtime, event: WebSocketEvent, error: TRPCError, info: ErrorInfo): void {
  if (error.code === 'INTERNAL_SERVER_ERROR') {
    rt.logger.error(`tRPC ${info.type} ${info.path ?? '(no path)'} failed: ${error.message}`, {
      connectionId: event.requestContext.connectionId,
      error: error.cause ?? error,
    });
  }
  try {
    rt.config.onError?.({ error, type: info.type, path: info.path, input: info.input, ctx: info.ctx, req: event });
  } catch (cause) {
    rt.logger.error('onError threw', { error: cause });
  }
}

/**
 * Turns any failure into the error frame for a request: `getTRPCErrorFromUnknown` -> `onError`
 * -> {@link clientVisibleError} -> `getTRPCErrorShape` (the router's `errorFormatter`, stack only
 * when `isDev`) -> transformer.
 */
export function errorFrame(
  rt: Runtime, event: WebSocketEvent, id: RequestId | null, cause: unknown, info: ErrorInfo, jsonrpc?: '2.0',
): string {
  const error = getTRPCErrorFromUnknown(cause);
  reportError(rt, event, error, info);
  const config = rt.router._def._config;
  let shape: TRPCErrorShape;
  try {
    shape = getTRPCErrorShape({ config, error: clientVisibleError(rt, error), type: info.type, path: info.path, input: info.input, ctx: info.ctx });
  } catch (formatError) {
    rt.logger.error('errorFormatter threw', { error: formatError });
    shape = FALLBACK_ERROR_SHAPE;
  }
  try {
    return JSON.stringify(transformTRPCResponse(config, { id, jsonrpc, error: shape }));
  } catch (serializeError) {
    rt.logger.error('error frame could not be serialized', { error: serializeError });
    return JSON.stringify({ id, jsonrpc, error: FALLBACK_ERROR_SHAPE });
  }
}

/** A result frame (`data`, `started`, `stopped`), through the router's transformer. */
export function resultFrame(
  rt: Runtime, id: RequestId, result: { type: 'data'; data: unknown } | { type: 'started' } | { type: 'stopped' }, jsonrpc?: '2.0',
): string {
  return JSON.stringify(transformTRPCResponse(rt.router._def._config, { id, jsonrpc, result }));
}
