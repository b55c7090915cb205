/** The console page's read-only panels: connections, subscriptions by route, the stream, the queue. */
import { act } from './api';
import { age, clock, compact, describeResult, h, shortId, type Child } from './dom';
import type {
  ConnectionView, ConsoleView, FilterFieldView, QueueView, StreamEntryView, SubscriptionView, TargetView,
} from '../view';

/** What a click on a subscription does: fill the publish form with its route and filter values. */
export type SelectSubscription = (path: string, filter?: { readonly name: string; readonly values: readonly FilterFieldView[] }) => void;

/** Shows the outcome of an action next to the control that started it. */
export type ShowResult = (text: string, ok: boolean) => void;

/** `room=lobby` */
function fieldText(field: FilterFieldView): string {
  const { value } = field;
  const shown = value !== null && typeof value === 'object' ? `#${value.digest.slice(0, 8)}` : JSON.stringify(value);
  return `${field.field}=${shown}`;
}

function filterChips(subscription: SubscriptionView, select: SelectSubscription): Child[] {
  return subscription.filters.map((filter) =>
    h('button', {
      'className': 'chip',
      'type': 'button',
      'title': `Fill the publish form with ${filter.name}'s values`,
      'data-testid': 'filter-chip',
      'onClick': () => select(subscription.path, filter),
    }, h('b', {}, filter.name), ' ', filter.values.map(fieldText).join(', ')));
}

/** The connections panel. */
export function renderConnections(view: ConsoleView, select: SelectSubscription, show: ShowResult): Child[] {
  if (view.connections.length === 0) return [h('p', { className: 'empty' }, 'No connections. Open your app (or any tRPC client) on the WebSocket URL.')];
  const control = (label: string, action: 'reconnect' | 'disconnect', connection: ConnectionView) =>
    h('button', {
      'type': 'button',
      'className': action === 'disconnect' ? 'danger' : '',
      'data-testid': action,
      'onClick': async () => {
        const answer = await act(action, { connectionId: connection.connectionId });
        show(answer.ok ? describeResult(label, answer.result) : answer.error, answer.ok);
      },
    }, label);
  return view.connections.map((connection) => h('article', { 'className': 'connection', 'data-testid': 'connection', 'data-connection-id': connection.connectionId },
    h('header', {},
      h('code', { title: connection.connectionId }, connection.connectionId),
      connection.key === undefined ? null : h('span', { className: 'key', title: 'connectionKey(ctx)' }, connection.key),
      h('span', { 'className': 'age', 'data-since': connection.connectedAt, 'title': new Date(connection.connectedAt).toISOString() }, age(view.now - connection.connectedAt)),
      h('span', { className: 'actions' }, control('Reconnect', 'reconnect', connection), control('Disconnect', 'disconnect', connection))),
    renderCtx(connection),
    connection.refusal === undefined ? null : h('p', { className: 'refusal' }, `Refused: ${compact(connection.refusal)}`),
    connection.subscriptions.length === 0
      ? h('p', { className: 'muted' }, 'no subscriptions')
      : h('ul', { className: 'subscriptions' }, ...connection.subscriptions.map((subscription) =>
        h('li', { 'data-testid': 'subscription' },
          h('button', { type: 'button', className: 'route', title: 'Fill the publish form with this route', onClick: () => select(subscription.path, subscription.filters[0]) },
            subscription.path),
          h('span', { className: 'muted' }, ` #${subscription.id}`),
          subscription.input === undefined ? null : h('code', { className: 'input', title: 'input' }, compact(subscription.input, 80)),
          ...filterChips(subscription, select))))));
}

function renderCtx(connection: ConnectionView): Child {
  const ctx = connection.ctx;
  const parts: Child[] = [];
  if (ctx?.connectionParams) parts.push(h('span', {}, h('i', {}, 'connectionParams '), h('code', {}, compact(ctx.connectionParams, 120))));
  if (ctx?.authorizer) parts.push(h('span', {}, h('i', {}, 'authorizer '), h('code', {}, compact(ctx.authorizer, 120))));
  if (ctx?.query && Object.keys(ctx.query).length > 0) parts.push(h('span', {}, h('i', {}, 'query '), h('code', {}, compact(ctx.query, 120))));
  parts.push(h('span', { className: 'muted' }, `${connection.sourceIp}${connection.userAgent ? ` · ${compact(connection.userAgent, 40)}` : ''}`));
  return h('p', { className: 'ctx', title: 'What createContext builds ctx from' }, ...parts);
}

