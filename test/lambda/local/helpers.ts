import type { Context } from 'aws-lambda';
import { WebSocket, type ClientOptions } from 'ws';
import type { LocalGatewayHandlers, LocalLogger, LocalWebSocketEvent } from '../../../lambda/local';

/** One handler invocation as recorded by {@link recordingHandlers}. */
export interface Invocation {
  readonly route: 'connect' | 'handler' | 'disconnect';
  readonly event: LocalWebSocketEvent;
  readonly context: Context;
}

/** Behaviour of the recording handlers; each may return a result or throw. */
export interface HandlerBehaviour {
  connect?(event: LocalWebSocketEvent): unknown;
  handler?(event: LocalWebSocketEvent): unknown;
  disconnect?(event: LocalWebSocketEvent): unknown;
}

/** Real async handlers that record every invocation, then run the given behaviour. */
export function recordingHandlers(behaviour: HandlerBehaviour = {}): { handlers: LocalGatewayHandlers; invocations: Invocation[] } {
  const invocations: Invocation[] = [];
  const make = (route: Invocation['route']) => async (event: LocalWebSocketEvent, context: Context) => {
    invocations.push({ route, event, context });
    return behaviour[route]?.(event);
  };
  return { handlers: { connect: make('connect'), handler: make('handler'), disconnect: make('disconnect') }, invocations };
}

/** A logger that keeps what it is given. */
export function capturingLogger(): LocalLogger & { errors: string[]; infos: string[] } {
  const errors: string[] = [];
  const infos: string[] = [];
  return {
    errors,
    infos,
    debug: () => undefined,
    info: (message) => infos.push(message),
    warn: (message) => errors.push(message),
    error: (message) => errors.push(message),
  };
}

/** A connected `ws` client that queues the frames it receives. */
export interface TestClient {
  readonly socket: WebSocket;
  readonly received: string[];
  /** Resolves with the close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** The next frame (waits for it). */
  next(timeoutMs?: number): Promise<string>;
}

/** Open a WebSocket and wait until it is open. */
export async function connectClient(url: string, protocols?: string[], options?: ClientOptions): Promise<TestClient> {
  const socket = new WebSocket(url, protocols, options);
  const received: string[] = [];
  const waiters: Array<(frame: string) => void> = [];
  socket.on('message', (data, isBinary) => {
    const frame = isBinary ? `binary:${Buffer.from(data as Buffer).toString('base64')}` : data.toString();
    const waiter = waiters.shift();
    if (waiter) waiter(frame);
    else received.push(frame);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  return {
    socket,
    received,
    closed,
    next: (timeoutMs = 5_000) => {
      const queued = received.shift();
      if (queued !== undefined) return Promise.resolve(queued);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(onFrame), 1);
          reject(new Error(`no frame within ${timeoutMs} ms`));
        }, timeoutMs);
        const onFrame = (frame: string) => {
          clearTimeout(timer);
          resolve(frame);
        };
        waiters.push(onFrame);
      });
    },
  };
}

/** The HTTP status with which the server refused the WebSocket upgrade. */
export function rejectedStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      response.resume();
      socket.terminate();
    });
    socket.once('error', () => undefined);
    socket.once('open', () => {
      socket.close();
      reject(new Error('the connection was accepted'));
    });
  });
}

/** Poll until `check` returns true. */
export async function waitUntil(check: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
