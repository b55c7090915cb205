/**
 * The console page: follows the server's view over Server-Sent Events (`/_console/events`; the
 * browser's EventSource reconnects by itself) and renders it.
 */
import { act } from './api';
import { age, describeResult, h, replaceChildren } from './dom';
import { renderConnections, renderQueue, renderRoutes, renderStream } from './panels';
import { createPublishForm, showIn } from './publish-form';
import type { ConsoleView } from '../view';

const byId = (id: string) => document.getElementById(id)!;

const form = createPublishForm();
byId('publish').append(form.element);
const connectionsResult = byId('connections-result');
const showConnectionsResult = showIn(connectionsResult);
byId('reconnect-all').addEventListener('click', async () => {
  const answer = await act('reconnect', { all: true });
  showConnectionsResult(answer.ok ? describeResult('Reconnect all', answer.result) : answer.error, answer.ok);
});

/** Server clock minus this page's, so ages tick between pushes. */
let clockOffset = 0;

function render(view: ConsoleView): void {
  clockOffset = view.now - Date.now();
  form.update(view);
  byId('connection-count').textContent = String(view.totals.connections);
  byId('subscription-count').textContent = String(view.totals.subscriptions);
  replaceChildren(byId('connections'), renderConnections(view, form.select, showConnectionsResult));
  replaceChildren(byId('routes'), renderRoutes(view, form.select));
  replaceChildren(byId('stream'), renderStream(view));
  const queue = byId('queue-panel');
  queue.hidden = view.queue === undefined;
  if (view.queue) replaceChildren(byId('queue'), renderQueue(view.queue));
  byId('no-app').hidden = view.routes !== undefined;
}

setInterval(() => {
  const now = Date.now() + clockOffset;
  document.querySelectorAll<HTMLElement>('[data-since]').forEach((element) => {
    element.textContent = age(now - Number(element.dataset.since));
  });
}, 1000);

const status = byId('status');
const events = new EventSource('/_console/events');
events.addEventListener('view', (event) => render(JSON.parse((event as MessageEvent<string>).data) as ConsoleView));
events.addEventListener('open', () => {
  status.className = 'status live';
  status.textContent = 'live';
});
events.addEventListener('error', () => {
  status.className = 'status down';
  status.textContent = 'reconnecting…';
});
replaceChildren(byId('stream'), [h('p', { className: 'empty' }, 'Connecting…')]);