/** The subscriptions grouped by route. */
export function renderRoutes(view: ConsoleView, select: SelectSubscription): Child[] {
  const byPath = new Map<string, Array<{ connection: ConnectionView; subscription: SubscriptionView }>>();
  for (const route of view.routes ?? []) byPath.set(route.path, []);
  for (const connection of view.connections) {
    for (const subscription of connection.subscriptions) {
      const list = byPath.get(subscription.path) ?? [];
      list.push({ connection, subscription });
      byPath.set(subscription.path, list);
    }
  }
  if (byPath.size === 0) return [h('p', { className: 'empty' }, 'No subscription routes.')];
  return [...byPath].map(([path, subscriptions]) => {
    const route = view.routes?.find((candidate) => candidate.path === path);
    return h('section', { 'className': 'route-group', 'data-testid': 'route', 'data-path': path },
      h('h3', {},
        h('button', { type: 'button', className: 'route', onClick: () => select(path) }, path),
        h('span', { className: 'count' }, String(subscriptions.length)),
        route?.history ? h('span', { className: 'tag' }, 'history') : null,
        ...(route?.filters ?? []).map((filter) => h('span', { className: 'tag', title: [...filter.ctx.map((f) => `ctx.${f}`), ...filter.input.map((f) => `input.${f}`)].join(', ') },
          filter.name))),
      subscriptions.length === 0 ? null : h('ul', {}, ...subscriptions.map(({ connection, subscription }) =>
        h('li', {},
          h('code', { title: connection.connectionId }, shortId(connection.connectionId)),
          h('span', { className: 'muted' }, ` #${subscription.id} `),
          ...filterChips(subscription, select)))));
  });
}

const OUTCOME_LABELS: Record<TargetView['outcome'], string> = {
  pending: 'pending', delivered: 'delivered', gone: 'gone', throttled: 'throttled', failed: 'failed',
};

function renderTarget(target: TargetView): Child {
  const status = target.status === undefined ? 'no answer' : `${target.status}${target.errorType ? ` ${target.errorType}` : ''}`;
  return h('li', { 'className': `target ${target.outcome}`, 'data-testid': 'target', 'data-outcome': target.outcome, 'data-connection-id': target.connectionId, 'title': status },
    h('code', { title: target.connectionId }, shortId(target.connectionId)),
    target.subscriptionId === undefined ? null : h('span', { className: 'muted' }, ` #${target.subscriptionId}`),
    ' ',
    h('span', { className: 'outcome' }, OUTCOME_LABELS[target.outcome]),
    target.attempts > 1 ? h('span', { className: 'muted' }, ` after ${target.attempts} attempts`) : null);
}

function renderResult(result: NonNullable<StreamEntryView['result']>): Child {
  return h('span', { 'className': 'result', 'data-testid': 'result' },
    `matched ${result.matched} · delivered ${result.delivered} · gone ${result.gone} · failed ${result.failed}`);
}

/** The live stream of publishes and control actions. */
export function renderStream(view: ConsoleView): Child[] {
  if (view.stream.length === 0) return [h('p', { className: 'empty' }, 'Nothing published yet. Publish below, or from your app.')];
  return view.stream.map((entry) => h('li', { 'className': `entry ${entry.kind}`, 'data-testid': 'stream-entry', 'data-kind': entry.kind, 'data-path': entry.path },
    h('div', { className: 'line' },
      h('time', {}, clock(entry.at)),
      h('span', { className: `kind ${entry.kind}` }, entry.kind),
      entry.path === undefined ? null : h('b', {}, entry.path),
      entry.eventId === undefined ? null : h('span', { className: 'muted' }, ` id ${entry.eventId}`),
      entry.fromConsole ? h('span', { className: 'tag' }, 'console') : null,
      entry.result ? renderResult(entry.result) : null),
    entry.detail === undefined ? null : h('code', { className: 'detail' }, compact(entry.detail, 240)),
    entry.targets.length === 0 ? null : h('ul', { className: 'targets' }, ...entry.targets.map(renderTarget)),
    entry.more === undefined ? null : h('p', { 'className': 'muted', 'data-testid': 'more-targets' },
      `… ${entry.more} more not listed; all targets: `,
      Object.entries(entry.tally).filter(([, count]) => count > 0).map(([outcome, count]) => `${count} ${outcome}`).join(' · '))));
}

/** The fan-out queue and its worker. */
export function renderQueue(queue: QueueView): Child[] {
  const stat = (label: string, value: number) => h('span', { className: 'stat' }, h('b', {}, String(value)), ` ${label}`);
  return [
    h('p', { 'className': 'stats', 'data-testid': 'queue-stats' },
      stat('sent', queue.sent), stat('waiting', queue.waiting), stat('in flight', queue.inFlight), stat('done', queue.deleted),
      stat('dead-lettered', queue.deadLettered), stat('worker invocations', queue.invocations)),
    queue.messages.length === 0 ? h('p', { className: 'empty' }, 'No message yet: `enqueue()` sends one.') : h('ul', { className: 'messages' },
      ...queue.messages.map((message) => h('li', { 'data-testid': 'queue-message', 'data-state': message.state },
        h('time', {}, clock(message.at)),
        h('span', { className: `kind ${message.kind}` }, message.kind),
        message.path === undefined ? null : h('b', {}, message.path),
        message.targets === undefined ? null : h('span', { className: 'muted' }, ` ${message.targets} targets`),
        h('span', { className: `state ${message.state}` }, message.state),
        message.receives > 1 ? h('span', { className: 'muted' }, ` received ${message.receives}×`) : null))),
  ];
}
