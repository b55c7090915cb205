import { isUtf8 } from 'node:buffer';
import { createServer, STATUS_CODES, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import { MAX_CONNECTION_SECONDS, MAX_FRAME_BYTES, MAX_MESSAGE_BYTES } from '../constants';
import {
  buildConnectEvent,
  buildDisconnectEvent,
  buildMessageEvent,
  createLambdaContext,
  invokeHandler,
  type ConnectionFacts,
  type LambdaStyleHandler,
  type LocalWebSocketEvent,
} from './events';
import { limitIncomingFrameSize } from './frame-limit';
import { apiGatewayStyleId, apiIdLike } from './ids';
import { stderrLogger, type LocalLogger } from './logger';
import { createManagementApi, type ManagedConnection, type ManagementFaultInjector } from './management-api';

/** The three handlers of a WebSocket API, as `TrpcSubscriptionApi` wires them. */
export interface LocalGatewayHandlers {
  /** The `$connect` route's handler. */
  readonly connect: LambdaStyleHandler;
  /** The `$default` route's handler (two-way: a returned `body` is sent to the client). */
  readonly handler: LambdaStyleHandler;
  /** The `$disconnect` route's handler. */
  readonly disconnect: LambdaStyleHandler;
}

/**
 * Emulates a Lambda REQUEST authorizer on `$connect`: receives the `$connect` event and returns the
 * authorizer context (placed at `requestContext.authorizer`), or throws to refuse the connection.
 * A thrown error's numeric `statusCode` property picks the HTTP status; otherwise 401.
 */
export type LocalAuthorizer = (event: LocalWebSocketEvent) => Record<string, unknown> | Promise<Record<string, unknown>>;

/** Options of {@link startLocalGateway}. */
export interface LocalGatewayOptions {
  /** The handlers to invoke for `$connect`, `$default` and `$disconnect`. */
  readonly handlers: LocalGatewayHandlers;
  /**
   * TCP port.
   * @default - a free port chosen by the operating system
   */
  readonly port?: number;
  /**
   * Interface to listen on.
   * @default '127.0.0.1'
   */
  readonly host?: string;
  /**
   * Stage name: the management endpoint is `http://{host}:{port}/{stage}`.
   * @default 'prod'
   */
  readonly stage?: string;
  /**
   * Close a connection that received no message for this long (1001 `Going away`).
   * @default 600000 (API Gateway's 10-minute idle timeout)
   */
  readonly idleTimeoutMs?: number;
  /**
   * Close every connection this long after it opened (1001 `Going away`).
   * @default 7200000 (API Gateway's 2-hour connection duration)
   */
  readonly maxConnectionMs?: number;
  /**
   * Invoke a connection's messages concurrently, each after a random delay, so tests can prove the
   * handlers do not rely on ordering. Real API Gateway promises no ordering across invocations;
   * the default (one invocation at a time per connection, in arrival order) is the friendlier case.
   * @default false
   */
  readonly unordered?: boolean | UnorderedOptions;
  /**
   * Emulate a Lambda authorizer on `$connect`.
   * @default - no authorizer
   */
  readonly authorizer?: LocalAuthorizer;
  /**
   * Repeat the authorizer's context on MESSAGE and DISCONNECT events. Whether API Gateway does is
   * not documented clearly, so by default it appears on `$connect` only: handlers must persist it.
   * @default false
   */
  readonly authorizerOnEveryRoute?: boolean;
  /**
   * Answer chosen management API requests with faults (e.g. 429, 500).
   * @default - no faults
   */
  readonly faults?: ManagementFaultInjector;
  /**
   * Where progress and handler errors go.
   * @default - warnings and errors to stderr
   */
  readonly logger?: LocalLogger;
}

/** Options of the `unordered` mode. */
export interface UnorderedOptions {
  /**
   * Upper bound of the random delay before each invocation.
   * @default 25
   */
  readonly maxDelayMs?: number;
  /**
   * Source of randomness in [0, 1) (pass a seeded generator for reproducible runs).
   * @default Math.random
   */
  readonly random?: () => number;
}

/** A running local gateway. */
export interface LocalGateway {
  /** WebSocket URL for clients: `ws://{host}:{port}` (`/{stage}` is accepted too). */
  readonly url: string;
  /** Management API endpoint for `ApiGatewayManagementApiClient`: `http://{host}:{port}/{stage}`. */
  readonly endpoint: string;
  /** The TCP port. */
  readonly port: number;
  /** The stage name. */
  readonly stage: string;
  /** Ids of the open connections. */
  connections(): string[];
  /**
   * Close every connection (firing `$disconnect` for each), stop the server and resolve once all
   * handler invocations have finished.
   */
  close(): Promise<void>;
}

/** API Gateway's integration timeout, used for the context's remaining time. */
const INTEGRATION_TIMEOUT_MS = 29_000;
/** How long `close()` waits for clients to answer the closing handshake before cutting sockets. */
const CLOSE_GRACE_MS = 1_000;

const GOING_AWAY = { code: 1001, reason: 'Going away' } as const;

interface OpenConnection extends ManagedConnection {
  readonly facts: ConnectionFacts;
  readonly socket: WebSocket;
  lastActiveAt: number;
  /** Tail of the ordered invocation chain. */
  queue: Promise<void>;
  /** Set when the gateway closes the socket, so `$disconnect` reports the gateway's code. */
  closeCause?: { code: number; reason: string };
  disconnected: boolean;
  idleTimer?: NodeJS.Timeout;
  lifetimeTimer?: NodeJS.Timeout;
}

/**
 * Start a local stand-in for an API Gateway WebSocket API with Lambda proxy integrations on
 * `$connect`, `$default` (two-way) and `$disconnect`, plus its Management API (`@connections`) on
 * the same port.
 *
 * Fidelity notes. As documented by AWS: event fields per route (headers and query string only on
 * `$connect`, `messageId` only on MESSAGE, `disconnectStatusCode`/`disconnectReason` only on
 * DISCONNECT), a non-2xx `$connect` rejects the upgrade with that status, the two-way route sends
 * the returned `body` as one frame, 128 KB messages / 32 KB frames (1009), 10-minute idle timeout
 * and 2-hour lifetime, `@connections` POST/GET/DELETE with 410 `GoneException` for connections
 * that are gone or not yet connected (e.g. from the `$connect` handler), no ordering guarantee.
 * The emulator's own choices where AWS documents nothing precise (don't rely on them):
 * - the frame a client gets when the `$default` handler throws,
 *   `{"message":"Internal server error","connectionId":…,"requestId":…}` (what API Gateway is
 *   widely reported to send);
 * - close codes: 1001 `Going away` for idle timeout, lifetime and `close()`; 1000 for
 *   `DeleteConnection`; 1005 `Client-side close frame status not set` when the client's close
 *   frame had no code; 1009 for the size quotas;
 * - the idle timer is reset by client messages only (not by server pushes or pings);
 * - a `$connect` result without `statusCode` accepts the connection; only a string `body` is a
 *   route response; management POST data is sent as a text frame when it is valid UTF-8;
 * - by default messages of one connection are handled one at a time in order, and the authorizer
 *   context appears on `$connect` only (see `unordered` and `authorizerOnEveryRoute`);
 * - the integration timeout (29 s) only shows in `getRemainingTimeInMillis`; slow handlers are
 *   not cut off.
 */
export async function startLocalGateway(options: LocalGatewayOptions): Promise<LocalGateway> {
  const { handlers } = options;
  const host = options.host ?? '127.0.0.1';
  const stage = options.stage ?? 'prod';
  const logger = options.logger ?? stderrLogger;
  const idleTimeoutMs = options.idleTimeoutMs ?? 10 * 60 * 1000;
  const maxConnectionMs = options.maxConnectionMs ?? MAX_CONNECTION_SECONDS * 1000;
  const unordered = options.unordered === true ? {} : options.unordered || undefined;
  const apiId = apiIdLike();

  const open = new Map<string, OpenConnection>();
  const inFlight = new Set<Promise<unknown>>();
  const protocols = new WeakMap<IncomingMessage, string>();
  let closing = false;
  let domainName = '';

  const track = <T>(promise: Promise<T>): Promise<T> => {
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise)).catch(() => undefined);
    return promise;
  };

  const server = createServer(
    createManagementApi({
      stage,
      findConnection: (id) => {
        const connection = open.get(id);
        return connection && connection.socket.readyState === WebSocket.OPEN ? connection : undefined;
      },
      faults: options.faults,
      logger,
    }),
  );
  const wss = new WebSocketServer({
    noServer: true,
    // Message quota (128 KB): a bigger message closes the connection with 1009.
    maxPayload: MAX_MESSAGE_BYTES,
    // API Gateway only agrees to a subprotocol that the $connect integration returned.
    handleProtocols: (_offered, request) => protocols.get(request) ?? false,
  });

  const invoke = (name: keyof LocalGatewayHandlers, event: LocalWebSocketEvent): Promise<unknown> =>
    track(invokeHandler(handlers[name], event, createLambdaContext(name, INTEGRATION_TIMEOUT_MS)));

  const runDisconnect = (facts: ConnectionFacts, code: number, reason: string) => async () => {
    logger.info(`${facts.connectionId} disconnected (${code}${reason ? ` ${reason}` : ''})`);
    const event = buildDisconnectEvent(facts, { code, reason, includeAuthorizer: options.authorizerOnEveryRoute === true });
    try {
      await invoke('disconnect', event);
    } catch (error) {
      logger.error(`$disconnect handler failed for ${facts.connectionId}`, error);
    }
  };

  /** Fire `$disconnect` exactly once per connection, whatever closed it. */
  const fireDisconnect = (connection: OpenConnection, code: number, reason: string): void => {
    if (connection.disconnected) return;
    connection.disconnected = true;
    clearTimeout(connection.idleTimer);
    clearTimeout(connection.lifetimeTimer);
    open.delete(connection.facts.connectionId);
    const run = runDisconnect(connection.facts, code, reason);
    // Ordered mode: after the messages already received. Unordered: right away, as on AWS.
    if (unordered) void track(run());
    else void track((connection.queue = connection.queue.then(run)));
  };

  const closeByGateway = (connection: OpenConnection, code: number, reason: string): void => {
    if (connection.closeCause) return;
    connection.closeCause = { code, reason };
    if (connection.socket.readyState === WebSocket.CONNECTING || connection.socket.readyState === WebSocket.OPEN) {
      connection.socket.close(code, reason);
    }
  };

  const handleMessage = (connection: OpenConnection, data: RawData, isBinary: boolean): void => {
    connection.lastActiveAt = Date.now();
    connection.idleTimer?.refresh();
    const payload = toBuffer(data);
    const event = buildMessageEvent(connection.facts, {
      body: isBinary ? payload.toString('base64') : payload.toString('utf8'),
      isBase64Encoded: isBinary,
      includeAuthorizer: options.authorizerOnEveryRoute === true,
    });
    const run = async () => {
      let frame: string | undefined;
      try {
        frame = routeResponseBody(await invoke('handler', event));
      } catch (error) {
        logger.error(`$default handler failed for ${connection.facts.connectionId}`, error);
        // What API Gateway sends to the client when the integration fails.
        frame = JSON.stringify({
          message: 'Internal server error',
          connectionId: connection.facts.connectionId,
          requestId: event.requestContext.requestId,
        });
      }
      if (frame !== undefined && connection.socket.readyState === WebSocket.OPEN) connection.socket.send(frame);
    };
    if (unordered) {
      const delay = Math.floor((unordered.random ?? Math.random)() * (unordered.maxDelayMs ?? 25));
      void track(new Promise<void>((resolve) => setTimeout(() => void run().then(resolve), delay)));
    } else {
      void track((connection.queue = connection.queue.then(run)));
    }
  };

  const accept = (socket: WebSocket, facts: ConnectionFacts): void => {
    const connection: OpenConnection = {
      facts,
      socket,
      connectedAt: facts.connectedAt,
      lastActiveAt: facts.connectedAt,
      sourceIp: facts.sourceIp,
      userAgent: facts.userAgent ?? '',
      queue: Promise.resolve(),
      disconnected: false,
      send: (data) => new Promise<void>((resolve, reject) => {
        if (socket.readyState !== WebSocket.OPEN) return reject(new Error('connection is not open'));
        // Text when the data is UTF-8 (what every JSON publisher sends), binary otherwise.
        socket.send(isUtf8(data) ? data.toString('utf8') : data, (error) => (error ? reject(error) : resolve()));
      }),
      delete: () => closeByGateway(connection, 1000, ''),
    };
    open.set(facts.connectionId, connection);
    // Idle timeout and maximum connection duration: API Gateway closes with 1001 'Going away'.
    connection.idleTimer = setTimeout(() => closeByGateway(connection, GOING_AWAY.code, GOING_AWAY.reason), idleTimeoutMs).unref();
    connection.lifetimeTimer = setTimeout(() => closeByGateway(connection, GOING_AWAY.code, GOING_AWAY.reason), maxConnectionMs).unref();
    if (!limitIncomingFrameSize(socket, MAX_FRAME_BYTES)) {
      logger.warn('Local gateway: cannot enforce the 32 KB frame limit with this version of ws; only the 128 KB message limit applies');
    }
    socket.on('message', (data, isBinary) => handleMessage(connection, data, isBinary));
    socket.on('error', (error) => {
      // ws closed the socket itself (frame or message over the quota: 1009, bad UTF-8: 1007...).
      logger.info(`${facts.connectionId} closed by the gateway: ${error.message}`);
      connection.closeCause ??= { code: closeCodeOf(error), reason: error.message };
    });
    socket.on('close', (code, reason) => {
      const cause = connection.closeCause;
      if (cause) fireDisconnect(connection, cause.code, cause.reason);
      // 1005: the client's close frame had no status code.
      else if (code === 1005) fireDisconnect(connection, code, 'Client-side close frame status not set');
      else fireDisconnect(connection, code, reason.toString('utf8'));
    });
    logger.info(`${facts.connectionId} connected`);
    if (closing) closeByGateway(connection, GOING_AWAY.code, GOING_AWAY.reason);
  };

  const upgrade = async (request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    socket.on('error', (error) => logger.debug(`upgrade socket error: ${error.message}`));
    const path = new URL(request.url ?? '/', 'http://localhost').pathname.replace(/\/$/, '');
    if (closing || (path !== '' && path !== `/${stage}`)) {
      rejectUpgrade(socket, closing ? 503 : 403);
      return;
    }
    const facts: ConnectionFacts = {
      connectionId: apiGatewayStyleId(),
      connectedAt: Date.now(),
      stage,
      apiId,
      domainName,
      sourceIp: request.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
      userAgent: request.headers['user-agent'],
    };
    let connectFacts = facts;
    if (options.authorizer) {
      try {
        const authorizer = await track(Promise.resolve(options.authorizer(buildConnectEvent(facts, request))));
        connectFacts = { ...facts, authorizer };
      } catch (error) {
        const status = statusOf(error) ?? 401;
        logger.info(`connection refused by the authorizer (${status})`);
        rejectUpgrade(socket, status);
        return;
      }
    }
    let status: number;
    let result: unknown;
    try {
      result = await invoke('connect', buildConnectEvent(connectFacts, request));
      status = connectStatus(result);
    } catch (error) {
      logger.error(`$connect handler failed for ${facts.connectionId}`, error);
      status = 500;
    }
    if (status < 200 || status > 299) {
      logger.info(`$connect refused ${facts.connectionId} (${status})`);
      rejectUpgrade(socket, status, routeResponseBody(result));
      return;
    }
    const protocol = headerOf(result, 'sec-websocket-protocol');
    if (protocol) protocols.set(request, protocol);
    if (socket.destroyed) {
      // The client left while $connect ran: the integration saw a connection, so end it properly.
      void track(runDisconnect(connectFacts, 1006, 'Client left during $connect')());
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => accept(ws, connectFacts));
  };

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    track(upgrade(request, socket, head)).catch((error: unknown) => {
      logger.error('Local gateway: upgrade failed', error);
      rejectUpgrade(socket, 500);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  domainName = `${host}:${port}`;

  let closed: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    // New upgrades get 503 from here on; the management API stays up until the handlers are done
    // (a $disconnect handler may still call it).
    closing = true;
    while (open.size > 0 || inFlight.size > 0) {
      const sockets = [...open.values()];
      for (const connection of sockets) closeByGateway(connection, GOING_AWAY.code, GOING_AWAY.reason);
      await waitForSockets(sockets.map((connection) => connection.socket), CLOSE_GRACE_MS);
      await Promise.allSettled([...inFlight]);
    }
    wss.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  };

  return {
    url: `ws://${domainName}`,
    endpoint: `http://${domainName}/${stage}`,
    port,
    stage,
    connections: () => [...open.keys()],
    close: () => (closed ??= close()),
  };
}

