import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { MAX_CONNECTION_SECONDS, MAX_MESSAGE_BYTES } from '../constants';
import { createActivityLog } from './activity-log';
import { createConnectionHub, GOING_AWAY } from './gateway-connections';
import type { GatewayTraffic, LocalGateway, LocalGatewayOptions } from './gateway-options';
import { createUpgradeHandler, rejectUpgrade } from './gateway-upgrade';
import { createVirtualConnections } from './gateway-virtual';
import { apiIdLike } from './ids';
import { stderrLogger } from './logger';
import { createManagementApi } from './management-api';

export type {
  GatewayTraffic, LocalAuthorizer, LocalGateway, LocalGatewayHandlers, LocalGatewayOptions, UnorderedOptions, VirtualConnections,
} from './gateway-options';

/** How long `close()` waits for clients to answer the closing handshake before cutting sockets. */
const CLOSE_GRACE_MS = 1_000;
/** How long the Management API keeps an idle keep-alive socket (AWS endpoints: about a minute). */
const KEEP_ALIVE_TIMEOUT_MS = 60_000;

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
  const host = options.host ?? '127.0.0.1';
  const stage = options.stage ?? 'prod';
  const logger = options.logger ?? stderrLogger;
  const activity = options.logActivity ? createActivityLog(logger) : undefined;
  const listeners = [options.onTraffic, activity?.observe].filter((listener) => listener !== undefined);
  const onTraffic = listeners.length > 0
    ? (traffic: GatewayTraffic) => {
      for (const listener of listeners) {
        try {
          listener(traffic);
        } catch (error) {
          logger.error('Local gateway: the onTraffic listener failed', error);
        }
      }
    }
    : undefined;
  const hub = createConnectionHub({
    onTraffic,
    handlers: options.handlers,
    logger,
    idleTimeoutMs: options.idleTimeoutMs ?? 10 * 60 * 1000,
    maxConnectionMs: options.maxConnectionMs ?? MAX_CONNECTION_SECONDS * 1000,
    unordered: options.unordered === true ? {} : options.unordered || undefined,
    authorizerOnEveryRoute: options.authorizerOnEveryRoute === true,
  });
  const protocols = new WeakMap<IncomingMessage, string>();
  let domainName = '';

  const virtual = createVirtualConnections();
  const managementApi = createManagementApi({
    stage,
    findConnection: (id) => {
      const found = virtual.find(id);
      if (found) return found;
      const connection = hub.open.get(id);
      return connection && connection.socket.readyState === WebSocket.OPEN ? connection : undefined;
    },
    faults: options.faults,
    rateLimit: options.managementRateLimit,
    latencyMs: options.managementLatencyMs,
    logger,
    observe: onTraffic && ((exchange) => onTraffic({ type: 'management', at: Date.now(), ...exchange })),
  });
  const server = createServer((request, response) => {
    if (!options.onHttpRequest) return managementApi(request, response);
    let taken = false;
    try {
      taken = options.onHttpRequest(request, response);
    } catch (error) {
      logger.error('Local gateway: the onHttpRequest handler failed', error);
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' }).end('Internal server error');
      return;
    }
    if (!taken) managementApi(request, response);
  });
  // Idle keep-alive sockets stay open for a minute, as AWS endpoints keep them (Node's default
  // is 5 s): a client reusing a socket just as the server closed it would get ECONNRESET.
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  const wss = new WebSocketServer({
    noServer: true,
    // Message quota (128 KB): a bigger message closes the connection with 1009.
    maxPayload: MAX_MESSAGE_BYTES,
    // API Gateway only agrees to a subprotocol that the $connect integration returned.
    handleProtocols: (_offered, request) => protocols.get(request) ?? false,
  });
  const upgrade = createUpgradeHandler({
    hub, wss, stage, apiId: apiIdLike(), domainName: () => domainName, authorizer: options.authorizer, logger, protocols,
  });
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    hub.track(upgrade(request, socket, head)).catch((error: unknown) => {
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
    hub.startClosing();
    while (hub.open.size > 0 || hub.inFlight.size > 0) {
      const sockets = [...hub.open.values()];
      for (const connection of sockets) hub.closeByGateway(connection, GOING_AWAY.code, GOING_AWAY.reason);
      await waitForSockets(sockets.map((connection) => connection.socket), CLOSE_GRACE_MS);
      await Promise.allSettled([...hub.inFlight]);
    }
    activity?.flush();
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
    connections: () => [...hub.open.keys()],
    flushActivity: () => activity?.flush(),
    virtualConnections: virtual.api,
    close: () => (closed ??= close()),
  };
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
