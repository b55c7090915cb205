/**
 * The local gateway's HTTP upgrade routing: the stage path, the optional authorizer, `$connect`
 * (a non-2xx result rejects the upgrade with that status and body), then the WebSocket handshake.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import { buildConnectEvent, type ConnectionFacts } from './events';
import { routeResponseBody, type ConnectionHub } from './gateway-connections';
import type { LocalAuthorizer } from './gateway-options';
import { apiGatewayStyleId } from './ids';
import type { LocalLogger } from './logger';

/** What the upgrade handler needs. */
export interface UpgradeContext {
  readonly hub: ConnectionHub;
  readonly wss: WebSocketServer;
  readonly stage: string;
  readonly apiId: string;
  readonly authorizer?: LocalAuthorizer;
  readonly logger: LocalLogger;
  /** Subprotocols `$connect` returned, for the handshake. */
  readonly protocols: WeakMap<IncomingMessage, string>;
  /** `{host}:{port}`, known once the server listens. */
  domainName(): string;
}

/** Handles one HTTP upgrade request. */
export function createUpgradeHandler(ctx: UpgradeContext): (request: IncomingMessage, socket: Duplex, head: Buffer) => Promise<void> {
  const { hub, wss, stage, apiId, logger, protocols } = ctx;
  return async (request, socket, head) => {
    socket.on('error', (error) => logger.debug(`upgrade socket error: ${error.message}`));
    const path = new URL(request.url ?? '/', 'http://localhost').pathname.replace(/\/$/, '');
    if (hub.closing || (path !== '' && path !== `/${stage}`)) {
      rejectUpgrade(socket, hub.closing ? 503 : 403);
      return;
    }
    const facts: ConnectionFacts = {
      connectionId: apiGatewayStyleId(),
      connectedAt: Date.now(),
      stage,
      apiId,
      domainName: ctx.domainName(),
      sourceIp: request.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
      userAgent: request.headers['user-agent'],
    };
    let connectFacts = facts;
    if (ctx.authorizer) {
      try {
        const authorizer = await hub.track(Promise.resolve(ctx.authorizer(buildConnectEvent(facts, request))));
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
      result = await hub.invoke('connect', buildConnectEvent(connectFacts, request));
      status = connectStatus(result);
    } catch (error) {
      logger.error(`$connect handler failed for ${facts.connectionId}`, error);
      status = 500;
    }
    if (status < 200 || status > 299) {
      const body = routeResponseBody(result);
      logger.info(`$connect refused ${facts.connectionId} (${status}${body ? `: ${body}` : ''})`);
      rejectUpgrade(socket, status, body);
      return;
    }
    const protocol = headerOf(result, 'sec-websocket-protocol');
    if (protocol) protocols.set(request, protocol);
    if (socket.destroyed) {
      // The client left while $connect ran: the integration saw a connection, so end it properly.
      void hub.track(hub.disconnectUnopened(connectFacts, 1006, 'Client left during $connect'));
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => hub.accept(ws, connectFacts));
  };
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

/** Answers an upgrade request with an HTTP error (API Gateway's JSON body). */
export function rejectUpgrade(socket: Duplex, status: number, body = ''): void {
  if (socket.destroyed) return;
  const text = body || JSON.stringify({ message: STATUS_CODES[status] ?? 'Error' });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Connection: close\r\nContent-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  );
}
