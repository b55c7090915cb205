import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_MESSAGE_BYTES } from '../constants';
import { apiGatewayStyleId } from './ids';
import type { LocalLogger } from './logger';

/** A management API request, as the fault injection hook sees it. */
export interface ManagementRequest {
  readonly method: 'POST' | 'GET' | 'DELETE';
  readonly connectionId: string;
}

/**
 * A fault to answer instead of the real outcome: an error status, or a network fault (`hang`:
 * accept the request and never answer, as a stuck Management API does; `reset`: destroy the socket,
 * which the SDK sees as ECONNRESET / "socket hang up").
 */
export type ManagementFault = ManagementErrorFault | { readonly network: 'hang' | 'reset' };

/** A fault answered with an error status. */
export interface ManagementErrorFault {
  /** HTTP status, e.g. 429 or 500. */
  readonly status: number;
  /**
   * The error type the SDK maps to an exception class, e.g. `LimitExceededException`,
   * `GoneException`, `ForbiddenException`, `InternalServerErrorException`.
   */
  readonly errorType: string;
  /** @default - `{errorType}` */
  readonly message?: string;
}

/**
 * Decides, per management API request, whether to answer with a fault instead (tests of retry and
 * cleanup paths). Return `undefined` to let the request through.
 */
export type ManagementFaultInjector = (request: ManagementRequest) => ManagementFault | undefined;

/**
 * API Gateway's account-level throttling of `@connections` requests, emulated: a token bucket
 * refilled at `requestsPerSecond` holding at most `burst`; a request without a token gets 429
 * `LimitExceededException`.
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html#apigateway-account-level-limits-table
 */
export interface ManagementRateLimit {
  /** Steady requests per second. */
  readonly requestsPerSecond: number;
  /**
   * Bucket size.
   * @default - `requestsPerSecond` / 10 (at least 1)
   */
  readonly burst?: number;
}

/** An open connection, as the management API sees it. */
export interface ManagedConnection {
  readonly connectedAt: number;
  readonly lastActiveAt: number;
  readonly sourceIp: string;
  readonly userAgent: string;
  /** Send one message; rejects when the socket is no longer open. */
  send(data: Buffer): Promise<void>;
  /** Close the connection (fires `$disconnect`). */
  delete(): void;
}

/** What the management API needs from the gateway. */
export interface ManagementApiOptions {
  readonly stage: string;
  /** Account-wide rate limit of `@connections` requests: 429 beyond it. */
  readonly rateLimit?: ManagementRateLimit;
  /** Added to every request before it is answered, in milliseconds. */
  readonly latencyMs?: number;
  /** The open connection with this id, or `undefined` (unknown, still connecting, or closed). */
  readonly findConnection: (connectionId: string) => ManagedConnection | undefined;
  readonly faults?: ManagementFaultInjector;
  readonly logger: LocalLogger;
  /** Told each post answered 410 because its connection is gone. */
  readonly onGonePost?: (connectionId: string, data: Buffer) => void;
}

/**
 * Serve API Gateway's Management API (`POST|GET|DELETE /{stage}/@connections/{id}`) in the
 * restJson1 shape the AWS SDK v3 client parses: errors carry the `x-amzn-ErrorType` header and a
 * `{"message"}` body, so the SDK throws `GoneException`, `PayloadTooLargeException`, etc.
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html
 */
export function createManagementApi(options: ManagementApiOptions): (request: IncomingMessage, response: ServerResponse) => void {
  const admit = options.rateLimit ? tokenBucket(options.rateLimit) : () => true;
  const latencyMs = options.latencyMs ?? 0;
  return (request, response) => {
    const throttled = !admit();
    const answer = () => (throttled ? throttle(request, response) : handle(options, request, response));
    (latencyMs > 0 ? sleep(latencyMs).then(answer) : answer()).catch((error: unknown) => {
      options.logger.error('Local gateway: management API request failed', error);
      if (!response.headersSent) sendError(response, 500, 'InternalServerErrorException', 'Internal server error');
      else response.destroy();
    });
  };
}

