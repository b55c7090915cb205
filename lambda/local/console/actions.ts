/**
 * The console's actions, each through the app's public publisher (the one `publisher()` returns,
 * with the `$default` handler's store and endpoint): `routes.<path>.publish()` / `.enqueue()` /
 * `.stop()` and `connections.disconnect()` / `.reconnect()`. A request the console cannot make
 * sense of, and any error the publisher throws (a wrong filter, data the transformer refuses),
 * comes back as `{ ok: false, error }` for the page to show.
 */
import type { ConsoleState } from './state';
import type { ActionResponse, PublishRequest } from './view';
import type { AppDescription } from '../../core/app-description';
import { isRecord } from '../../util/guards';

/** The actions the page may post to `/_console/api/{action}`. */
export const CONSOLE_ACTIONS = ['publish', 'enqueue', 'stop', 'disconnect', 'reconnect'] as const;

/** One of {@link CONSOLE_ACTIONS}. */
export type ConsoleAction = (typeof CONSOLE_ACTIONS)[number];

/** A request the console refuses, with the message the page shows. */
class ActionError extends Error {}

/** Runs an action; never throws. */
export async function runAction(app: AppDescription | undefined, state: ConsoleState, action: ConsoleAction, body: unknown): Promise<ActionResponse> {
  try {
    if (!app) {
      throw new ActionError('The handlers module exports no `$default` handler made by this library (a wrapped handler?): the console cannot act on the app.');
    }
    const result = await run(app, state, action, body);
    return { ok: true, result };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  } finally {
    state.changed();
  }
}

async function run(app: AppDescription, state: ConsoleState, action: ConsoleAction, body: unknown): Promise<unknown> {
  if (!isRecord(body)) throw new ActionError('The request body must be a JSON object');
  const publisher = app.publisher();
  if (action === 'disconnect' || action === 'reconnect') {
    const target = connectionTarget(body, action);
    const connections = publisher.connections as Record<typeof action, (target: unknown) => Promise<unknown>>;
    const result = await connections[action](target);
    state.refreshAll();
    return result;
  }
  const path = routePath(app, body.path);
  const filter = body.filter === undefined ? undefined : publishFilter(body.filter);
  if (action === 'stop') {
    const result = await routeMethod(publisher.routes, path, 'stop')(filter === undefined ? {} : { filter });
    state.refreshAll();
    return result;
  }
  const data = parseData(body.data);
  if (body.id !== undefined && (typeof body.id !== 'string' || body.id === '')) throw new ActionError('`id` must be a non-empty string');
  const args = { data, ...(filter === undefined ? {} : { filter }), ...(body.id === undefined ? {} : { id: body.id }) };
  if (action === 'enqueue') return routeMethod(publisher.routes, path, 'enqueue')(args);

  const newest = state.stream.entries()[0]?.id ?? 0;
  const at = Date.now();
  const result = (await routeMethod(publisher.routes, path, 'publish')(args)) as { matched: number; delivered: number; gone: number; failed: number };
  const counts = { matched: result.matched, delivered: result.delivered, gone: result.gone, failed: result.failed };
  // The posts of this publish were filed as they were answered, before publish() resolved.
  const own = state.stream.entries().reverse().find((entry) => entry.id > newest && entry.kind === 'publish' && entry.path === path && !entry.fromConsole);
  if (own) state.stream.complete(own.id, counts);
  else state.stream.add({ at, kind: 'publish', path, detail: JSON.stringify(data) ?? 'undefined', fromConsole: true, result: counts });
  // Gone connections lost their rows before publish() resolved.
  if (result.gone > 0) state.refreshAll();
  return result;
}

function routePath(app: AppDescription, path: unknown): string {
  if (typeof path !== 'string' || !app.routes.some((route) => route.path === path)) {
    throw new ActionError(`\`path\` must be one of the app's subscription routes (${app.routes.map((route) => route.path).join(', ')}), got: ${JSON.stringify(path)}`);
  }
  return path;
}

function parseData(text: unknown): unknown {
  if (typeof text !== 'string') throw new ActionError('`data` must be JSON text');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ActionError(`The data is not JSON: ${(error as Error).message}`);
  }
}

/** The filter as the publisher takes it; the publisher checks names, fields and their order. */
function publishFilter(filter: unknown): NonNullable<PublishRequest['filter']> {
  if (!isRecord(filter) || typeof filter.name !== 'string') throw new ActionError('`filter` must be { name, ctx?, input? }');
  const group = (values: unknown, name: string) => {
    if (values === undefined) return undefined;
    if (!isRecord(values)) throw new ActionError(`\`filter.${name}\` must be an object of field values`);
    return values as Record<string, never>;
  };
  const ctx = group(filter.ctx, 'ctx');
  const input = group(filter.input, 'input');
  return { name: filter.name, ...(ctx && Object.keys(ctx).length > 0 ? { ctx } : {}), ...(input && Object.keys(input).length > 0 ? { input } : {}) };
}

function connectionTarget(body: Record<string, unknown>, action: 'disconnect' | 'reconnect'): unknown {
  if (typeof body.connectionId === 'string' && body.connectionId !== '') return { connectionId: body.connectionId };
  if (typeof body.key === 'string' && body.key !== '') return { key: body.key };
  if (action === 'reconnect' && body.all === true) return { all: true };
  throw new ActionError(`${action} needs { connectionId } or { key }${action === 'reconnect' ? ' or { all: true }' : ''}`);
}

/** `routes.a.b.<method>` of the publisher's router-shaped proxy. */
function routeMethod(routes: unknown, path: string, method: string): (args: unknown) => Promise<unknown> {
  let node = routes as Record<string, unknown>;
  for (const part of path.split('.')) node = node[part] as Record<string, unknown>;
  return node[method] as (args: unknown) => Promise<unknown>;
}
