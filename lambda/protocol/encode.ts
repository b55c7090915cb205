/**
 * Every frame the runtime sends: results (`started`, `stopped`, data of a query or mutation),
 * errors, and the data frames of the publisher. Built from a narrow {@link FrameContext}, so a
 * handler, the publisher or a queue worker can encode alike.
 */
import {
  getTRPCErrorFromUnknown,
  getTRPCErrorShape,
  transformTRPCResponse,
  TRPCError,
  type AnyTRPCRouter,
  type TRPCProcedureType,
} from '@trpc/server';
import { TRPC_ERROR_CODES_BY_KEY, type TRPCErrorShape } from '@trpc/server/rpc';
import { MAX_MESSAGE_BYTES } from '../constants';
import type { WebSocketEvent } from '../event';
import type { RequestId } from '../store/store';
import type { Logger } from '../util/logger';

/** Where an error happened, for `onError` and the error formatter. */
export interface ErrorInfo {
  readonly type: TRPCProcedureType | 'unknown';
  readonly path: string | undefined;
  readonly input: unknown;
  readonly ctx: unknown;
}

/** The {@link ErrorInfo} of a failure outside any procedure (bad frame, connectionParams, $connect). */
export const UNKNOWN_ERROR_INFO: ErrorInfo = { type: 'unknown', path: undefined, input: undefined, ctx: undefined };

/** What `onError` receives (structurally the `OnErrorOptions` of the public API). */
export interface FrameErrorReport {
  readonly error: TRPCError;
  readonly type: TRPCProcedureType | 'unknown';
  readonly path: string | undefined;
  readonly input: unknown;
  readonly ctx: any;
  readonly req: WebSocketEvent;
}

/** What encoding frames needs: the router (config, transformer, error formatter) and error reporting. */
export interface FrameContext {
  readonly router: AnyTRPCRouter;
  readonly logger: Logger;
  /** The router's `onError`. */
  readonly onError?: (report: FrameErrorReport) => void;
  /** @default - tRPC's `isDev` of the router */
  readonly exposeInternalErrors?: boolean;
}

/**
 * Used when the router's `errorFormatter` throws: says nothing the formatter would have hidden.
 * A function, not a constant: a module-level object reading `TRPC_ERROR_CODES_BY_KEY` is kept in
 * every bundle that imports this module (esbuild cannot prove a property read free of effects).
 */
function fallbackErrorShape(): TRPCErrorShape {
  return {
    code: TRPC_ERROR_CODES_BY_KEY.INTERNAL_SERVER_ERROR,
    message: 'Internal server error',
    data: { code: 'INTERNAL_SERVER_ERROR', httpStatus: 500 },
  };
}

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
export function clientVisibleError(fc: Pick<FrameContext, 'router' | 'exposeInternalErrors'>, error: TRPCError): TRPCError {
  const expose = fc.exposeInternalErrors ?? fc.router._def._config.isDev;
  if (expose || !isUnexpectedError(error)) return error;
  const masked = new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: INTERNAL_ERROR_MESSAGE, cause: error });
  masked.stack = undefined;
  return masked;
}

/** Sends an error to `onError` (never throwing) and logs server errors. */
export function reportError(fc: FrameContext, event: WebSocketEvent, error: TRPCError, info: ErrorInfo): void {
  if (error.code === 'INTERNAL_SERVER_ERROR') {
    fc.logger.error(`tRPC ${info.type} ${info.path ?? '(no path)'} failed: ${error.message}`, {
      connectionId: event.requestContext.connectionId,
      error: error.cause ?? error,
    });
  }
  try {
    fc.onError?.({ error, type: info.type, path: info.path, input: info.input, ctx: info.ctx, req: event });
  } catch (cause) {
    fc.logger.error('onError threw', { error: cause });
  }
}

/**
 * Turns any failure into the error frame for a request: `getTRPCErrorFromUnknown` -> `onError`
 * -> {@link clientVisibleError} -> `getTRPCErrorShape` (the router's `errorFormatter`, stack only
 * when `isDev`) -> transformer.
 */
export function errorFrame(
  fc: FrameContext, event: WebSocketEvent, id: RequestId | null, cause: unknown, info: ErrorInfo, jsonrpc?: '2.0',
): string {
  const error = getTRPCErrorFromUnknown(cause);
  reportError(fc, event, error, info);
  const config = fc.router._def._config;
  let shape: TRPCErrorShape;
  try {
    shape = getTRPCErrorShape({ config, error: clientVisibleError(fc, error), type: info.type, path: info.path, input: info.input, ctx: info.ctx });
  } catch (formatError) {
    fc.logger.error('errorFormatter threw', { error: formatError });
    shape = fallbackErrorShape();
  }
  try {
    return JSON.stringify(transformTRPCResponse(config, { id, jsonrpc, error: shape }));
  } catch (serializeError) {
    fc.logger.error('error frame could not be serialized', { error: serializeError });
    return JSON.stringify({ id, jsonrpc, error: fallbackErrorShape() });
  }
}