async function throttle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  request.resume();
  sendError(response, 429, 'LimitExceededException', 'Rate exceeded');
}

/** A token bucket: `take()` is true when a token was available. */
function tokenBucket(limit: ManagementRateLimit): () => boolean {
  const rate = limit.requestsPerSecond;
  const burst = Math.max(1, limit.burst ?? Math.floor(rate / 10));
  if (!(rate > 0)) throw new RangeError(`\`rateLimit.requestsPerSecond\` must be a positive number, got: ${rate}`);
  let tokens = burst;
  let refilledAt = Date.now();
  return () => {
    const now = Date.now();
    tokens = Math.min(burst, tokens + ((now - refilledAt) * rate) / 1000);
    refilledAt = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
}

async function handle(options: ManagementApiOptions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const target = parseTarget(request, options.stage);
  if (!target) {
    request.resume();
    // What API Gateway answers for a path or stage it does not serve.
    sendError(response, 403, 'ForbiddenException', 'Forbidden');
    return;
  }
  const body = target.method === 'POST' ? await readBody(request, MAX_MESSAGE_BYTES) : (request.resume(), Buffer.alloc(0));

  const fault = options.faults?.(target);
  if (fault && 'network' in fault) {
    // 'hang': the socket stays open until the client gives up (or the gateway closes).
    if (fault.network === 'reset') request.socket.destroy();
    return;
  }
  if (fault) {
    sendError(response, fault.status, fault.errorType, fault.message ?? fault.errorType);
    return;
  }
  if (body === undefined) {
    // Message quota: 128 KB. https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
    sendError(response, 413, 'PayloadTooLargeException', `Message too long, maximum is ${MAX_MESSAGE_BYTES} bytes`);
    return;
  }
  const connection = options.findConnection(target.connectionId);
  if (!connection) {
    if (target.method === 'POST') options.onGonePost?.(target.connectionId, body);
    sendError(response, 410, 'GoneException', 'Gone');
    return;
  }
  switch (target.method) {
    case 'POST':
      try {
        await connection.send(body);
      } catch {
        options.onGonePost?.(target.connectionId, body);
        sendError(response, 410, 'GoneException', 'Gone');
        return;
      }
      sendJson(response, 200, undefined);
      return;
    case 'GET':
      sendJson(response, 200, {
        connectedAt: new Date(connection.connectedAt).toISOString(),
        identity: { sourceIp: connection.sourceIp, userAgent: connection.userAgent },
        lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
      });
      return;
    case 'DELETE':
      connection.delete();
      sendJson(response, 204, undefined);
      return;
  }
}

function parseTarget(request: IncomingMessage, stage: string): ManagementRequest | undefined {
  const method = request.method;
  if (method !== 'POST' && method !== 'GET' && method !== 'DELETE') return undefined;
  const path = (request.url ?? '/').split('?')[0];
  const segments = path.split('/');
  // ['', stage, '@connections', id]
  if (segments.length !== 4 || segments[0] !== '' || segments[2] !== '@connections' || segments[3] === '') return undefined;
  if (safeDecode(segments[1]) !== stage) return undefined;
  const connectionId = safeDecode(segments[3]);
  return connectionId === undefined ? undefined : { method, connectionId };
}

function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/** The request body, or `undefined` when it exceeds `limit` bytes (the rest is drained). */
async function readBody(request: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) tooLarge = true;
    if (!tooLarge) chunks.push(chunk);
  }
  return tooLarge ? undefined : Buffer.concat(chunks);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-RequestId': apiGatewayStyleId(),
  });
  response.end(text);
}

function sendError(response: ServerResponse, status: number, errorType: string, message: string): void {
  const text = JSON.stringify({ message });
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-RequestId': apiGatewayStyleId(),
    'x-amzn-ErrorType': errorType,
  });
  response.end(text);
}
