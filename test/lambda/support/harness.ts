import { createTRPCClient, createWSClient, wsLink, type TRPCClient } from '@trpc/client';
import superjson from 'superjson';
import { WebSocket } from 'ws';
import { memory, type ConnectHandlerOptions, type Logger, type MemoryStore, type MessageHandlerOptions, type SubscriptionStore } from '../../../lambda';
import { silentLogger, startLocalGateway, type LocalGateway, type UnorderedOptions } from '../../../lambda/local';
import type { AppRouter, ChatMessage } from '../../fixtures/router';
import { appSubscriptions } from '../../fixtures/router';

/** A logger that keeps what it gets, so tests stay quiet and can assert on it. */
export function recordingLogger(): Logger & { readonly entries: { level: string; message: string; details?: Record<string, unknown> }[] } {
  const entries: { level: string; message: string; details?: Record<string, unknown> }[] = [];
  return {
    entries,
    error: (message, details) => entries.push({ level: 'error', message, details }),
    warn: (message, details) => entries.push({ level: 'warn', message, details }),
  };
}

/** Polls `check` until it returns true (or throws after `timeoutMs`). */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The example app's handlers over a store, served by a gateway. */
export interface ExampleServer {
  readonly gateway: LocalGateway;
  readonly store: SubscriptionStore;
  readonly logger: ReturnType<typeof recordingLogger>;
  close(): Promise<void>;
}

/** Starts the test app (`test/fixtures/router.ts`) on a gateway with a store (memory by default). */
export async function startExampleServer(options: {
  store?: SubscriptionStore;
  /** The example's subscriptions with more filters, if a test needs them. */
  subscriptions?: Pick<typeof appSubscriptions, 'connect' | 'handler' | 'disconnect'>;
  handler?: MessageHandlerOptions;
  connect?: ConnectHandlerOptions;
  /** API Gateway does not order a connection's messages: reorder them (the local gateway's `unordered`). */
  unordered?: UnorderedOptions;
} = {}): Promise<ExampleServer & { store: SubscriptionStore | MemoryStore }> {
  const store = options.store ?? memory();
  const logger = recordingLogger();
  const subscriptions = options.subscriptions ?? appSubscriptions;
  const gateway = await startLocalGateway({
    handlers: {
      connect: subscriptions.connect({ store, logger, ...options.connect }),
      handler: subscriptions.handler({ store, logger, ...options.handler }),
      disconnect: subscriptions.disconnect({ store, logger }),
    },
    unordered: options.unordered,
    logger: silentLogger,
  });
  return { gateway, store, logger, close: () => gateway.close() };
}

/** A real tRPC client (`createWSClient` + `wsLink`) over a real WebSocket. */
export function connectClient(url: string, connectionParams?: Record<string, string>): { client: TRPCClient<AppRouter>; close(): void } {
  const wsClient = createWSClient({
    url,
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    ...(connectionParams ? { connectionParams } : {}),
    retryDelayMs: () => 50,
  });
  const client: TRPCClient<AppRouter> = createTRPCClient<AppRouter>({ links: [wsLink({ client: wsClient, transformer: superjson })] });
  return { client, close: () => void wsClient.close() };
}

/**
 * Connects `count` real clients (user ids `u0`, `u1`, …) to `gateway`, each subscribed to room `r`
 * of `onMessage`; resolves once all are started, with each client's received texts and the
 * connection ids in connect order (the gateway lists open connections in insertion order).
 * `onClient` gets each client's close.
 */
export async function roomSubscribers(
  gateway: LocalGateway, count: number, onClient: (close: () => void) => void,
): Promise<{ inboxes: string[][]; connectionIds: string[] }> {
  const before = new Set(gateway.connections());
  const inboxes: string[][] = [];
  for (let i = 0; i < count; i++) {
    const { client, close } = connectClient(gateway.url, { userId: `u${i}` });
    onClient(close);
    const inbox: string[] = [];
    inboxes.push(inbox);
    await new Promise<void>((resolve) => {
      client.onMessage.subscribe({ room: 'r' }, { onStarted: () => resolve(), onData: (m: ChatMessage) => inbox.push(m.text) });
    });
  }
  return { inboxes, connectionIds: gateway.connections().filter((id) => !before.has(id)) };
}

/** Real tRPC clients and sockets opened during a test, closed together after it. */
export interface ClientPool {
  /** A real tRPC client to `url`, closed by {@link ClientPool.closeAll}. */
  client(url: string, connectionParams?: Record<string, string>): TRPCClient<AppRouter>;
  /** Closes `close` together with the clients. */
  track(close: () => void): void;
  closeAll(): void;
}

/** Creates a {@link ClientPool}. */
export function clientPool(): ClientPool {
  const closers: Array<() => void> = [];
  return {
    client(url, connectionParams) {
      const connection = connectClient(url, connectionParams);
      closers.push(connection.close);
      return connection.client;
    },
    track: (close) => void closers.push(close),
    closeAll: () => closers.splice(0).forEach((close) => close()),
  };
}

/** Parses a server frame and undoes superjson on its result data or error, as the client does. */
export function decodeServerFrame(frame: string): any {
  const message = JSON.parse(frame);
  if (message.error) return { ...message, error: superjson.deserialize(message.error) };
  if (message.result?.data !== undefined) return { ...message, result: { ...message.result, data: superjson.deserialize(message.result.data) } };
  return message;
}

/** A raw WebSocket for frames the tRPC client never sends; collects received text frames. */
export interface RawSocket {
  readonly socket: WebSocket;
  readonly frames: string[];
  /** Resolves with the close code. */
  readonly closed: Promise<number>;
  /** The next `count` frames not read yet. */
  next(count?: number): Promise<string[]>;
}

export async function rawSocket(url: string): Promise<RawSocket> {
  const socket = new WebSocket(url);
  const frames: string[] = [];
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  socket.on('message', (data) => frames.push(data.toString()));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  let read = 0;
  return {
    socket,
    frames,
    closed,
    next: async (count = 1) => {
      await waitFor(() => frames.length >= read + count, 5000, `${count} frame(s)`);
      const out = frames.slice(read, read + count);
      read += count;
      return out;
    },
  };
}
