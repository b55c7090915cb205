/**
 * The local gateway's per-connection logic: an accepted socket becomes an open connection with
 * its idle and lifetime timers, its messages invoke `$default` (in order, or with random delays
 * when `unordered`), and whatever closes it fires `$disconnect` exactly once.
 */
import { isUtf8 } from 'node:buffer';
import { WebSocket, type RawData } from 'ws';
import { MAX_FRAME_BYTES } from '../constants';
import { describeConnectionError } from './connection-errors';
import {
  buildDisconnectEvent,
  buildMessageEvent,
  createLambdaContext,
  invokeHandler,
  type ConnectionFacts,
  type LocalWebSocketEvent,
} from './events';
import { limitIncomingFrameSize } from './frame-limit';
import type { GatewayTraffic, LocalGatewayHandlers, UnorderedOptions } from './gateway-options';
import type { LocalLogger } from './logger';
import type { ManagedConnection } from './management-api';

/** API Gateway's integration timeout, used for the context's remaining time. */
const INTEGRATION_TIMEOUT_MS = 29_000;
export const GOING_AWAY = { code: 1001, reason: 'Going away' } as const;

/** A connection the gateway holds open. */
export interface OpenConnection extends ManagedConnection {
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

/** The settled options the connections work with. */
export interface ConnectionSettings {
  readonly handlers: LocalGatewayHandlers;
  readonly logger: LocalLogger;
  readonly idleTimeoutMs: number;
  readonly maxConnectionMs: number;
  readonly unordered?: UnorderedOptions;
  readonly authorizerOnEveryRoute: boolean;
  /** Receives what the connections see (already guarded against a listener that throws). */
  readonly onTraffic?: (traffic: GatewayTraffic) => void;
}

/** The open connections and the handler invocations in flight. */
export interface ConnectionHub {
  /** Open connections by id. */
  readonly open: ReadonlyMap<string, OpenConnection>;
  /** Handler invocations (and authorizer calls) not finished yet. */
  readonly inFlight: ReadonlySet<Promise<unknown>>;
  /** True once the gateway is closing: new connections are closed as soon as they open. */
  readonly closing: boolean;
  /** Counts `promise` as in flight until it settles. */
  track<T>(promise: Promise<T>): Promise<T>;
  /** Invokes a route's handler with a Lambda-like context. */
  invoke(name: keyof LocalGatewayHandlers, event: LocalWebSocketEvent): Promise<unknown>;
  /** Runs `$disconnect` for a connection that never opened (the client left during `$connect`). */
  disconnectUnopened(facts: ConnectionFacts, code: number, reason: string): Promise<void>;
  /** Takes over a socket whose `$connect` succeeded. */
  accept(socket: WebSocket, facts: ConnectionFacts): void;
  /** Closes a connection on the gateway's side, with the code `$disconnect` will report. */
  closeByGateway(connection: OpenConnection, code: number, reason: string): void;
  /** Marks the gateway closing. */
  startClosing(): void;
}

/** Creates the connection hub of one gateway. */
export function createConnectionHub(settings: ConnectionSettings): ConnectionHub {
  const { handlers, logger, idleTimeoutMs, maxConnectionMs, unordered, onTraffic } = settings;
  /** Logs a connection-level error frame (a refusal: createContext threw) with its code and message. */
  const logConnectionError = (connectionId: string, frame: string | Buffer): void => {
    const description = describeConnectionError(frame);
    if (description) logger.info(`${connectionId} connection error ${description}`);
  };
  const open = new Map<string, OpenConnection>();
  const inFlight = new Set<Promise<unknown>>();
  let closing = false;

  const track = <T>(promise: Promise<T>): Promise<T> => {
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise)).catch(() => undefined);
    return promise;
  };

  const invoke = (name: keyof LocalGatewayHandlers, event: LocalWebSocketEvent): Promise<unknown> =>
    track(invokeHandler(handlers[name], event, createLambdaContext(name, INTEGRATION_TIMEOUT_MS)));

  const runDisconnect = (facts: ConnectionFacts, code: number, reason: string) => async () => {
    logger.info(`${facts.connectionId} disconnected (${code}${reason ? ` ${reason}` : ''})`);
    const event = buildDisconnectEvent(facts, { code, reason, includeAuthorizer: settings.authorizerOnEveryRoute });
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
    onTraffic?.({ type: 'disconnected', at: Date.now(), connectionId: connection.facts.connectionId, code, reason });
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
    const { connectionId } = connection.facts;
    const body = isBinary ? payload.toString('base64') : payload.toString('utf8');
    onTraffic?.({ type: 'message', at: Date.now(), connectionId, body, isBase64Encoded: isBinary });
    const event = buildMessageEvent(connection.facts, { body, isBase64Encoded: isBinary, includeAuthorizer: settings.authorizerOnEveryRoute });
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
      if (frame !== undefined && connection.socket.readyState === WebSocket.OPEN) {
        logConnectionError(connection.facts.connectionId, frame);
        connection.socket.send(frame);
        onTraffic?.({ type: 'reply', at: Date.now(), connectionId, body: frame });
      }
      onTraffic?.({ type: 'handled', at: Date.now(), connectionId });
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
        logConnectionError(facts.connectionId, data);
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
    onTraffic?.({
      type: 'connected', at: Date.now(), connectionId: facts.connectionId, connectedAt: facts.connectedAt, sourceIp: facts.sourceIp, userAgent: facts.userAgent,
    });
    if (closing) closeByGateway(connection, GOING_AWAY.code, GOING_AWAY.reason);
  };

  return {
    open,
    inFlight,
    get closing() {
      return closing;
    },
    track,
    invoke,
    disconnectUnopened: (facts, code, reason) => runDisconnect(facts, code, reason)(),
    accept,
    closeByGateway,
    startClosing: () => {
      closing = true;
    },
  };
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

/** The route response: a returned `body` string is sent to the client as one frame. */
export function routeResponseBody(result: unknown): string | undefined {
  const body = (result as { body?: unknown } | undefined | null)?.body;
  return typeof body === 'string' ? body : undefined;
}