/** The route response: a returned `body` string is sent to the client as one frame. */
function routeResponseBody(result: unknown): string | undefined {
  const body = (result as { body?: unknown } | undefined | null)?.body;
  return typeof body === 'string' ? body : undefined;
}

/** `$connect` succeeds unless the handler returns a non-2xx `statusCode` (or throws). */
function connectStatus(result: unknown): number {
  const statusCode = (result as { statusCode?: unknown } | undefined | null)?.statusCode;
  return typeof statusCode === 'number' ? statusCode : 200;
}

function headerOf(result: unknown, name: string): string | undefined {
  const headers = (result as { headers?: Record<string, unknown> } | undefined | null)?.headers;
  if (!headers) return undefined;
  const entry = Object.entries(headers).find(([key]) => key.toLowerCase() === name);
  return typeof entry?.[1] === 'string' ? entry[1] : undefined;
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | undefined | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status <= 599 ? status : undefined;
}

function rejectUpgrade(socket: Duplex, status: number, body = ''): void {
  if (socket.destroyed) return;
  const text = body || JSON.stringify({ message: STATUS_CODES[status] ?? 'Error' });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Connection: close\r\nContent-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  );
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** The close code `ws` attached to a protocol error (its `status-code` symbol); 1002 otherwise. */
function closeCodeOf(error: Error): number {
  const symbol = Object.getOwnPropertySymbols(error).find((candidate) => candidate.description === 'status-code');
  const code = symbol ? (error as unknown as Record<symbol, unknown>)[symbol] : undefined;
  return typeof code === 'number' ? code : 1002;
}

/** Resolve once every socket closed, cutting the ones still open after `graceMs`. */
async function waitForSockets(sockets: WebSocket[], graceMs: number): Promise<void> {
  const pending = sockets.filter((socket) => socket.readyState !== WebSocket.CLOSED);
  if (pending.length === 0) return;
  const allClosed = Promise.all(pending.map((socket) => new Promise((resolve) => socket.once('close', resolve))));
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
  if ((await Promise.race([allClosed, grace])) === 'timeout') {
    for (const socket of pending) socket.terminate();
    await allClosed;
  }
  clearTimeout(timer);
}
