/**
 * The console's HTTP routes on the local gateway's port: the page (`GET /_console`), its script,
 * the live view as Server-Sent Events (`GET /_console/events`, one `view` event per change, at
 * most every `pushIntervalMs`) and the actions (`POST /_console/api/{action}`, JSON).
 *
 * The console acts on the app, so a page on another origin must not reach it: actions need a JSON
 * content type (a cross-origin form cannot send one without a CORS preflight, which is never
 * answered) and a matching `Origin` when the browser sends one, and every route refuses a `Host`
 * that is not this machine's (DNS rebinding).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CONSOLE_ACTIONS, runAction, type ConsoleAction } from './actions';
import { consolePageHtml } from './page-html';
import { CONSOLE_PAGE_SCRIPT } from './page-script.generated';
import type { ConsoleState } from './state';
import type { AppDescription } from '../../core/app-description';

/** The path the console is served under. */
export const CONSOLE_PATH = '/_console';

/** Largest action body accepted (a publish carries at most API Gateway's 128 KB message). */
const MAX_ACTION_BYTES = 256 * 1024;

/** Options of {@link createConsoleRoutes}. */
export interface ConsoleRoutesOptions {
  readonly state: ConsoleState;
  readonly app: () => AppDescription | undefined;
  /**
   * Host names (without port) the console answers besides loopback ones, e.g. the dev server's `--host`.
   * @default - loopback only
   */
  readonly hosts?: readonly string[];
  /**
   * Shortest time between two pushes of the view to a page.
   * @default 100
   */
  readonly pushIntervalMs?: number;
}

/** The console's routes: `handle` takes a request when it is one of them; `close` ends the open event streams. */
export interface ConsoleRoutes {
  handle(request: IncomingMessage, response: ServerResponse): boolean;
  close(): void;
}

/** Creates the console's HTTP routes. */
export function createConsoleRoutes(options: ConsoleRoutesOptions): ConsoleRoutes {
  const { state } = options;
  const pushIntervalMs = options.pushIntervalMs ?? 100;
  const hosts = new Set(['localhost', '127.0.0.1', '::1', '[::1]', ...(options.hosts ?? [])]);
  const streams = new Set<ServerResponse>();

  const events = (request: IncomingMessage, response: ServerResponse) => {
    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'connection': 'keep-alive' });
    streams.add(response);
    let timer: NodeJS.Timeout | undefined;
    let lastPush = 0;
    const push = () => {
      timer = undefined;
      lastPush = Date.now();
      response.write(`event: view\ndata: ${JSON.stringify(state.view())}\n\n`);
    };
    const schedule = () => {
      if (timer) return;
      timer = setTimeout(push, Math.max(0, lastPush + pushIntervalMs - Date.now()));
    };
    // Ages move on even when nothing happens; a comment line also keeps proxies from closing the stream.
    const tick = setInterval(schedule, 5_000);
    const unsubscribe = state.onChange(schedule);
    push();
    request.once('close', () => {
      unsubscribe();
      clearTimeout(timer);
      clearInterval(tick);
      streams.delete(response);
    });
  };

  const act = (request: IncomingMessage, response: ServerResponse, action: ConsoleAction) => {
    if (!String(request.headers['content-type'] ?? '').startsWith('application/json')) {
      sendJson(response, 415, { ok: false, error: 'Actions take a JSON body (content-type: application/json)' });
      request.resume();
      return;
    }
    const origin = request.headers.origin;
    if (origin !== undefined && hostOf(origin) !== request.headers.host) {
      sendJson(response, 403, { ok: false, error: `Actions are taken from the console's own page only, got origin ${origin}` });
      request.resume();
      return;
    }
    void readJson(request).then(
      (body) => runAction(options.app(), state, action, body),
      (error: Error) => ({ ok: false as const, error: error.message }),
    // 200 either way: the request was understood, and the page shows the action's error itself
    // (a 4xx would also print a resource error in the browser's console).
    ).then((answer) => sendJson(response, 200, answer));
  };

  const handle = (request: IncomingMessage, response: ServerResponse): boolean => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (path !== CONSOLE_PATH && !path.startsWith(`${CONSOLE_PATH}/`)) return false;
    if (!hosts.has(hostnameOf(request.headers.host))) {
      response.writeHead(403, { 'content-type': 'text/plain' }).end('The console answers on this machine only');
      request.resume();
      return true;
    }
    const route = path.slice(CONSOLE_PATH.length);
    if (request.method === 'GET' && (route === '' || route === '/')) {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(consolePageHtml());
    } else if (request.method === 'GET' && route === '/app.js') {
      response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }).end(CONSOLE_PAGE_SCRIPT);
    } else if (request.method === 'GET' && route === '/events') {
      events(request, response);
    } else if (request.method === 'POST' && route.startsWith('/api/') && (CONSOLE_ACTIONS as readonly string[]).includes(route.slice(5))) {
      act(request, response, route.slice(5) as ConsoleAction);
    } else {
      request.resume();
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
    }
    return true;
  };

  return {
    handle,
    close: () => {
      for (const response of streams) response.end();
      streams.clear();
    },
  };
}

/** The host name of a `Host` header, without the port (IPv6 keeps its brackets). */
function hostnameOf(host: string | undefined): string {
  if (!host) return '';
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0];
}

/** `host:port` of an origin URL. */
function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_ACTION_BYTES) throw new Error(`The request body is larger than ${MAX_ACTION_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new Error('The request body is not JSON');
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  response.end(text);
}