/** A result frame (`data`, `started`, `stopped`), through the router's transformer. */
export function resultFrame(
  fc: Pick<FrameContext, 'router'>, id: RequestId,
  result: { type: 'data'; data: unknown } | { type: 'started' } | { type: 'stopped' }, jsonrpc?: '2.0',
): string {
  return JSON.stringify(transformTRPCResponse(fc.router._def._config, { id, jsonrpc, result }));
}

/** Thrown by `publish` when the message would exceed API Gateway's 128 KB message quota. */
export class PayloadTooLargeError extends Error {
  constructor(readonly path: string, readonly bytes: number, readonly maxBytes: number) {
    super(`Publish to "${path}": the message is ${bytes} bytes, API Gateway accepts at most ${maxBytes} bytes per WebSocket message`);
    this.name = 'PayloadTooLargeError';
  }
}

/**
 * Builds the data frame for a subscription id from data serialized once; `jsonrpc` is echoed when
 * the subscription's request carried it.
 */
export type FrameBuilder = (subscriptionId: RequestId, jsonrpc?: '2.0') => string;

/**
 * Serializes published `data` once with the router's transformer and returns a builder of the
 * per-subscriber frame `{"id":<sub>,"result":{"type":"data","data":...}}` (tracked: with the event
 * id, and data `{ id, data }` as tRPC's ws adapter sends it). Throws {@link PayloadTooLargeError}
 * before anything is sent when the frame would exceed the quota.
 */
export function buildDataFrames(
  fc: Pick<FrameContext, 'router'>, path: string, data: unknown, eventId: string | undefined, maxBytes = MAX_MESSAGE_BYTES,
): FrameBuilder {
  return framesFromResult(path, dataResultJson(fc, data, eventId), maxBytes);
}

/**
 * The frame builder of a `result` encoded by {@link dataResultJson} (e.g. one a queued publish
 * carries to the fan-out worker); throws {@link PayloadTooLargeError} over `maxBytes`.
 */
export function framesFromResult(path: string, result: string, maxBytes = MAX_MESSAGE_BYTES): FrameBuilder {
  const build: FrameBuilder = (subscriptionId, jsonrpc) => frameWithResult(subscriptionId, result, jsonrpc);
  // Client ids are short (a counter); the exact size is checked again per frame before sending.
  const bytes = Buffer.byteLength(build(0, '2.0'));
  if (bytes > maxBytes) throw new PayloadTooLargeError(path, bytes, maxBytes);
  return build;
}

/**
 * The JSON of a data frame's `result`, `data` serialized with the router's transformer (tracked:
 * with the event id, and data `{ id, data }` as tRPC's ws adapter sends it).
 */
export function dataResultJson(fc: Pick<FrameContext, 'router'>, data: unknown, eventId: string | undefined): string {
  const transformer = fc.router._def._config.transformer;
  const payload = eventId === undefined ? data : { id: eventId, data };
  const serialized: unknown = transformer.output.serialize(payload);
  const dataJson = serialized === undefined ? '' : `,"data":${JSON.stringify(serialized)}`;
  return eventId === undefined
    ? `{"type":"data"${dataJson}}`
    : `{"type":"data","id":${JSON.stringify(eventId)}${dataJson}}`;
}

/** The frame of a subscription id with a `result` encoded by {@link dataResultJson} (e.g. a replayed event). */
export function frameWithResult(subscriptionId: RequestId, result: string, jsonrpc?: '2.0'): string {
  return `{"id":${JSON.stringify(subscriptionId)},${jsonrpc ? '"jsonrpc":"2.0",' : ''}"result":${result}}`;
}

/**
 * The notification that makes the tRPC client open a new connection and resubscribe there (with
 * `lastEventId` for tracked subscriptions), as tRPC's ws adapter sends it in
 * `broadcastReconnectNotification` (not transformed).
 */
export const RECONNECT_NOTIFICATION_FRAME = '{"id":null,"method":"reconnect"}';

/**
 * The error frame a server-side stop sends to each subscription it fails: `error` as clients may
 * see it ({@link clientVisibleError}), through the router's `errorFormatter` (stack only when
 * `isDev`) and transformer, echoing `jsonrpc` when the subscription's request carried it. Nothing
 * is reported to `onError`: no client request failed.
 */
export function subscriptionErrorFrames(fc: Pick<FrameContext, 'router' | 'logger' | 'exposeInternalErrors'>, path: string, error: TRPCError): FrameBuilder {
  const config = fc.router._def._config;
  let shape: TRPCErrorShape;
  try {
    shape = getTRPCErrorShape({
      config, error: clientVisibleError(fc, error), type: 'subscription', path, input: undefined, ctx: undefined,
    });
  } catch (formatError) {
    fc.logger.error('errorFormatter threw', { error: formatError });
    shape = fallbackErrorShape();
  }
  return (subscriptionId, jsonrpc) => JSON.stringify(transformTRPCResponse(config, { id: subscriptionId, jsonrpc, error: shape }));
}
