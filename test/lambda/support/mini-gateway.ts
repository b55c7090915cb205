import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { WebSocketEvent, WebSocketHandler } from '../../../lambda';

/**
 * A minimal API Gateway WebSocket stand-in for these tests, until the local gateway
 * (`lambda/local/gateway.ts`) lands: `$connect` runs before the upgrade is accepted (non-2xx
 * rejects it), every frame invokes `$default` concurrently (no ordering, like API Gateway), a
 * returned `body` is sent as one frame, and `@connections` (POST/DELETE) is served on the same
 * port, answering 410 for unknown connections.
 */
export interface MiniGateway {
  readonly url: string;
  readonly endpoint: string;
  /** Connection ids currently open. */
  connectionIds(): string[];
  close(): Promise<void>;
}

export interface MiniGatewayOptions {
  readonly handlers: { connect: WebSocketHandler; handler: WebSocketHandler; disconnect: WebSocketHandler };
  readonly stage?: string;
  /** Delays a frame before `$default` runs (to reorder messages in tests). */
  readonly delayFrame?: (text: string) => number;
}

function queryOf(req: IncomingMessage): Record<string, string> | null {
  const params = new URL(req.url ?? '/', 'http://x').searchParams;
  const entries = [...params.entries()];
  return entries.length > 0 ? Object.fromEntries(entries) : null;
}

export async function startMiniGateway(options: MiniGatewayOptions): Promise<MiniGateway> {
  const stage = options.stage ?? 'local';
  const sockets = new Map<string, WebSocket>();
  const connectedAt = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  let domainName = '';
  const context = (connectionId: string, routeKey: string, eventType: string) => ({
    connectionId,
    routeKey,
    eventType,
    domainName,
    stage,
    connectedAt: connectedAt.get(connectionId),
    requestTimeEpoch: Date.now(),
    messageId: randomUUID(),
    identity: { sourceIp: '127.0.0.1' },
  });

  const server = createServer((req, res) => {
    const match = new RegExp(`^/${stage}/@connections/([^/?]+)$`).exec(req.url ?? '');
    const socket = match ? sockets.get(decodeURIComponent(match[1])) : undefined;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (!match) {
        res.writeHead(404).end();
        return;
      }
      if (!socket) {
        res.writeHead(410, { 'content-type': 'application/json', 'x-amzn-errortype': 'GoneException' }).end('{"message":"Gone"}');
        return;
      }
      if (req.method === 'POST') socket.send(Buffer.concat(chunks).toString('utf8'));
      else if (req.method === 'DELETE') socket.close(1000);
      res.writeHead(200).end();
    });
  });

  const wss = new WebSocketServer({
    server,
    verifyClient: (info, done) => {
      const connectionId = randomUUID();
      (info.req as IncomingMessage & { connectionId?: string }).connectionId = connectionId;
      connectedAt.set(connectionId, Date.now());
      const event: WebSocketEvent = {
        requestContext: context(connectionId, '$connect', 'CONNECT'),
        headers: info.req.headers as Record<string, string>,
        queryStringParameters: queryOf(info.req),
      };
      options.handlers.connect(event).then(
        (result) => (result.statusCode >= 200 && result.statusCode < 300 ? done(true) : done(false, result.statusCode)),
        () => done(false, 500),
      );
    },
  });

  wss.on('connection', (socket, req) => {
    const connectionId = (req as IncomingMessage & { connectionId: string }).connectionId;
    sockets.set(connectionId, socket);
    socket.on('message', (data) => {
      const text = data.toString('utf8');
      const invoke = async () => {
        const result = await options.handlers.handler({ requestContext: context(connectionId, '$default', 'MESSAGE'), body: text, isBase64Encoded: false });
        if (result.body !== undefined && socket.readyState === socket.OPEN) socket.send(result.body);
      };
      const delay = options.delayFrame?.(text) ?? 0;
      const timer = setTimeout(() => {
        timers.delete(timer);
        void invoke().catch(() => socket.close(1011));
      }, delay);
      timers.add(timer);
    });
    socket.on('close', () => {
      sockets.delete(connectionId);
      void options.handlers.disconnect({ requestContext: context(connectionId, '$disconnect', 'DISCONNECT') }).catch(() => undefined);
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  domainName = `127.0.0.1:${port}`;
  return {
    url: `ws://127.0.0.1:${port}`,
    endpoint: `http://127.0.0.1:${port}/${stage}`,
    connectionIds: () => [...sockets.keys()],
    close: async () => {
      timers.forEach((timer) => clearTimeout(timer));
      for (const socket of wss.clients) socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
